"""Producer and consumer APIs on the real broker: nothing lost, order kept, bad bytes parked."""

from __future__ import annotations

from collections import defaultdict

import pytest
from confluent_kafka import Producer

from streams.consumer import EventConsumer
from streams.events.codec import Codec
from streams.events.deadletter import MessageDeadLettered
from streams.events.fingerprint import MAGIC
from streams.logs import Handling, handling
from streams.producer import Delivery, DeliveryFailed, EventProducer
from streams.records.models import RecordReceived
from streams.settings import Settings
from streams.topics import DEADLETTER, RECORDS_RECEIVED, full_name
from tests.factories import record

N_EVENTS = 10_000
N_ENTITIES = 250


def sequence(event: RecordReceived) -> tuple[str, int]:
    """Entity and position of a test event: the team field carries the sequence number."""
    assert event.team is not None
    return event.entity_id, int(event.team.removeprefix("seq "))


def test_ten_thousand_events_none_lost_order_kept_corrupt_parked(settings: Settings,
                                                                   codec: Codec) -> None:
    records_topic = full_name(RECORDS_RECEIVED, settings.topic_prefix)
    deliveries: list[Delivery] = []
    sent = []
    with EventProducer(settings, codec, on_delivery=deliveries.append) as producer:
        for i in range(N_EVENTS):
            event = record(ref=str(i % N_ENTITIES), team=f"seq {i // N_ENTITIES}")
            sent.append(event)
            producer.send(event)
    assert len(deliveries) == N_EVENTS and all(d.ok for d in deliveries)
    assert {d.topic for d in deliveries} == {records_topic}

    corrupt = {
        b"entity-a": b"not avro at all",
        b"entity-b": MAGIC + b"\x00" * 8 + b"unknown fingerprint",
        b"entity-c": codec.encode(sent[0])[:-3],  # truncated body
        b"entity-d": codec.encode(sent[0]) + b"\x00",  # trailing bytes
    }
    raw = Producer({"bootstrap.servers": settings.bootstrap_servers})
    for key, value in corrupt.items():
        raw.produce(records_topic, key=key, value=value)
    assert raw.flush(10) == 0

    received: list[RecordReceived] = []
    with EventConsumer(settings, codec, [records_topic], f"{settings.topic_prefix}g") as consumer:
        for consumed in consumer.events(idle_timeout=5):
            assert isinstance(consumed.event, RecordReceived)
            assert consumed.key == consumed.event.entity_id.encode()
            assert handling.get() == Handling(consumed.event.event_id, consumed.topic,
                                              consumed.partition, consumed.offset)
            received.append(consumed.event)
        assert handling.get() is None
        assert consumer.dead_lettered == len(corrupt)

    assert sorted(e.event_id for e in received) == sorted(e.event_id for e in sent)
    positions: dict[str, list[int]] = defaultdict(list)
    for event in received:
        entity, position = sequence(event)
        positions[entity].append(position)
    assert len(positions) == N_ENTITIES
    assert all(seq == sorted(seq) for seq in positions.values()), "per-key order broken"

    letters = drain(settings, codec, full_name(DEADLETTER, settings.topic_prefix))
    assert len(letters) == len(corrupt)
    by_key = {letter.original_key: letter for letter in letters}
    for key, value in corrupt.items():
        letter = by_key[key]
        assert letter.original_value == value  # bytes intact
        assert letter.source_topic == records_topic
        assert letter.source_offset is not None and letter.source_partition is not None
        assert letter.reason
    assert by_key[b"entity-b"].error == "unknown_fingerprint"
    assert by_key[b"entity-a"].error == "corrupt_event"


def drain(settings: Settings, codec: Codec, topic: str) -> list[MessageDeadLettered]:
    with EventConsumer(settings, codec, [topic], f"{settings.topic_prefix}drain") as consumer:
        events = [c.event for c in consumer.events(idle_timeout=5)]
    assert all(isinstance(e, MessageDeadLettered) for e in events)
    return events  # type: ignore[return-value]


def test_offsets_are_committed_only_after_handling(settings: Settings, codec: Codec) -> None:
    topic = full_name(RECORDS_RECEIVED, settings.topic_prefix)
    group = f"{settings.topic_prefix}handlers"
    sent = {record(ref=str(i)).event_id for i in range(20)}
    with EventProducer(settings, codec) as producer:
        for i in range(20):
            producer.send(record(ref=str(i)))

    class HandlerCrashed(Exception):
        pass

    handled_first: set[str] = set()
    with pytest.raises(HandlerCrashed), EventConsumer(settings, codec, [topic], group) as first:
        for n, consumed in enumerate(first.events(idle_timeout=5)):
            if n == 7:
                crashed_on = consumed.event.event_id
                raise HandlerCrashed  # the 8th event is never handled
            handled_first.add(consumed.event.event_id)

    with EventConsumer(settings, codec, [topic], group) as second:
        again = {c.event.event_id for c in second.events(idle_timeout=5)}
    assert crashed_on in again
    assert sent - handled_first <= again  # every unhandled event came back
    assert again | handled_first == sent

    with EventConsumer(settings, codec, [topic], group) as third:
        leftover = [c.event.event_id for c in third.events(idle_timeout=3)]
    assert leftover == []  # what the second consumer handled was committed


def test_a_drain_ends_only_once_it_has_read_to_the_end(settings: Settings,
                                                      codec: Codec) -> None:
    """An idle timeout far shorter than joining the group: the drain still reads everything,
    in a fresh group from the beginning and, later, in the same group with nothing left."""
    topic = full_name(RECORDS_RECEIVED, settings.topic_prefix)
    group = f"{settings.topic_prefix}impatient"
    sent = [record(ref=str(i)) for i in range(50)]
    with EventProducer(settings, codec) as producer:
        for event in sent:
            producer.send(event)
    with EventConsumer(settings, codec, [topic], group) as consumer:
        read = [c.event.event_id for c in consumer.events(poll_timeout=0.05, idle_timeout=0.1)]
        assert consumer.caught_up()
    assert sorted(read) == sorted(e.event_id for e in sent)
    with EventConsumer(settings, codec, [topic], group) as again:  # at its committed end
        assert [c.event for c in again.events(poll_timeout=0.05, idle_timeout=0.1)] == []
        assert again.caught_up()


def test_delivery_failures_reach_the_caller(settings: Settings, codec: Codec) -> None:
    failures: list[Delivery] = []
    producer = EventProducer(settings, codec, on_delivery=failures.append,
                             config={"message.timeout.ms": "3000"})
    producer.send(record(), topic=f"{settings.topic_prefix}no-such-topic")
    with pytest.raises(DeliveryFailed) as caught:
        producer.flush(10)
    assert len(failures) == 1 and not failures[0].ok
    assert caught.value.failures[0].event_id == record().event_id
