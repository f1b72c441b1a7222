"""Events of the enrichment domain: fetched profiles, unavailable ones, and rejected handles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from streams.events.model import Event


@dataclass(frozen=True, slots=True)
class ProfileEnriched(Event):
    """An accepted handle's profile as fetched (``enrichment.profiles``).

    ``fetch`` counts refreshes of the same acceptance; a refresh names the profile it replaces
    in ``supersedes`` so the latest one is always known without comparing clocks.
    """

    schema_name: ClassVar[str] = "crowdlog.enrichment.ProfileEnriched"

    platform: str
    handle: str
    followers: int
    following: int
    posts: int
    avg_engagement: float
    verified: bool
    category: str
    bio: str
    fetch: int
    attempts: int
    supersedes: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileUnavailable(Event):
    """An accepted handle without a profile: ``missing``, ``suspended`` or ``unreachable``."""

    schema_name: ClassVar[str] = "crowdlog.enrichment.ProfileUnavailable"

    platform: str
    handle: str
    reason: str
    detail: str
    fetch: int
    attempts: int
    supersedes: str | None = None


@dataclass(frozen=True, slots=True)
class HandleRejected(Event):
    """An accepted handle whose profile contradicts the record; the crowd is asked again."""

    schema_name: ClassVar[str] = "crowdlog.enrichment.HandleRejected"

    hit_id: str
    platform: str
    handle: str
    score: float
    evidence: list[str]
    context: dict[str, str]
