"""The crowd platform seam: Mechanical Turk's operations and the values they exchange.

Plain frozen dataclasses with MTurk's names, so the real platform (``streams.crowd.mturk``) and
the simulated crowd (``streams.world.crowd``) produce and accept the same values; the pipeline
turns them into its ``HitPublished`` and ``AssignmentSubmitted`` events. Production code
depends on this module, never on the simulator.
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
    ``qualification``: a paid HIT is offered only to workers granted it, a gold HIT (a
    qualification HIT) only to workers not granted it yet; None: to every worker.
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
    qualification: str | None = None


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


class PlatformRefused(Exception):
    """The platform refused a call and repeating it would not help (MTurk's RequestError: a
    HIT it will not create, an unknown worker, an expired HIT, a malformed request)."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation} refused ({code}): {message}")
        self.operation, self.code, self.message = operation, code, message


class PlatformUnavailable(Exception):
    """The platform did not answer a call after every retry (throttled, faulting, away).

    The call may be made again later: every call the bridge makes is idempotent."""


class CrowdPlatform(Protocol):
    """A crowd platform as the pipeline drives it: Mechanical Turk's operations and names.

    Implementations: ``streams.world.crowd.SimulatedCrowd`` (simulated time) and
    ``streams.crowd.mturk.MTurkPlatform`` (CreateHIT, CreateAdditionalAssignmentsForHIT,
    UpdateExpirationForHIT, ApproveAssignment, RejectAssignment, GetAssignment,
    CreateWorkerBlock, AssociateQualificationWithWorker, ListAssignmentsForHIT), where
    ``advance`` polls for submissions.
    ``create_hit`` returns the platform's own id for the HIT when it has one.
    """

    def create_hit(self, hit: HitRequest) -> str | None: ...

    def create_additional_assignments(self, hit_id: str, number: int, *,
                                      unique_request_token: str | None = None) -> None: ...

    def expire_hit(self, hit_id: str, at: datetime) -> None: ...

    def approve_assignment(self, assignment_id: str) -> None: ...

    def reject_assignment(self, assignment_id: str, reason: str) -> None: ...

    def assignment_status(self, assignment_id: str) -> str: ...

    def block_worker(self, worker_id: str, reason: str, at: datetime) -> None: ...

    def grant_qualification(self, worker_id: str, qualification: str, at: datetime) -> None: ...

    def revoke_qualification(self, worker_id: str, qualification: str, reason: str,
                             at: datetime) -> None: ...

    def advance(self, until: datetime) -> list[Submission]: ...

    def next_submission_at(self) -> datetime | None: ...
