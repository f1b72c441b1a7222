"""Small builders shared by the tests: events with realistic content and fixed times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams.events.ids import new_meta
from streams.events.model import Producer, Provenance
from streams.records.core import normalise_row
from streams.records.models import RecordReceived
from streams.tasks.models import AssignmentSubmitted, HitPublished

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
PRODUCER = Producer(stage="records", version="1.0.0", instance="test")


def record(ref: str = "42", name: str = "Anthony Davis", **fields: str) -> RecordReceived:
    row = {"id": ref, "name": name, "sport": "basketball", "league": "NBA", "team": "Lakers",
           "country": "US", "instagram": "antdavis23", **fields}
    event = normalise_row(row, provider="acme", received_at=T0, producer=PRODUCER)
    assert isinstance(event, RecordReceived), event
    return event


def hit(entity_id: str = "acme:42", hit_id: str = "H1", platforms: tuple[str, ...] = ("twitter",),
        max_assignments: int = 10, gold: bool = False) -> HitPublished:
    meta = new_meta(event_type=HitPublished.schema_name, entity_id=entity_id, occurred_at=T0,
                    producer=Producer("tasks", "1.0.0", "test"),
                    provenance=Provenance("provider:acme", "42"), identity=[hit_id])
    return HitPublished(meta=meta, hit_id=hit_id, title="t", question="q",
                        platforms=list(platforms), max_assignments=max_assignments,
                        reward_cents=10, lifetime_seconds=3600, provider_ref="42",
                        context={"name": "Anthony Davis"}, gold=gold)


def assignment(n: int, answers: dict[str, str | None], *, worker: str | None = None,
               entity_id: str = "acme:42", hit_id: str = "H1",
               gold: bool = False) -> AssignmentSubmitted:
    """The ``n``-th assignment of a HIT, by worker ``W<n>`` unless told otherwise."""
    at = T0 + timedelta(minutes=n)
    meta = new_meta(event_type=AssignmentSubmitted.schema_name, entity_id=entity_id,
                    occurred_at=at, producer=Producer("crowd", "1.0.0", "test"),
                    provenance=Provenance("crowd:test", f"A{n}"), identity=[hit_id, n])
    return AssignmentSubmitted(meta=meta, hit_id=hit_id, assignment_id=f"{hit_id}-A{n}",
                               worker_id=worker or f"W{n}", answers=answers, accepted_at=at,
                               submitted_at=at, gold=gold)
