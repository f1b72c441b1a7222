"""The event index sink on SQLite and a real PostgreSQL: idempotent, resumable, lineage kept."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from sqlalchemy import create_engine, func, select

from sinks.event_index import EventIndex, create_schema
from sinks.runner import run_event_index
from sinks.tables import event_parents, events, sink_positions
from streams.consumer import Batch, Consumed
from streams.events.codec import Codec
from streams.events.ids import new_meta
from streams.events.model import Producer, Provenance
from streams.producer import EventProducer
from streams.records.ingest import IngestSummary, ingest_events
from streams.records.models import RecordReceived
from streams.settings import Settings
from tests.factories import T0, record

SAMPLE = Path(__file__).parents[2] / "examples" / "providers" / "acme_athletes.csv"


def consumed(codec: Codec, event: RecordReceived, offset: int, partition: int = 0) -> Consumed:
    schema = codec.store.current(event.schema_name)
    return Consumed(event, schema, "records.received", partition, offset, None, T0,
                    codec.encode(event))


def derived_from(parents: list[RecordReceived]) -> RecordReceived:
    """A record whose meta names parents, as later stages' events will."""
    base = record(ref="child")
    meta = new_meta(event_type=base.schema_name, entity_id=base.entity_id, occurred_at=T0,
                    producer=Producer("test", "1.0.0", "t"),
                    provenance=Provenance("provider:acme", "child"),
                    parents=[p.event_id for p in parents], identity="child")
    return RecordReceived(meta=meta, name=base.name, sport=base.sport, provider=base.provider,
                          provider_ref=base.provider_ref)


def test_apply_is_idempotent_and_stores_position_and_lineage(database_url: str,
                                                            codec: Codec) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    index = EventIndex(engine)
    parents = [record(ref="1"), record(ref="2")]
    child = derived_from(parents)
    batch = Batch([consumed(codec, parents[0], 0), consumed(codec, parents[1], 1),
                   consumed(codec, child, 2)], {("records.received", 0): 3})
    assert index.apply(batch) == 3
    assert index.apply(batch) == 0  # redelivered: nothing new
    redelivered_elsewhere = Batch([consumed(codec, child, 9, partition=1)],
                                  {("records.received", 1): 10})
    assert index.apply(redelivered_elsewhere) == 0

    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(events)).scalar_one() == 3
        edges = connection.execute(
            select(event_parents.c.parent_id).where(event_parents.c.event_id == child.event_id)
            .order_by(event_parents.c.position)).scalars().all()
        assert edges == [p.event_id for p in parents]
        row = connection.execute(select(events).where(events.c.event_id == child.event_id)).one()
        assert row.stage == "test" and row.provenance_source == "provider:acme"
        assert row.schema_version == 1 and len(row.schema_fingerprint) == 16
        assert json.loads(row.payload)["provider_ref"] == "child"
    assert index.positions([("records.received", 0), ("records.received", 1)]) == {
        ("records.received", 0): 3, ("records.received", 1): 10}
    engine.dispose()


def test_sink_indexes_the_log_and_resumes_from_its_own_position(
        settings: Settings, codec: Codec, database_url: str) -> None:
    summary = IngestSummary()
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    with EventProducer(settings, codec) as producer:
        for event in ingest_events(lines, fmt="csv", provider="acme", path=str(SAMPLE),
                                   received_at=T0, producer=Producer("records", "1.0.0", "t"),
                                   summary=summary):
            producer.send(event)

    report = run_event_index(settings, codec, database_url=database_url, idle_timeout=4)
    assert report.stored == 30 + 6 and report.consumed == 36 and report.dead_lettered == 0

    engine = create_engine(database_url)
    with engine.connect() as connection:
        by_type = {kind: count for kind, count in connection.execute(
            select(events.c.event_type, func.count()).group_by(events.c.event_type))}
        applied = connection.execute(
            select(func.sum(sink_positions.c.next_offset))).scalar_one()
    assert by_type == {"crowdlog.records.RecordReceived": 30,
                       "crowdlog.deadletter.MessageDeadLettered": 6}
    assert applied == 36  # every partition's position is past every event

    again = run_event_index(settings, codec, database_url=database_url, idle_timeout=3)
    assert again.consumed == 0  # resumed at the stored position, not from the beginning

    with EventProducer(settings, codec) as producer:  # the same events again (a re-ingest)
        producer.send(record(ref="nba-new"))
        for event in ingest_events(lines[:5], fmt="csv", provider="acme", path=str(SAMPLE),
                                   received_at=T0, producer=Producer("records", "1.0.0", "t"),
                                   summary=IngestSummary()):
            producer.send(event)
    third = run_event_index(settings, codec, database_url=database_url, idle_timeout=3)
    assert third.consumed == 5 and third.stored == 1
    engine.dispose()


def test_an_event_the_database_refuses_is_dead_lettered_and_the_sink_moves_on(
        settings: Settings, codec: Codec, database_url: str) -> None:
    good = [record(ref=str(i)) for i in range(5)]
    base = record(ref="poison")
    meta = new_meta(event_type=base.schema_name, entity_id="acme:poison\x00", occurred_at=T0,
                    producer=Producer("elsewhere", "0.1.0", "t"),
                    provenance=Provenance("provider:acme", "poison"), identity="poison")
    poison = RecordReceived(meta=meta, name="Poison", sport="chess", provider="acme",
                            provider_ref="poison")
    with EventProducer(settings, codec) as producer:
        for event in [*good[:2], poison, *good[2:]]:
            producer.send(event)

    report = run_event_index(settings, codec, database_url=database_url, idle_timeout=4)
    refuses_nul = database_url.startswith("postgresql")
    assert report.refused == (1 if refuses_nul else 0)

    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = set(connection.execute(select(events.c.event_id)).scalars())
        letters = [json.loads(p) for p in connection.execute(
            select(events.c.payload).where(events.c.event_type.like("%MessageDeadLettered")))
            .scalars()]
    engine.dispose()
    assert {e.event_id for e in good} <= stored
    if refuses_nul:
        assert poison.event_id not in stored
        [letter] = letters
        assert letter["error"] == "sink_refused" and "NUL" in letter["reason"]
        assert letter["original_value"] == {"base64": base64.b64encode(
            codec.encode(poison)).decode()}
    else:
        assert poison.event_id in stored and letters == []
    rerun = run_event_index(settings, codec, database_url=database_url, idle_timeout=3)
    assert rerun.consumed == 0 and rerun.refused == 0
