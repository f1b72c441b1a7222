"""An event index filled by a small in-process run, for the console's tests and demo pictures.

A 30-athlete world goes through the whole pipeline in process (crowd, enrichment, prediction,
lineage); a worker the quality stage blocked is then redacted, so the index holds retractions
and re-derived decisions; two dead letters (a message that was no event, a provider row that
failed validation) join it. Every event is written by the sink's own ``EventIndex``, on the
catalogue topic it would be published to.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine

from sinks.event_index import EventIndex, create_schema
from streams.codecs import default_codec
from streams.consumer import Batch, Consumed
from streams.events.codec import Codec
from streams.events.deadletter import dead_letter_message, dead_letter_row
from streams.events.model import Event, Producer
from streams.lineage.core import LineageConfig
from streams.records.models import RecordReceived
from streams.simulation.local import LocalPipeline
from streams.tasks.core import TaskConfig
from streams.topics import full_name, spec_for
from streams.workers.models import WorkerBlocked
from streams.world import WorldConfig
from streams.world.generate import generate_world
from tests.factories import T0
from tests.lineage_factories import redaction

UNDECODABLE = b"\x00\x00\x00\x07<script>not an event</script>\xff"
BAD_ROW = b"id,name\n,  \n"


@dataclass(frozen=True)
class IndexFacts:
    """What the tests look for in the index they were given."""

    url: str
    events: int
    athlete: str  # an entity id
    athlete_name: str
    provider_ref: str
    worker: str  # the redacted, blocked worker
    redaction_id: str
    dead_letter: str  # the undecodable message's dead letter


def _events() -> tuple[list[Event], str, str]:
    world = generate_world(WorldConfig(athletes=30, seed=5, workers=30))
    # Paid HITs open to every worker (no qualification step): the pages need a crowd that
    # answers and a worker blocked, not the qualification policy, which has its own tests.
    pipeline = LocalPipeline(world, task_config=TaskConfig(qualification=None), downstream=True,
                             lineage=LineageConfig())
    try:
        pipeline.ingest()
        pipeline.answer()
        blocked = next(e for e in pipeline.events if isinstance(e, WorkerBlocked))
        request = redaction(worker_id=blocked.worker_id, reason="spammer's answers")
        at = pipeline.crowd.clock or T0
        request = replace(request, meta=replace(request.meta, occurred_at=at))
        pipeline.feed(request)
        pipeline.answer()
        pipeline.observe_outcomes(3)
    finally:
        pipeline.close()
    return list(pipeline.events), blocked.worker_id, request.event_id


def _dead_letters() -> list[Event]:
    producer = Producer("records", "1.0.0", "test")
    return [
        dead_letter_message(topic="records.received", partition=2, offset=41, key=b"acme:x",
                            value=UNDECODABLE, timestamp=T0 + timedelta(days=3),
                            error="undecodable", reason="unknown schema fingerprint",
                            producer=producer),
        dead_letter_row(source="provider:acme", path="feed.csv", line=2, raw=BAD_ROW,
                        entity_id=None, occurred_at=T0, error="invalid_row",
                        reason="name: required", producer=producer),
    ]


def build_index(url: str, codec: Codec) -> IndexFacts:
    """Run the world and write every event it logged to the index at ``url``."""
    logged, worker, redaction_id = _events()
    letters = _dead_letters()
    logged += letters
    offsets: dict[str, int] = {}
    consumed = []
    for event in logged:
        topic = full_name(spec_for(type(event)), "")
        offset = offsets.get(topic, 0)
        offsets[topic] = offset + 1
        consumed.append(Consumed(event, codec.store.current(event.schema_name), topic, 0,
                                 offset, event.entity_id.encode(), event.meta.occurred_at,
                                 codec.encode(event)))
    engine = create_engine(url)
    try:
        create_schema(engine)
        EventIndex(engine).apply(Batch(consumed, {(t, 0): n for t, n in offsets.items()}))
    finally:
        engine.dispose()
    record = next(e for e in logged if isinstance(e, RecordReceived))
    return IndexFacts(url, len(logged), record.entity_id, record.name, record.provider_ref,
                      worker, redaction_id, letters[0].event_id)


def sqlite_index(directory: Path) -> IndexFacts:
    """``build_index`` into a new SQLite file in ``directory``."""
    return build_index(f"sqlite:///{directory / 'index.db'}", default_codec())
