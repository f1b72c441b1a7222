"""Schema Registry interop on the real broker and a real registry (Apicurio, ccompat API).

Readers and writers nobody here wrote: confluent-kafka's stock ``AvroDeserializer`` reads every
event type crowdlog writes in registry mode, and events written by confluent-kafka's stock
``AvroSerializer`` with our published schemas are taken by crowdlog's stages like our own.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streams.codecs import default_codec
from streams.consensus.models import HandleAccepted
from streams.consumer import EventConsumer
from streams.crowd.events import hit_posted
from streams.enrichment.models import ProfileEnriched, ProfileUnavailable
from streams.events.deadletter import MessageDeadLettered, dead_letter_message
from streams.events.errors import SchemaRefused
from streams.events.ids import new_meta
from streams.events.model import Event, Provenance
from streams.events.registry import schema_id_of
from streams.producer import EventProducer
from streams.runner import StageRunner
from streams.settings import Settings
from streams.simulation.local import run_local
from streams.tasks.core import TaskConfig
from streams.tasks.models import HitPublished
from streams.tasks.stage import tasks_stage
from streams.topics import (
    CATALOGUE,
    DEADLETTER,
    RECORDS_RECEIVED,
    TASKS_HITS,
    event_types,
    full_name,
)
from streams.worker import runner_config
from streams.workers.models import QualificationRevoked, WorkerQualified
from streams.world.generate import generate_world
from streams.world.model import WorldConfig
from tests.factories import PRODUCER, T0, record
from tests.view_events import redaction, rejection, retraction

# crowdlog's subjects are <topic>-<record name>. Without a strategy, confluent-kafka 2.16's
# serdes first ask the registry for the topic's "associations" (a Confluent Cloud API), which
# Apicurio answers with 404, and once in CI not at all.
SUBJECTS = {"subject.name.strategy.type": "TOPIC_RECORD"}


def _every_event_type() -> list[Event]:
    """At least one event of every type in the catalogue, from a messy little world."""
    world = generate_world(WorldConfig(athletes=60, seed=3, workers=30, namesake_rate=0.3,
                                       confuser_rate=0.3, sloppy_rate=0.3))
    events = list(run_local(world, downstream=True).events)
    accepted = next(e for e in events if isinstance(e, HandleAccepted))
    fetched = next(e for e in events if isinstance(e, ProfileEnriched))
    hit = next(e for e in events if isinstance(e, HitPublished))
    asked = redaction()
    # What an in-process run does not make: the bridge's MTurk HIT id, an account the platform
    # says is gone (whether a run meets one depends on the crowd's answers), and a revoked
    # qualification (a redaction's).
    gone = ProfileUnavailable(
        meta=new_meta(event_type=ProfileUnavailable.schema_name, entity_id=accepted.entity_id,
                      occurred_at=T0, producer=PRODUCER, provenance=Provenance("twitter", "ad"),
                      parents=(accepted.event_id,), identity=["gone"]),
        platform="twitter", handle="ad", reason="suspended", detail="", fetch=0, attempts=1)
    granted = next(e for e in events if isinstance(e, WorkerQualified))
    revoked = QualificationRevoked(
        meta=new_meta(event_type=QualificationRevoked.schema_name, entity_id=granted.entity_id,
                      occurred_at=T0, producer=PRODUCER, provenance=granted.meta.provenance,
                      parents=(granted.event_id,), identity=["revoked"]),
        worker_id=granted.worker_id, qualification=granted.qualification, reason="redacted")
    events += [hit_posted(hit, "mturk-sandbox", "3ZQK0EXAMPLEHIT", "test", T0), gone, revoked,
               rejection(accepted, fetched), asked, retraction(asked, accepted),
               dead_letter_message(topic="t", partition=0, offset=1, key=b"k", value=b"\x01",
                                   timestamp=T0, error="corrupt_event", reason="test",
                                   producer=PRODUCER)]
    assert {type(e) for e in events} == set(event_types())
    return events


def _consume(settings: Settings, topics: list[str], count: int,
             timeout: float = 60.0) -> Iterator[Any]:
    """Raw messages of ``topics`` from the beginning, until ``count`` were read."""
    consumer = Consumer({**settings.kafka_config(), "group.id": f"read-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(topics)
    try:
        deadline, seen = time.monotonic() + timeout, 0
        while seen < count and time.monotonic() < deadline:
            for message in consumer.consume(500, 1.0):
                if message.error() is None:
                    seen += 1
                    yield message
    finally:
        consumer.close()


def _plain(value: Any) -> Any:
    """Avro values as JSON would carry them: datetimes as epoch milliseconds."""
    return json.loads(json.dumps(value, default=lambda v: int(v.timestamp() * 1000)
                                 if isinstance(v, datetime) else repr(v)))


def test_registry_mode_is_read_by_confluent_avro_deserializer(
        settings: Settings, schema_registry_url: str) -> None:
    codec = default_codec(registry_url=schema_registry_url)
    events = _every_event_type()
    with EventProducer(settings, codec) as producer:
        for event in events:
            producer.send(event)
    client = SchemaRegistryClient({"url": schema_registry_url, "timeout": 15})
    # the writer schema, fetched by id: no crowdlog code; subjects as crowdlog names them
    deserializer = AvroDeserializer(client, conf=SUBJECTS)
    topics = [full_name(spec, settings.topic_prefix) for spec in CATALOGUE]
    read: dict[str, dict[str, Any]] = {}
    ids: set[int] = set()
    for message in _consume(settings, topics, len(events)):
        value = message.value()
        assert value[:1] == b"\x00", "registry mode writes the Confluent wire format"
        ids.add(schema_id_of(value))
        decoded = deserializer(value, SerializationContext(message.topic(), MessageField.VALUE))
        read[decoded["meta"]["event_id"]] = decoded
        assert codec.decode(value).event_id == decoded["meta"]["event_id"]  # both framings read
    assert set(read) == {e.event_id for e in events}
    for event in events:
        assert _plain(read[event.event_id]) == _plain(event.to_avro()), event.schema_name
    assert len(ids) == len(event_types())  # one schema per (topic, event type) subject
    subjects = client.get_subjects()
    assert f"{full_name(TASKS_HITS, settings.topic_prefix)}-{HitPublished.schema_name}" in \
        subjects


def test_a_foreign_producer_with_the_stock_serializer_feeds_our_stages(
        settings: Settings, schema_registry_url: str) -> None:
    registry_codec = default_codec(registry_url=schema_registry_url)
    client = SchemaRegistryClient({"url": schema_registry_url, "timeout": 15})
    published = json.dumps(registry_codec.store.current(record().schema_name).schema)
    serializer = AvroSerializer(client, published, to_dict=lambda event, _ctx: event.to_avro(),
                                conf={"auto.register.schemas": True, **SUBJECTS})
    topic = full_name(RECORDS_RECEIVED, settings.topic_prefix)
    records = [record(ref=f"foreign-{i}") for i in range(20)]
    producer = Producer({**settings.kafka_config()})
    for event in records:
        producer.produce(topic, key=event.entity_id,
                         value=serializer(event, SerializationContext(topic, MessageField.VALUE)))
    producer.flush(30)

    runner = StageRunner(settings, registry_codec, [tasks_stage(TaskConfig(instance="t"), ())],
                         runner_config(settings))
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        hits_topic = full_name(TASKS_HITS, settings.topic_prefix)
        hits = {registry_codec.decode(m.value()).entity_id
                for m in _consume(settings, [hits_topic], len(records), timeout=120)}
    finally:
        stop.set()
        thread.join(60)
    assert hits == {e.entity_id for e in records}
    assert runner.report.dead_lettered == 0


def test_an_unknown_schema_id_is_dead_lettered_and_a_refused_schema_never_sent(
        settings: Settings, schema_registry_url: str) -> None:
    codec = default_codec(registry_url=schema_registry_url)
    topic = full_name(RECORDS_RECEIVED, settings.topic_prefix)
    unknown = b"\x00" + (2**31 - 7).to_bytes(4, "big") + b"\x02ab"
    good = record(ref="after-unknown")
    with EventProducer(settings, codec) as producer:
        producer.send_encoded("acme:unknown-id", unknown, topic)
        producer.send(good)
    dead = full_name(DEADLETTER, settings.topic_prefix)
    with EventConsumer(settings, codec, [topic], f"{settings.topic_prefix}reader") as consumer:
        seen = [c.event.event_id for c in consumer.events(idle_timeout=3.0)]
    assert seen == [good.event_id]
    letters = [codec.decode(m.value()) for m in _consume(settings, [dead], 1)]
    assert len(letters) == 1 and isinstance(letters[0], MessageDeadLettered)
    assert letters[0].error == "unknown_schema_id" and letters[0].original_value == unknown

    # An incompatible change under the subject crowdlog writes to is refused by the registry,
    # and crowdlog sends nothing rather than an event nobody could read.
    client = SchemaRegistryClient({"url": schema_registry_url, "timeout": 15})
    subject = f"{topic}-{good.schema_name}"
    incompatible = codec.store.current(good.schema_name).schema | {
        "fields": [{"name": "meta", "type": "string"}]}
    with pytest.raises(Exception):  # noqa: B017 (the registry's own error type)
        client.register_schema(subject, Schema(json.dumps(incompatible), "AVRO"))
    other = Settings(bootstrap_servers=settings.bootstrap_servers,
                     topic_prefix=f"{settings.topic_prefix}refused.", instance="pytest")
    refused_subject = f"{full_name(RECORDS_RECEIVED, other.topic_prefix)}-{good.schema_name}"
    client.register_schema(refused_subject, Schema(json.dumps(incompatible), "AVRO"))
    client.set_compatibility(refused_subject, "BACKWARD_TRANSITIVE")
    refusing = EventProducer(other, default_codec(registry_url=schema_registry_url))
    with pytest.raises(SchemaRefused):
        refusing.send(good)  # refused while encoding: nothing was queued
    refusing.flush()
