"""Reads topics from their beginning up to the end offsets seen when the read started.

The audit and the export need a fixed picture of the log: what was there when the command
started, every partition read to that point and no further, whatever arrives meanwhile. They
read raw bytes through ``assign()`` (no consumer group, nothing committed, nothing
dead-lettered), so a message that does not decode is theirs to report, not a consumer's to move
aside.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from streams.broker_calls import retrying
from streams.settings import Settings

log = structlog.get_logger(__name__)

METADATA_TIMEOUT = 15.0
BATCH = 500


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


@dataclass
class LogReader:
    """Yields the raw messages of ``topics``, partition by partition, in offset order.

    ``missing_topics`` lists topics the cluster does not have; ``incomplete`` the partitions
    that went ``idle_timeout`` seconds without a message before their end offset was reached
    (so a caller can refuse to call a partial read complete).
    """

    settings: Settings
    topics: Iterable[str]
    idle_timeout: float = 10.0
    missing_topics: list[str] = field(default_factory=list)
    incomplete: list[PartitionRange] = field(default_factory=list)

    def messages(self) -> Iterator[RawMessage]:
        consumer = Consumer({
            **self.settings.kafka_config(),
            # assign() needs no group, but librdkafka wants an id; nothing is ever committed
            "group.id": f"crowdlog.tools.{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "enable.partition.eof": "true",
            # partitions are read one after another: a fetch the broker holds open on the
            # previous one (default 500 ms) would delay the next one by that much
            "fetch.wait.max.ms": "20",
            "auto.offset.reset": "earliest",
        })
        try:
            ranges = self._ranges(consumer)
            for part in ranges:
                yield from self._read(consumer, part)
        finally:
            consumer.close()

    def _ranges(self, consumer: Consumer) -> list[PartitionRange]:
        """Every non-empty partition with its offsets now: the snapshot this read covers."""
        bounds, missing = watermarks(consumer, self.topics)
        self.missing_topics.extend(missing)
        return [PartitionRange(topic, partition, low, high)
                for (topic, partition), (low, high) in bounds.items() if high > low]

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
                    error = msg.error()
                    if error is not None and error.code() != KafkaError._PARTITION_EOF:
                        if error.fatal():
                            raise KafkaException(error)
                        log.warning("consumer error", error=str(error))
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
                                     _as_bytes(msg.key()), _as_bytes(msg.value()))
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


def _as_bytes(data: str | bytes | None) -> bytes | None:
    return data.encode("utf-8") if isinstance(data, str) else data
