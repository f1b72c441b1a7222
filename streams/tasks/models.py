"""Events of the tasks domain: HITs and the assignments workers submit for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from streams.events.model import Event


@dataclass(frozen=True, slots=True)
class HitPublished(Event):
    """A HIT asking for an athlete's handles on ``platforms`` (``tasks.hits``)."""

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
