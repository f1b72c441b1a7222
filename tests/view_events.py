"""Builders of the events the current views show, and of retractions, for the sink tests.

Each builder makes a realistic event of its stage (ids from ``new_meta``, parents as the stage
names them) with fixed times, so tests can state exactly which version must be current.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from streams.consensus.models import ConsensusFailed, Decision, HandleAccepted, Vote
from streams.consumer import Batch, Consumed
from streams.enrichment.models import HandleRejected, ProfileEnriched
from streams.events.codec import Codec
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.lineage.models import EventRetracted, RedactionRequested
from streams.prediction.models import PageViewsPredicted
from streams.records.core import normalise_row
from streams.records.models import RecordReceived
from streams.workers.models import WorkerQualityEstimated
from tests.factories import PRODUCER, T0

ENTITY = "acme:42"


def _producer(stage: str) -> Producer:
    return Producer(stage, "1.0.0", "test")


def record_at(minutes: int, ref: str = "42", **fields: str) -> RecordReceived:
    """The provider's row ``ref`` as received ``minutes`` after T0 (a later delivery of it)."""
    row = {"id": ref, "name": "Anthony Davis", "sport": "basketball", "league": "NBA",
           "team": "Lakers", "country": "US", "instagram": "antdavis23", **fields}
    event = normalise_row(row, provider="acme", received_at=T0 + timedelta(minutes=minutes),
                          producer=PRODUCER)
    assert isinstance(event, RecordReceived), event
    return event


def decision(*, accepted: bool = True, handle: str | None = "antdavis", revision: int = 0,
             supersedes: str | None = None, hit_id: str = "H1", platform: str = "instagram",
             minutes: int = 10, entity_id: str = ENTITY) -> Decision:
    """A consensus decision on ``platform`` of ``hit_id`` (an acceptance unless told not)."""
    kind: type[Decision] = HandleAccepted if accepted else ConsensusFailed
    meta = new_meta(event_type=kind.schema_name, entity_id=entity_id,
                    occurred_at=T0 + timedelta(minutes=minutes), producer=_producer("consensus"),
                    provenance=Provenance("crowd", hit_id), parents=[f"assignment-{hit_id}"],
                    identity=[hit_id, platform, revision, handle, supersedes])
    votes = tuple(Vote(f"{hit_id}-A{i}", f"W{i}", handle or "-", handle, 1.0) for i in range(8))
    common: dict[str, Any] = {"meta": meta, "hit_id": hit_id, "platform": platform, "votes": votes,
              "agreement": 0.8, "confidence": 0.95, "posterior": {handle or "-": 0.95},
              "method": "quorum", "revision": revision, "supersedes": supersedes}
    if accepted:
        return HandleAccepted(**common, handle=handle)
    return ConsensusFailed(**common, leading=handle)


def profile(acceptance: Decision, *, fetch: int = 0, followers: int = 1000,
            supersedes: str | None = None) -> ProfileEnriched:
    """The ``fetch``-th fetch of an accepted handle's profile."""
    assert isinstance(acceptance, HandleAccepted) and acceptance.handle
    parents = (acceptance.event_id,) + ((supersedes,) if supersedes else ())
    meta = new_meta(event_type=ProfileEnriched.schema_name, entity_id=acceptance.entity_id,
                    occurred_at=acceptance.meta.occurred_at + timedelta(hours=1 + fetch),
                    producer=_producer("enrichment"),
                    provenance=Provenance(acceptance.platform, acceptance.handle),
                    parents=parents, identity=[acceptance.platform, acceptance.handle, fetch])
    return ProfileEnriched(meta=meta, platform=acceptance.platform, handle=acceptance.handle,
                           followers=followers, following=12, posts=345, avg_engagement=0.031,
                           verified=True, category="athlete", bio="Lakers", fetch=fetch,
                           attempts=1, supersedes=supersedes)


