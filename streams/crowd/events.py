"""Between the pipeline's events and a crowd platform's Mechanical Turk calls.

Pure translations, shared by every way the crowd is driven (the in-process run, the simulated
crowd service, the bridge to a real platform), so each platform gets identical requests and
the pipeline identical events. ``platform_calls`` decides which call an event stands for;
``apply_call`` makes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from streams.crowd.platform import CrowdPlatform, HitRequest, Submission
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.tasks.models import (
    AssignmentSubmitted,
    HitExpired,
    HitExtended,
    HitPosted,
    HitPublished,
)
from streams.workers.models import (
    AssignmentReviewed,
    QualificationRevoked,
    WorkerBlocked,
    WorkerQualified,
)

CROWD_STAGE = "crowd"
CROWD_VERSION = "1.0.0"
# How long a HIT re-opened after a redaction takes answers again (as TaskConfig's lifetime).
REOPENED_LIFETIME = timedelta(days=3)
BLOCK_REASON = "quality below the bar"


def hit_request(hit: HitPublished, created_at: datetime | None = None) -> HitRequest:
    """The MTurk CreateHIT call a ``HitPublished`` stands for, made at ``created_at``."""
    return HitRequest(
        hit_id=hit.hit_id, provider_ref=hit.provider_ref, title=hit.title,
        question=hit.question, context=dict(hit.context), platforms=tuple(hit.platforms),
        max_assignments=hit.max_assignments, reward_cents=hit.reward_cents,
        created_at=created_at or hit.meta.occurred_at, lifetime_seconds=hit.lifetime_seconds,
        gold=hit.gold, qualification=hit.qualification)


def _millis(at: datetime) -> datetime:
    return at - timedelta(microseconds=at.microsecond % 1000)


def submission_event(submission: Submission, hit: HitPublished, instance: str, *,
                     source: str) -> AssignmentSubmitted:
    """A platform's submitted assignment as the pipeline's ``AssignmentSubmitted``.

    Its id follows from the HIT and the assignment id alone, so a submission published again
    (a restarted bridge, a repeated poll) is the same event. Its parent is the HIT it answers,
    so redacting a record (or a whole feed) reaches the answers bought for it.
    """
    submitted_at = _millis(submission.submitted_at)
    meta = new_meta(
        event_type=AssignmentSubmitted.schema_name, entity_id=hit.entity_id,
        occurred_at=submitted_at, producer=Producer(CROWD_STAGE, CROWD_VERSION, instance),
        provenance=Provenance(source, submission.assignment_id), parents=(hit.event_id,),
        identity=[submission.hit_id, submission.assignment_id],
    )
    return AssignmentSubmitted(
        meta=meta, hit_id=submission.hit_id, assignment_id=submission.assignment_id,
        worker_id=submission.worker_id, answers=dict(submission.answers),
        accepted_at=_millis(submission.accepted_at), submitted_at=submitted_at, gold=hit.gold)


def submissions_from(events: Iterable[Event], source: str) -> Iterator[Submission]:
    """The submissions among ``events`` that came from ``source``, as the platform made them.

    What a restarted crowd takes back from the log; the times are the event's, to the
    millisecond.
    """
    for event in events:
        if isinstance(event, AssignmentSubmitted) and event.meta.provenance.source == source:
            yield Submission(
                assignment_id=event.assignment_id, hit_id=event.hit_id,
                worker_id=event.worker_id, answers=dict(event.answers),
                accepted_at=event.accepted_at, submitted_at=event.submitted_at)


def hit_posted(hit: HitPublished, platform: str, platform_hit_id: str, instance: str,
               at: datetime) -> HitPosted:
    """The record that ``hit`` exists on ``platform`` as ``platform_hit_id`` since ``at``.

    Its id does not depend on ``at`` (only on the HIT, the platform and its id), so a bridge
    that posts again after a crash writes the same event; ``at`` tells a restarted bridge how
    long the HIT may still take work.
    """
    meta = new_meta(
        event_type=HitPosted.schema_name, entity_id=hit.entity_id, occurred_at=at,
        producer=Producer(CROWD_STAGE, CROWD_VERSION, instance),
        provenance=Provenance(f"crowd:{platform}", platform_hit_id), parents=(hit.event_id,),
        identity=[hit.hit_id, platform, platform_hit_id],
    )
    return HitPosted(meta=meta, hit_id=hit.hit_id, platform=platform,
                     platform_hit_id=platform_hit_id)


# --- which call an event stands for ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CreateHit:
    request: HitRequest


@dataclass(frozen=True, slots=True)
class AddAssignments:
    hit_id: str
    number: int
    token: str  # UniqueRequestToken: the HitExtended event's id, so a retry extends once


@dataclass(frozen=True, slots=True)
class ExpireHit:
    hit_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Approve:
    assignment_id: str


@dataclass(frozen=True, slots=True)
class Reject:
    assignment_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class BlockWorker:
    worker_id: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class GrantQualification:
    worker_id: str
    qualification: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RevokeQualification:
    worker_id: str
    qualification: str
    reason: str
    at: datetime


PlatformCall = (CreateHit | AddAssignments | ExpireHit | Approve | Reject | BlockWorker
                | GrantQualification | RevokeQualification)


def platform_calls(event: Event, now: datetime | None = None) -> list[PlatformCall]:
    """The platform calls ``event`` asks for; none for events the platform need not hear.

    ``now`` is the platform's clock when it hears the event: a HIT is created then (by default
    at its event time, which replays the feed's own timeline), a HIT re-opened after a
    redaction gets a fresh lifetime from then, and an expiry or a block takes effect then, as
    UpdateExpirationForHIT and CreateWorkerBlock do. Not at the event's own time: a decision
    carries the time of its latest input, the record's feed time included, which is weeks
    ahead of a crowd that heard the whole feed at once; a block dated there let a spammer
    work on for weeks of the crowd's time (89 paid answers in a broker run).

    >>> platform_calls(object())  # type: ignore[arg-type]
    []
    """
    if isinstance(event, HitPublished):
        return [CreateHit(hit_request(event, now))]
    if isinstance(event, HitExtended):
        if event.additional_assignments > 0:
            return [AddAssignments(event.hit_id, event.additional_assignments, event.event_id)]
        # re-opened after a redaction: a fresh lifetime (UpdateExpirationForHIT)
        return [ExpireHit(event.hit_id, (now or event.meta.occurred_at) + REOPENED_LIFETIME)]
    if isinstance(event, HitExpired):
        return [ExpireHit(event.hit_id, now or event.meta.occurred_at)]
    if isinstance(event, WorkerBlocked):
        return [BlockWorker(event.worker_id, BLOCK_REASON, now or event.meta.occurred_at)]
    if isinstance(event, WorkerQualified):
        return [GrantQualification(event.worker_id, event.qualification,
                                   now or event.meta.occurred_at)]
    if isinstance(event, QualificationRevoked):
        return [RevokeQualification(event.worker_id, event.qualification, event.reason,
                                    now or event.meta.occurred_at)]
    if isinstance(event, AssignmentReviewed):
        if event.status == "Approved":
            return [Approve(event.assignment_id)]
        return [Reject(event.assignment_id, event.reason)]
    return []


def apply_call(platform: CrowdPlatform, call: PlatformCall) -> str | None:
    """Make ``call`` on ``platform``; the platform's HIT id for a created HIT, else None.

    A rejection of an assignment already approved is skipped: a review revised after a
    redaction cannot take back a payment already made.
    """
    match call:
        case CreateHit(request):
            return platform.create_hit(request)
        case AddAssignments(hit_id, number, token):
            platform.create_additional_assignments(hit_id, number, unique_request_token=token)
        case ExpireHit(hit_id, at):
            platform.expire_hit(hit_id, at)
        case Approve(assignment_id):
            platform.approve_assignment(assignment_id)
        case Reject(assignment_id, reason):
            if platform.assignment_status(assignment_id) != "Approved":
                platform.reject_assignment(assignment_id, reason)
        case BlockWorker(worker_id, reason, at):
            platform.block_worker(worker_id, reason, at)
        case GrantQualification(worker_id, qualification, at):
            platform.grant_qualification(worker_id, qualification, at)
        case RevokeQualification(worker_id, qualification, reason, at):
            platform.revoke_qualification(worker_id, qualification, reason, at)
    return None
