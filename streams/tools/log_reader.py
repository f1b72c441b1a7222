"""Reads a range of the log and stops: by default, topics from their beginning up to the end
offsets seen when the read started.

The reader tools (audit, export, replay, rank, the error plot, ``world score``, the lineage
stage's preload, the prediction stage's rebuild) need a fixed picture of the log: what was
there when the command started, every partition read to that point and no further, whatever
arrives meanwhile. ``LogReader`` is their one reader. It reads raw bytes through ``assign()``
(``streams.kafka.clients.reader``: no consumer group, nothing committed) and never publishes,
so a message that does not decode is the caller's to report, with its coordinates, not a
consumer's to move aside: reading the log never changes it. (``EventConsumer`` is for loops
that follow the log, and dead-letters.)

Every reader of the log, these tools and the consumer loops alike, tells a usable message from
an unusable one the same way (``decode_value``: a null value is as unusable as random bytes)
and describes the unusable one in a bounded line (``describe``, ``Undecodable``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import NamedTuple

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from streams.broker_calls import retrying
from streams.events.codec import Codec
from streams.events.errors import EventFormatError
from streams.events.model import Event
from streams.events.schema_store import SchemaVersion
from streams.kafka import clients
from streams.kafka.errors import checked
from streams.settings import Settings

log = structlog.get_logger(__name__)

METADATA_TIMEOUT = 15.0
BATCH = 500
# A reason in a report or a log line is cut here: decoding a body of invalid UTF-8 repeats the
# whole body in the error's message (3.9 million characters for a 990 kB message).
REASON_CHARS = 500
TOMBSTONE = "tombstone (null value) where an event was expected"
EPOCH = datetime.fromtimestamp(0, UTC)


class Coordinates(NamedTuple):
    """Where a message sits in the log."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}@{self.offset}"


class PartitionRange(NamedTuple):
    """A partition and the offsets to read: ``start`` up to (excluding) ``end``."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def key(self) -> tuple[str, int]:
        return self.topic, self.partition


@dataclass(frozen=True, slots=True)
class RawMessage:
    coordinates: Coordinates
    key: bytes | None
    value: bytes | None
    timestamp: datetime = EPOCH  # the epoch when the message has none (``timestamp_of``)


def timestamp_of(millis: int) -> datetime:
    """A message's timestamp (milliseconds) as a time; the epoch when it has none (-1), or one
    no ``datetime`` can hold (a broker that accepts any producer time, as Kafka 3's default
    does, lets year 10000 in).

    >>> timestamp_of(-1) == EPOCH == timestamp_of(253_402_300_800_000)
    True
    """
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC) if millis >= 0 else EPOCH
    except (OverflowError, ValueError, OSError):
        return EPOCH


def decode_value(codec: Codec, value: bytes | None) -> tuple[SchemaVersion, Event]:
    """The event a message's value holds, and the schema version it was written with.

    A null value (a tombstone) raises ``EventFormatError`` like any other bytes that are not an
    event, so that no reader has a path of its own for it.
    """
    if value is None:
        raise EventFormatError(TOMBSTONE)
    return codec.decode_versioned(value)


def describe(error: Exception) -> str:
    """``code: message`` of an error, cut to ``REASON_CHARS`` (and said so) for one line."""
    code = error.code if isinstance(error, EventFormatError) else type(error).__name__
    text = f"{code}: {error}"
    if len(text) <= REASON_CHARS:
        return text
    return f"{text[:REASON_CHARS]}... [cut from {len(text)} characters]"


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A message a reader could not use: where it is, and why in one bounded line."""

    coordinates: Coordinates
    reason: str

    @classmethod
    def of(cls, coordinates: Coordinates, error: Exception) -> Undecodable:
        return cls(coordinates, describe(error))

    def __str__(self) -> str:
        return f"{self.coordinates}: {self.reason}"


def skipped(message: Undecodable) -> None:
    """What a read-only command does with a message that is not an event: say so on stderr
    and go on (it never writes a dead letter: reading the log must not change it)."""
    print(f"skipped {message}", file=sys.stderr, flush=True)


