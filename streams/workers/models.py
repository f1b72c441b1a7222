"""Events of the workers domain: grades, quality estimates, qualifications, blocks and payment
decisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from streams.events.model import Event

QUALIFICATION = "crowdlog-qualified"
"""The qualification a worker earns on gold HITs before any paid HIT (MTurk: a qualification
type of this name; the simulated crowd: the same rule)."""


@dataclass(frozen=True, slots=True)
class AnswerGraded(Event):
    """One answer against the current belief about the truth (keyed by ``worker:<id>``)."""

    schema_name: ClassVar[str] = "crowdlog.workers.AnswerGraded"

    worker_id: str
    assignment_id: str
    platform: str
    answer: str
    truth: dict[str, float]
    gold: bool
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class WorkerQualityEstimated(Event):
    """A worker's running quality estimate and the statistics it comes from."""

    schema_name: ClassVar[str] = "crowdlog.workers.WorkerQualityEstimated"

    worker_id: str
    accuracy: float
    uncertainty: float
    answers: float
    gold_answers: int
    model: str


@dataclass(frozen=True, slots=True)
class WorkerBlocked(Event):
    """A worker confidently below the bar; later answers from them are not counted."""

    schema_name: ClassVar[str] = "crowdlog.workers.WorkerBlocked"

    worker_id: str
    accuracy: float
    uncertainty: float
    answers: float
    threshold: float
    reason: str


@dataclass(frozen=True, slots=True)
class WorkerQualified(Event):
    """A worker confidently above the bar on gold answers: granted ``qualification``, so paid
    HITs are offered to them (MTurk AssociateQualificationWithWorker). Keyed by worker."""

    schema_name: ClassVar[str] = "crowdlog.workers.WorkerQualified"

    worker_id: str
    qualification: str
    accuracy: float
    uncertainty: float
    gold_answers: int
    threshold: float
    reason: str


@dataclass(frozen=True, slots=True)
class QualificationRevoked(Event):
    """A worker's qualification withdrawn: the ``WorkerQualified`` that granted it was retracted
    by a redaction, and the grades left no longer earn it (MTurk
    DisassociateQualificationFromWorker), so paid HITs are no longer offered to them. Parents:
    the retraction. Keyed by worker."""

    schema_name: ClassVar[str] = "crowdlog.workers.QualificationRevoked"

    worker_id: str
    qualification: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReviewHeld(Event):
    """Grading's review of a gold (qualification) assignment, held with the worker's quality
    state (keyed by worker, after the assignment's grades): paid as reviewed once the worker
    qualifies, rejected if they are blocked first. ``record`` is the reviewed HIT's entity."""

    schema_name: ClassVar[str] = "crowdlog.workers.ReviewHeld"

    record: str
    hit_id: str
    assignment_id: str
    worker_id: str
    status: str
    reward_cents: int
    agreed: int
    judged: int
    reason: str


@dataclass(frozen=True, slots=True)
class AssignmentReviewed(Event):
    """An assignment approved (paid) or rejected, judged against the decisions of its HIT."""

    schema_name: ClassVar[str] = "crowdlog.workers.AssignmentReviewed"

    hit_id: str
    assignment_id: str
    worker_id: str
    status: str
    reward_cents: int
    agreed: int
    judged: int
    reason: str
