"""Between the pipeline's events and the simulated crowd's MTurk-shaped calls.

The crowd platform speaks Mechanical Turk (``HitRequest`` in, ``Submission`` out); the pipeline
speaks events. These functions translate, the same way for the in-process run and the Kafka
crowd service, so both give the crowd identical requests and the pipeline identical events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.records.core import normalise_row
from streams.records.models import RecordReceived
from streams.tasks.core import GoldItem
from streams.tasks.models import AssignmentSubmitted, HitExpired, HitExtended, HitPublished
from streams.workers.models import AssignmentReviewed, WorkerBlocked
from streams.world.model import World
from streams.world.mturk import CrowdPlatform, HitRequest, Submission

CROWD_STAGE = "crowd"
CROWD_VERSION = "1.0.0"
CROWD_SOURCE = "crowd:simulated"
_INGEST = Producer("records", "1.0.0", "simulation")


def provider_records(world: World) -> Iterator[RecordReceived]:
    """The world's feed as ingest would publish it: valid rows only, duplicates once."""
    seen: set[str] = set()
    for row in world.provider_rows:
        outcome = normalise_row(row.fields, provider=world.config.provider,
                                received_at=world.config.as_of, producer=_INGEST)
        if isinstance(outcome, RecordReceived) and outcome.event_id not in seen:
            seen.add(outcome.event_id)
            yield outcome


def gold_items(world: World) -> tuple[GoldItem, ...]:
    """The world's gold set with the context a gold HIT shows (name, sport, league, team)."""
    answers: dict[str, dict[str, str | None]] = {}
    for gold in world.gold:
        answers.setdefault(gold.provider_ref, {})[gold.platform] = gold.handle
    items = []
    for ref, platforms in answers.items():
        athlete = world.athlete(ref)
        values = {"name": athlete.name, "sport": athlete.sport, "league": athlete.league,
                  "team": athlete.team, "country": athlete.country}
        context = {key: value for key, value in values.items() if value}
        items.append(GoldItem(ref, context, platforms))
    return tuple(items)


def hit_request(hit: HitPublished, created_at: datetime | None = None) -> HitRequest:
    """The MTurk CreateHIT call a ``HitPublished`` stands for, made at ``created_at``."""
    return HitRequest(
        hit_id=hit.hit_id, provider_ref=hit.provider_ref, title=hit.title,
        question=hit.question, context=dict(hit.context), platforms=tuple(hit.platforms),
        max_assignments=hit.max_assignments, reward_cents=hit.reward_cents,
        created_at=created_at or hit.meta.occurred_at, lifetime_seconds=hit.lifetime_seconds,
        gold=hit.gold)


def submission_event(submission: Submission, hit: HitPublished,
                     instance: str = "simulation") -> AssignmentSubmitted:
    """An MTurk submitted assignment as the pipeline's ``AssignmentSubmitted``.

    Its parent is the HIT it answers, so redacting a record (or a whole feed) reaches the
    answers bought for it and everything decided from them.
    """
    submitted_at = submission.submitted_at - timedelta(
        microseconds=submission.submitted_at.microsecond % 1000)
    meta = new_meta(
        event_type=AssignmentSubmitted.schema_name, entity_id=hit.entity_id,
        occurred_at=submitted_at, producer=Producer(CROWD_STAGE, CROWD_VERSION, instance),
        provenance=Provenance(CROWD_SOURCE, submission.assignment_id), parents=(hit.event_id,),
        identity=[submission.hit_id, submission.assignment_id],
    )
    return AssignmentSubmitted(
        meta=meta, hit_id=submission.hit_id, assignment_id=submission.assignment_id,
        worker_id=submission.worker_id, answers=dict(submission.answers),
        accepted_at=submission.accepted_at - timedelta(
            microseconds=submission.accepted_at.microsecond % 1000),
        submitted_at=submitted_at, gold=hit.gold)


def own_submissions(events: Iterable[Event]) -> Iterator[Submission]:
    """The simulated crowd's submissions among ``events``, as the crowd made them.

    What a restarted crowd takes back from the log (``SimulatedCrowd.restore``); assignments
    from any other source are not its own. The times are the event's, to the millisecond.
    """
    for event in events:
        if (isinstance(event, AssignmentSubmitted)
                and event.meta.provenance.source == CROWD_SOURCE):
            yield Submission(
                assignment_id=event.assignment_id, hit_id=event.hit_id,
                worker_id=event.worker_id, answers=dict(event.answers),
                accepted_at=event.accepted_at, submitted_at=event.submitted_at)


# How long a HIT re-opened after a redaction takes answers again (as TaskConfig's lifetime).
REOPENED_LIFETIME = timedelta(days=3)


def tell_crowd(crowd: CrowdPlatform, event: Event, now: datetime | None = None) -> None:
    """What the crowd platform hears from the pipeline (the MTurk API calls).

    ``now`` is the platform's clock when it hears it; a HIT is created then (by default at its
    event time, which replays the feed's own timeline), and an expiry or a block takes effect
    then, as UpdateExpirationForHIT and CreateWorkerBlock do. Not at the event's own time: a
    decision carries the time of its latest input, the record's feed time included, weeks ahead
    of a crowd that heard the whole feed at once; a block dated there let a spammer work on.
    """
    if isinstance(event, HitPublished):
        crowd.create_hit(hit_request(event, now))
    elif isinstance(event, HitExtended):
        if event.additional_assignments > 0:
            crowd.create_additional_assignments(event.hit_id, event.additional_assignments)
        else:  # re-opened after a redaction: a fresh lifetime (UpdateExpirationForHIT)
            crowd.expire_hit(event.hit_id, (now or event.meta.occurred_at) + REOPENED_LIFETIME)
    elif isinstance(event, HitExpired):
        crowd.expire_hit(event.hit_id, now or event.meta.occurred_at)
    elif isinstance(event, WorkerBlocked):
        crowd.block_worker(event.worker_id, "quality below the bar", now or event.meta.occurred_at)
    elif isinstance(event, AssignmentReviewed):
        if event.status == "Approved":
            crowd.approve_assignment(event.assignment_id)
        elif crowd.assignment_status(event.assignment_id) != "Approved":
            # A review revised after a redaction cannot take back a payment already made.
            crowd.reject_assignment(event.assignment_id, event.reason)