@dataclass
class LogReader:
    """Yields the raw messages of ``topics``, partition by partition, in offset order.

    What it reads is ``plan``'s ranges: every partition from its beginning (or, with ``since``,
    from the first message the broker timestamped at or after it) up to its end offset now;
    a caller can hand ``messages`` ranges of its own instead. ``missing_topics`` lists topics
    the cluster does not have; ``incomplete`` the partitions that went ``idle_timeout`` seconds
    without a message before their end offset was reached (so a caller can refuse to call a
    partial read complete); ``undecodable`` the messages ``events`` passed over.
    """

    settings: Settings
    topics: Iterable[str]
    idle_timeout: float = 10.0
    since: datetime | None = None
    missing_topics: list[str] = field(default_factory=list)
    incomplete: list[PartitionRange] = field(default_factory=list)
    undecodable: list[Undecodable] = field(default_factory=list)

    def decoded(self, codec: Codec, ranges: Sequence[PartitionRange] | None = None
                ) -> Iterator[tuple[Coordinates, Event | EventFormatError]]:
        """Every message as its event, or as the reason it is none, in ``messages`` order."""
        for message in self.messages(ranges):
            try:
                _schema, event = decode_value(codec, message.value)
            except EventFormatError as exc:
                yield message.coordinates, exc
                continue
            yield message.coordinates, event

    def events(self, codec: Codec) -> Iterator[tuple[Coordinates, Event]]:
        """The events, with where each is; a message that is none goes to ``undecodable``."""
        for where, item in self.decoded(codec):
            if isinstance(item, EventFormatError):
                self.undecodable.append(Undecodable.of(where, item))
            else:
                yield where, item

    def problems(self) -> list[str]:
        """One line per message or partition this read could not use, for a tool to print
        beside a result built without them."""
        return ([f"skipped {item}" for item in self.undecodable]
                + [f"incomplete: {p.topic}/{p.partition} went idle before its end offset "
                   f"{p.end}" for p in self.incomplete]
                + [f"missing: topic {topic} does not exist" for topic in self.missing_topics])

    def messages(self, ranges: Sequence[PartitionRange] | None = None) -> Iterator[RawMessage]:
        """The messages of ``ranges`` (by default ``plan``'s, taken when the read starts)."""
        consumer = self._client()
        try:
            for part in self._plan(consumer) if ranges is None else ranges:
                if part.start < part.end:
                    yield from self._read(consumer, part)
        finally:
            consumer.close()

    def plan(self) -> list[PartitionRange]:
        """Every partition of ``topics`` with the offsets a read would cover now, empty ones
        too (their start is their end); the topics the cluster lacks go to ``missing_topics``."""
        consumer = self._client()
        try:
            return self._plan(consumer)
        finally:
            consumer.close()

    def _client(self) -> Consumer:
        # partitions are read one after another: a fetch the broker holds open on the previous
        # one (default 500 ms) would delay the next one by that much
        return clients.reader(self.settings, {"fetch.wait.max.ms": 20})

    def _plan(self, consumer: Consumer) -> list[PartitionRange]:
        bounds, missing = watermarks(consumer, self.topics)
        self.missing_topics.extend(missing)
        starts = {key: low for key, (low, _high) in bounds.items()}
        if self.since is not None and bounds:
            millis = int(self.since.timestamp() * 1000)
            wanted = [TopicPartition(t, p, millis) for t, p in bounds]
            found = retrying(lambda: consumer.offsets_for_times(wanted, timeout=METADATA_TIMEOUT),
                             what="offsets for a time")
            for tp in found:
                if tp.error is not None:
                    raise KafkaException(tp.error)
                low, high = bounds[(tp.topic, tp.partition)]
                # -1: no message at or after that time, so nothing of this partition is read
                starts[(tp.topic, tp.partition)] = high if tp.offset < 0 else max(low, tp.offset)
        return [PartitionRange(topic, partition, min(starts[(topic, partition)], high), high)
                for (topic, partition), (_low, high) in bounds.items()]

    def _read(self, consumer: Consumer, part: PartitionRange) -> Iterator[RawMessage]:
        consumer.assign([TopicPartition(part.topic, part.partition, part.start)])
        idle_since = time.monotonic()
        position = part.start
        try:
            while True:
                # consume() waits for a full batch or the timeout: asking for exactly what is
                # left lets it return as soon as the last message is in
                messages = consumer.consume(max(1, min(BATCH, part.end - position)), 0.5)
                if not messages:
                    if time.monotonic() - idle_since >= self.idle_timeout:
                        log.warning("partition went idle before its end offset",
                                    topic=part.topic, partition=part.partition, end=part.end)
                        self.incomplete.append(part)
                        return
                    continue
                idle_since = time.monotonic()
                for msg in messages:
                    error = checked(msg)
                    if error is not None and error.code() != KafkaError._PARTITION_EOF:
                        continue
                    if (msg.topic(), msg.partition()) != (part.topic, part.partition):
                        continue  # left over from the partition read before (defensive)
                    if error is not None:
                        return  # end of partition: at the high watermark, past our end
                    offset = msg.offset()
                    if offset is None or offset >= part.end:
                        return
                    position = offset + 1
                    yield RawMessage(Coordinates(part.topic, part.partition, offset),
                                     as_bytes(msg.key()), as_bytes(msg.value()),
                                     timestamp_of(msg.timestamp()[1]))
                    if offset >= part.end - 1:
                        return
        finally:
            consumer.unassign()


def watermarks(consumer: Consumer, topics: Iterable[str]
               ) -> tuple[dict[tuple[str, int], tuple[int, int]], list[str]]:
    """The low and high watermarks of every partition of ``topics`` now, and the topics the
    cluster does not have. A busy broker's slow answers are asked again, not fatal."""
    metadata = retrying(lambda: consumer.list_topics(timeout=METADATA_TIMEOUT),
                        what="topic metadata")
    bounds: dict[tuple[str, int], tuple[int, int]] = {}
    missing: list[str] = []
    for topic in topics:
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            missing.append(topic)
            continue
        for partition in sorted(described.partitions):
            bounds[(topic, partition)] = retrying(
                partial(consumer.get_watermark_offsets, TopicPartition(topic, partition),
                        timeout=METADATA_TIMEOUT),
                what="watermark offsets")
    return bounds, missing


def as_bytes(data: str | bytes | None) -> bytes | None:
    """A message's key or value as bytes (confluent-kafka types them ``str | bytes``)."""
    return data.encode("utf-8") if isinstance(data, str) else data
