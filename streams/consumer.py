"""The consumer API for downstream subscribers: typed events with their log coordinates.

Offsets are stored only for events the caller has handled: an event counts as handled when the
caller asks for the next one (or the next batch). librdkafka's auto-commit then commits only
those stored offsets, so a crash redelivers unhandled events (at-least-once) and consumers stay
idempotent by event id.

A message that cannot be decoded (a null value, bytes that are not an event, an unknown schema
fingerprint, a cut body) is published to ``deadletter`` with its original bytes (the first
768 KiB of a bigger one, with the cut and its coordinates stated), its topic, partition and
offset and the reason; the dead letters are flushed before the offset past them is stored, so
consumption continues and nothing is lost. A read-only tool that follows a topic (``crowdlog
tail``) passes ``on_undecodable`` instead: it reports the message and moves on, and writes
nothing to the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import structlog
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from streams.events.codec import Codec
from streams.events.deadletter import dead_letter_message
from streams.events.errors import EventFormatError
from streams.events.model import Event, Producer
from streams.events.schema_store import SchemaVersion
from streams.kafka import clients
from streams.kafka.errors import checked
from streams.logs import Handling, handling
from streams.producer import EventProducer
from streams.settings import Settings
from streams.tools.log_reader import (
    Coordinates,
    Undecodable,
    as_bytes,
    decode_value,
    describe,
    timestamp_of,
)
from streams.topics import DEADLETTER, full_name

log = structlog.get_logger(__name__)

CONSUMER_STAGE = "consumer"
# How long past its idle timeout a drain waits for a consumer that never catches up (never
# assigned, a missing topic) before it ends anyway: longer than librdkafka's default session
# timeout (45 s), which a group waits out before it reassigns a killed member's partitions.
ASSIGNMENT_PATIENCE = 60.0
CONSUMER_VERSION = "1.0.0"

# Given the partitions just assigned, where to start each one (by (topic, partition)); used by
# sinks that keep their applied position in their own database.
StartOffsets = Callable[[list[tuple[str, int]]], dict[tuple[str, int], int]]


@dataclass(frozen=True, slots=True)
class Consumed:
    """A decoded event and where it sits in the log."""

    event: Event
    schema: SchemaVersion
    topic: str
    partition: int
    offset: int
    key: bytes | None
    timestamp: datetime
    value: bytes  # the message as it was on the log, for dead letters and forwarding


@dataclass(frozen=True, slots=True)
class Batch:
    """Decoded events of one poll, and the position after every message polled.

    ``positions`` also covers dead-lettered messages, so a sink that stores it moves past them.
    """

    events: list[Consumed]
    positions: dict[tuple[str, int], int]


class EventConsumer:
    """Subscribes to topics and yields decoded events, dead-lettering undecodable messages.

    With ``on_undecodable`` an undecodable message is handed to it instead, and nothing is
    published: for tools that read the log and must not write to it.
    """

    def __init__(self, settings: Settings, codec: Codec, topics: Iterable[str], group_id: str,
                 *, from_beginning: bool = True, config: dict[str, str] | None = None,
                 start_offsets: StartOffsets | None = None,
                 deadletter: EventProducer | None = None,
                 on_undecodable: Callable[[Undecodable], None] | None = None) -> None:
        self._settings = settings
        self._codec = codec
        self._start_offsets = start_offsets
        self._deadletter = deadletter
        self._owns_deadletter = deadletter is None
        self._on_undecodable = on_undecodable
        self._deadletter_topic = full_name(DEADLETTER, settings.topic_prefix)
        self._handled: dict[tuple[str, int], int] = {}
        self._dead_pending = 0
        self.dead_lettered = 0
        self._consumer = clients.consumer(settings, group_id, {
            "enable.auto.commit": "true",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": "earliest" if from_beginning else "latest",
            **(config or {}),
        })
        self._consumer.subscribe(list(topics), on_assign=self._on_assign)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self._start_offsets is None:
            return
        known = self._start_offsets([(tp.topic, tp.partition) for tp in partitions])
        for tp in partitions:
            tp.offset = known.get((tp.topic, tp.partition), OFFSET_BEGINNING)
        consumer.assign(partitions)

    def batches(self, *, max_size: int = 500, poll_timeout: float = 1.0,
                idle_timeout: float | None = None) -> Iterator[Batch]:
        """Yield batches of decoded events; a batch counts as handled when the next is asked for.

        With ``idle_timeout`` the iteration ends after that many seconds without a message
        once the consumer has caught up (``caught_up``), for draining a topic: joining the
        group and the first fetches can take longer than the timeout on a busy machine, and
        a drain that ended then would return part of the log as if it were all. A consumer
        that never catches up (no partition assigned, a topic that is missing) ends
        ``ASSIGNMENT_PATIENCE`` seconds later. ``idle_timeout=0`` ends at the first poll
        that brings nothing, for loops that check their own stop signal between polls.
        Without ``idle_timeout`` it runs until the caller stops.
        """
        idle_since = time.monotonic()
        while True:
            messages = self._consumer.consume(max_size, poll_timeout)
            if not messages and idle_timeout is not None and self.drained(
                    time.monotonic() - idle_since, idle_timeout):
                # a fetch answered just as the poll gave up has its messages queued by now
                messages = self._consumer.consume(max_size, 0)
                if not messages:
                    return
            if not messages:
                continue
            idle_since = time.monotonic()
            decoded: list[Consumed] = []
            positions: dict[tuple[str, int], int] = {}
            for msg in messages:
                if checked(msg) is not None:
                    continue
                topic, partition, offset = coordinates(msg)
                positions[(topic, partition)] = offset + 1
                consumed = self._decode(msg, topic, partition, offset)
                if consumed is not None:
                    decoded.append(consumed)
            yield Batch(decoded, positions)
            self._handled.update(positions)
            self._store_handled()

    def events(self, *, poll_timeout: float = 1.0,
               idle_timeout: float | None = None) -> Iterator[Consumed]:
        """Yield decoded events one by one; log lines meanwhile carry the event's coordinates."""
        for batch in self.batches(poll_timeout=poll_timeout, idle_timeout=idle_timeout):
            for consumed in batch.events:
                token = handling.set(Handling(consumed.event.event_id, consumed.topic,
                                              consumed.partition, consumed.offset))
                try:
                    yield consumed
                finally:
                    handling.reset(token)

    def __iter__(self) -> Iterator[Consumed]:
        return self.events()

    def _decode(self, msg: Message, topic: str, partition: int, offset: int) -> Consumed | None:
        try:
            return consumed(self._codec, msg, topic, partition, offset)
        except EventFormatError as exc:
            if self._on_undecodable is not None:
                self._on_undecodable(Undecodable.of(Coordinates(topic, partition, offset), exc))
            else:
                self._dead_letter(msg, topic, partition, offset, exc)
            return None

    def _dead_letter(self, msg: Message, topic: str, partition: int, offset: int,
                     exc: EventFormatError) -> None:
        if self._deadletter is None:
            self._deadletter = EventProducer(self._settings, self._codec)
        letter = dead_letter_message(
            topic=topic, partition=partition, offset=offset, key=as_bytes(msg.key()),
            value=as_bytes(msg.value()), timestamp=message_time(msg), error=exc.code,
            reason=str(exc),
            producer=Producer(CONSUMER_STAGE, CONSUMER_VERSION, self._settings.instance),
        )
        self._deadletter.send(letter, topic=self._deadletter_topic)
        self._dead_pending += 1
        self.dead_lettered += 1
        log.warning("dead-lettered an undecodable message", topic=topic, partition=partition,
                    offset=offset, error=exc.code, reason=describe(exc))

    def _store_handled(self) -> None:
        if not self._handled:
            return
        if self._dead_pending and self._deadletter is not None:
            self._deadletter.flush()  # the dead letters must be safe before we move past them
            self._dead_pending = 0
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._handled.items()]
        self._handled.clear()
        try:
            self._consumer.store_offsets(offsets=offsets)
        except KafkaException as exc:  # partition revoked meanwhile: its new owner re-reads
            if exc.args[0].code() != KafkaError._STATE:
                raise

    def assigned(self) -> bool:
        """Whether the group has given this consumer partitions yet."""
        return bool(self._consumer.assignment())

    def caught_up(self) -> bool:
        """Whether this consumer has partitions and has read each to the high watermark its
        latest fetch brought back (a partition not fetched yet is not caught up)."""
        return caught_up(self._consumer)

    def drained(self, quiet: float, idle_timeout: float) -> bool:
        """Whether a loop that has had nothing for ``quiet`` seconds may call itself idle after
        ``idle_timeout``: only once caught up (a group still forming, or waiting out a killed
        predecessor's session, has not given it its partitions yet), or after
        ``ASSIGNMENT_PATIENCE`` more seconds."""
        if quiet < idle_timeout:
            return False
        return (idle_timeout == 0 or self.caught_up()
                or quiet >= idle_timeout + ASSIGNMENT_PATIENCE)

    def lag(self) -> int:
        """Messages on the assigned partitions not yet fetched (0 before any assignment).

        The high watermarks are the ones the fetches keep bringing back (``cached``): asking the
        broker queues behind this consumer's own long-polling fetches, about half a second per
        partition.
        """
        return unfetched(self._consumer)

    def commit(self) -> None:
        """Commit the stored offsets now (auto-commit also does so periodically)."""
        self._store_handled()
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                raise

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._consumer.close()
            if self._owns_deadletter and self._deadletter is not None:
                self._deadletter.close()

    def __enter__(self) -> EventConsumer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def consumed(codec: Codec, msg: Message, topic: str, partition: int, offset: int) -> Consumed:
    """The message at ``topic``/``partition``@``offset`` as a decoded event with its
    coordinates; ``EventFormatError`` when it is none (``decode_value``)."""
    return decoded_at(codec, topic, partition, offset, key=as_bytes(msg.key()),
                      value=as_bytes(msg.value()), timestamp=message_time(msg))