def rejection(acceptance: HandleAccepted, fetched: ProfileEnriched) -> HandleRejected:
    """Enrichment saying the accepted handle's profile contradicts the record."""
    meta = new_meta(event_type=HandleRejected.schema_name, entity_id=acceptance.entity_id,
                    occurred_at=fetched.meta.occurred_at, producer=_producer("enrichment"),
                    provenance=fetched.meta.provenance,
                    parents=(acceptance.event_id, fetched.event_id),
                    identity=[acceptance.hit_id, acceptance.platform, fetched.handle])
    return HandleRejected(meta=meta, hit_id=acceptance.hit_id, platform=acceptance.platform,
                          handle=fetched.handle, score=0.9, evidence=["sport"],
                          context={"not_instagram": fetched.handle})


def prediction(cause: Event, *, page_views: float = 1234.5,
               outcomes: int = 3) -> PageViewsPredicted:
    meta = new_meta(event_type=PageViewsPredicted.schema_name, entity_id=cause.entity_id,
                    occurred_at=cause.meta.occurred_at, producer=_producer("prediction"),
                    provenance=Provenance("model", f"linear@{outcomes}"),
                    parents=(cause.event_id,), identity=["linear", outcomes])
    return PageViewsPredicted(meta=meta, page_views=page_views, low=page_views / 2,
                              high=page_views * 2, model="linear", model_outcomes=outcomes,
                              features={"followers": 1000.0, "verified": 1.0})


def worker_quality(worker: str = "W1", *, accuracy: float = 0.9, answers: float = 10.0,
                   minutes: int = 5) -> WorkerQualityEstimated:
    meta = new_meta(event_type=WorkerQualityEstimated.schema_name, entity_id=f"worker:{worker}",
                    occurred_at=T0 + timedelta(minutes=minutes), producer=_producer("workers"),
                    provenance=Provenance("crowd", worker), parents=[f"grade-{minutes}-{accuracy}"],
                    identity=[worker])
    return WorkerQualityEstimated(meta=meta, worker_id=worker, accuracy=accuracy,
                                  uncertainty=0.05, answers=answers, gold_answers=1,
                                  model='{"kind": "test"}')


def redaction(reason: str = "the provider withdrew the row") -> RedactionRequested:
    meta = new_meta(event_type=RedactionRequested.schema_name, entity_id="redaction",
                    occurred_at=T0 + timedelta(days=1), producer=_producer("lineage"),
                    provenance=Provenance("operator", "ticket-1"), identity=[reason])
    return RedactionRequested(meta=meta, event_ids=[], stage=None, stage_version_min=None,
                              stage_version_max=None, worker_id=None, source="provider:acme",
                              occurred_from=None, occurred_to=None, reason=reason,
                              requested_by="test")


def retraction(redacted: RedactionRequested, retracted: Event,
               via: str | None = None) -> EventRetracted:
    """The lineage stage withdrawing ``retracted`` on behalf of ``redacted``."""
    meta = new_meta(event_type=EventRetracted.schema_name, entity_id=retracted.entity_id,
                    occurred_at=redacted.meta.occurred_at, producer=_producer("lineage"),
                    provenance=redacted.meta.provenance,
                    parents=(redacted.event_id, retracted.event_id),
                    identity=[redacted.event_id, retracted.event_id])
    return EventRetracted(meta=meta, redaction_id=redacted.event_id,
                          retracted_id=retracted.event_id,
                          retracted_type=retracted.meta.event_type,
                          retracted_stage=retracted.meta.producer.stage, via=via,
                          reason=redacted.reason)


def batch(codec: Codec, events: list[Event], *, topic: str = "mixed", partition: int = 0,
          first_offset: int = 0) -> Batch:
    """``events`` as one consumed batch at consecutive offsets of one partition."""
    consumed = [Consumed(e, codec.store.current(e.schema_name), topic, partition,
                         first_offset + i, e.entity_id.encode(), T0, codec.encode(e))
                for i, e in enumerate(events)]
    return Batch(consumed, {(topic, partition): first_offset + len(events)})
