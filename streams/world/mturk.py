"""The Mechanical Turk shaped values the pipeline and the simulated crowd exchange.

Plain frozen dataclasses with MTurk's names, so a client for the real platform can produce and
accept the same values; the pipeline turns them into its ``HitPublished`` and
``AssignmentSubmitted`` events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class HitRequest:
    """A HIT as the pipeline publishes it (``HitPublished``).

    ``context`` is what the worker reads (name, sport, league, team, position, years...);
    the crowd itself finds the athlete by ``provider_ref``. Gold HITs look the same to workers.
    """

    hit_id: str
    provider_ref: str
    title: str
    question: str
    context: Mapping[str, str]
    platforms: tuple[str, ...]
    max_assignments: int
    reward_cents: int
    created_at: datetime
    lifetime_seconds: int
    gold: bool = False


@dataclass(frozen=True, slots=True)
class Submission:
    """One submitted assignment (``AssignmentSubmitted``): raw answers, None for "not found"."""

    assignment_id: str
    hit_id: str
    worker_id: str
    answers: Mapping[str, str | None]
    accepted_at: datetime
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class CrowdStats:
    """Totals so far; ``pending`` counts accepted assignments not yet submitted."""

    hits: int
    pending: int
    submitted: int
    approved: int
    rejected: int
    blocked_workers: int
    paid_cents: int
    submitted_by_kind: Mapping[str, int]


class CrowdPlatform(Protocol):
    """A crowd platform as the pipeline drives it: Mechanical Turk's operations and names.

    ``streams.world.crowd.SimulatedCrowd`` is the first implementation; a client for the real
    Mechanical Turk API (CreateHIT, CreateAdditionalAssignmentsForHIT, UpdateExpirationForHIT,
    ApproveAssignment, RejectAssignment, GetAssignment, CreateWorkerBlock,
ListAssignmentsForHIT) fits behind the
    same methods, with ``advance`` polling for submissions up to a time.
    """

    def create_hit(self, hit: HitRequest) -> None: ...

    def create_additional_assignments(self, hit_id: str, number: int) -> None: ...

    def expire_hit(self, hit_id: str, at: datetime) -> None: ...

    def approve_assignment(self, assignment_id: str) -> None: ...

    def reject_assignment(self, assignment_id: str, reason: str) -> None: ...

    def assignment_status(self, assignment_id: str) -> str: ...

    def block_worker(self, worker_id: str, reason: str, at: datetime) -> None: ...

    def advance(self, until: datetime) -> list[Submission]: ...

    def next_submission_at(self) -> datetime | None: ...