def decoded_at(codec: Codec, topic: str, partition: int, offset: int, *, key: bytes | None,
               value: bytes | None, timestamp: datetime) -> Consumed:
    """``consumed`` from a message's parts (a ``LogReader``'s ``RawMessage``)."""
    schema, event = decode_value(codec, value)
    assert value is not None  # decode_value refuses a null value
    return Consumed(event, schema, topic, partition, offset, key, timestamp, value)


def message_time(msg: Message) -> datetime:
    """The message's timestamp (``timestamp_of``: the epoch when it has none that fits)."""
    return timestamp_of(msg.timestamp()[1])


def coordinates(msg: Message) -> tuple[str, int, int]:
    """Topic, partition and offset of a message without error (librdkafka sets all three)."""
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    if topic is None or partition is None or offset is None:
        raise KafkaException(f"message without log coordinates: {topic}/{partition}@{offset}")
    return topic, partition, offset


def caught_up(consumer: Consumer) -> bool:
    """Assigned, a fetch answered for every assigned partition (its cached high watermark is
    known), and each partition read up to that watermark where anything was read from it.

    A partition nothing was read from has no position: its answered fetch carried whatever
    there was to read, so a poll that then brings nothing means there was nothing. Until that
    first answer (-1001) the partition is not caught up.
    """
    assigned = consumer.assignment()
    if not assigned:
        return False
    for tp in consumer.position(assigned):
        _low, high = consumer.get_watermark_offsets(tp, cached=True)
        if high < 0 or 0 <= tp.offset < high:
            return False
    return True


def unfetched(consumer: Consumer) -> int:
    """Messages on ``consumer``'s assigned partitions not yet fetched (0 before any assignment),
    by the high watermarks its own fetches bring back (``cached``): asking the broker would
    queue behind the consumer's long-polling fetches."""
    assigned = consumer.assignment()
    if not assigned:
        return 0
    total = 0
    for tp in consumer.position(assigned):
        low, high = consumer.get_watermark_offsets(tp, cached=True)
        total += max(0, high - (tp.offset if tp.offset >= 0 else low))
    return total
