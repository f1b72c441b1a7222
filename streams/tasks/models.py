"""Events of the tasks domain: HITs and the assignments workers submit for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from streams.events.model import Event


@dataclass(frozen=True, slots=True)
class HitPublished(Event):
    """A HIT asking for an athlete's handles on ``platforms`` (``tasks.hits``).

    ``qualification`` names the qualification the HIT is about: a paid HIT is offered only to
    workers who hold it, a gold HIT (a qualification HIT) only to workers who do not hold it
    yet; None: offered to every worker not blocked.
    """

    schema_name: ClassVar[str] = "crowdlog.tasks.HitPublished"

    hit_id: str
    title: str
    question: str
    platforms: list[str]
    max_assignments: int
    reward_cents: int
    lifetime_seconds: int
    provider_ref: str
    context: dict[str, str] = field(default_factory=dict)
    gold: bool = False
    qualification: str | None = None


@dataclass(frozen=True, slots=True)
class HitExtended(Event):
    """More assignments for a HIT whose consensus failed on ``platforms`` (``tasks.hits``)."""

    schema_name: ClassVar[str] = "crowdlog.tasks.HitExtended"

    hit_id: str
    additional_assignments: int
    max_assignments: int
    platforms: list[str]
    round: int


@dataclass(frozen=True, slots=True)
class HitExpired(Event):
    """A HIT takes no more assignments: decided, or out of extensions (``tasks.hits``)."""

    schema_name: ClassVar[str] = "crowdlog.tasks.HitExpired"

    hit_id: str
    reason: str
    max_assignments: int


@dataclass(frozen=True, slots=True)
class HitPosted(Event):
    """A HIT exists on a crowd platform under ``platform_hit_id`` (``tasks.hits``).

    A fact learned after ``HitPublished``, by another producer (the crowd bridge) from another
    source (the platform's answer), so it is an event of its own rather than a field of the
    HIT: the tasks stage publishes before any platform is involved.
    """

    schema_name: ClassVar[str] = "crowdlog.tasks.HitPosted"

    hit_id: str
    platform: str
    platform_hit_id: str


@dataclass(frozen=True, slots=True)
class AssignmentSubmitted(Event):
    """A worker's answers to a HIT, as typed; ``None`` is an explicit "not found"."""

    schema_name: ClassVar[str] = "crowdlog.tasks.AssignmentSubmitted"

    hit_id: str
    assignment_id: str
    worker_id: str
    answers: dict[str, str | None]
    accepted_at: datetime
    submitted_at: datetime
    gold: bool = False
