"""Rebuild the event index and its current views from the log (``crowdlog replay``).

The log is the system of record; the SQL index is a view of it that can be thrown away and
rebuilt. A replay captures every catalogue partition's end offset when it starts, reads each
partition from its beginning (or from the first message the broker timestamped at or after
``--from``) up to that end and no further, applies the messages with the sink's own
``EventIndex``, and stops once every partition is at its end: it finishes when the snapshot is
read, not when the log has been quiet for a while. Because ids are deterministic and the views
order by fields of the events, two replays of the same log into any databases hold the same
content, which ``sinks.checksum`` makes checkable.

It reads through ``assign()`` (no consumer group, nothing committed) and writes nothing to the
log: a message that does not decode, or that the database refuses, is counted and reported
(the live sink already dead-lettered it, and that letter is on the log and replayed too). The
positions it reached are stored as the event-index sink's, so ``crowdlog sink event-index``
pointed at the rebuilt database carries on from there.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from sqlalchemy import Engine, create_engine, func, inspect, select
from sqlalchemy.engine import make_url

from sinks.event_index import EventIndex, create_schema
from sinks.runner import IsolatingApplier, refusal_reason
from sinks.tables import events, sink_positions
from streams.broker_calls import retrying
from streams.consumer import Batch, Consumed, consumed
from streams.events.codec import Codec
from streams.events.errors import EventFormatError
from streams.settings import Settings
from streams.tools.log_reader import (
    METADATA_TIMEOUT,
    Coordinates,
    PartitionRange,
    Undecodable,
    watermarks,
)
from streams.topics import CATALOGUE, TopicSpec, full_name

log = structlog.get_logger(__name__)


class ReplayError(Exception):
    """The replay cannot start or cannot finish; the message says why."""


class TargetNotEmpty(ReplayError):
    """The target database already holds an index: a replay only fills an empty one."""


class ReplayStalled(ReplayError):
    """The broker stopped delivering before every partition reached its captured end."""


@dataclass
class ReplayReport:
    partitions: int = 0
    messages: int = 0
    stored: int = 0
    undecodable: list[str] = field(default_factory=list)  # "topic/partition@offset: reason"
    refused: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"replayed {self.messages} messages from {self.partitions} partitions: "
               f"{self.stored} events indexed, {len(self.undecodable)} undecodable, "
               f"{len(self.refused)} refused by the database"]
        out += [f"  undecodable {item}" for item in self.undecodable]
        out += [f"  refused {item}" for item in self.refused]
        return out


def indexed_rows(engine: Engine) -> int:
    """Events and stored positions already in ``engine``'s index (0 for an empty database)."""
    names = set(inspect(engine).get_table_names())
    total = 0
    with engine.connect() as connection:
        for table in (events, sink_positions):
            if table.name in names:
                total += connection.execute(select(func.count()).select_from(table)).scalar_one()
    return total


def plan(consumer: Consumer, topics: Iterable[str],
         since: datetime | None = None) -> list[PartitionRange]:
    """Every partition of ``topics`` with the offsets to read, ends captured now."""
    bounds, missing = watermarks(consumer, topics)
    if missing:
        raise ReplayError(f"topic {missing[0]} does not exist: run `crowdlog topics create`")
    starts = {key: low for key, (low, _high) in bounds.items()}
    if since is not None:
        millis = int(since.timestamp() * 1000)
        wanted = [TopicPartition(t, p, millis) for t, p in bounds]
        found = retrying(lambda: consumer.offsets_for_times(wanted, timeout=METADATA_TIMEOUT),
                         what="offsets for a time")
        for tp in found:
            if tp.error is not None:
                raise KafkaException(tp.error)
            low, high = bounds[(tp.topic, tp.partition)]
            # -1: no message at or after that time, so nothing of this partition is replayed
            starts[(tp.topic, tp.partition)] = high if tp.offset < 0 else max(low, tp.offset)
    return [PartitionRange(t, p, min(starts[(t, p)], high), high)
            for (t, p), (_low, high) in bounds.items()]


class _Reader:
    """Reads the planned ranges (all partitions at once) and yields batches until each ends."""

    def __init__(self, consumer: Consumer, codec: Codec, ranges: list[PartitionRange],
                 report: ReplayReport) -> None:
        self._consumer = consumer
        self._codec = codec
        self._report = report
        self._pending = {r.key: r for r in ranges if r.start < r.end}

    def batches(self, max_size: int, stall_timeout: float) -> Iterable[Batch]:
        if not self._pending:
            return
        self._consumer.assign([TopicPartition(r.topic, r.partition, r.start)
                               for r in self._pending.values()])
        progress = time.monotonic()
        while self._pending:
            decoded: list[Consumed] = []
            positions: dict[tuple[str, int], int] = {}
            for msg in self._consumer.consume(max_size, 0.5):
                self._take(msg, decoded, positions)
            if positions:
                progress = time.monotonic()
                yield Batch(decoded, positions)
            elif time.monotonic() - progress >= stall_timeout:
                left = ", ".join(f"{t}/{p}" for t, p in sorted(self._pending))
                raise ReplayStalled(f"no message for {stall_timeout:.0f} s before the end of "
                                    f"{left}: is the broker up?")

    def _take(self, msg: Message, decoded: list[Consumed],
              positions: dict[tuple[str, int], int]) -> None:
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        if topic is None or partition is None or offset is None:
            raise KafkaException(f"message without log coordinates: {topic}/{partition}@{offset}")
        part = self._pending.get((topic, partition))
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                if part is not None and offset >= part.end:
                    self._finish(part)
                return
            if error.fatal():
                raise KafkaException(error)
            log.warning("consumer error", error=str(error))
            return
        if part is None or offset >= part.end:
            return  # fetched before its partition was paused: past the snapshot
        positions[part.key] = offset + 1
        self._report.messages += 1
        consumed = self._decode(msg, topic, partition, offset)
        if consumed is not None:
            decoded.append(consumed)
        if offset + 1 >= part.end:
            self._finish(part)

    def _decode(self, msg: Message, topic: str, partition: int,
                offset: int) -> Consumed | None:
        try:
            return consumed(self._codec, msg, topic, partition, offset)
        except EventFormatError as exc:
            where = Coordinates(topic, partition, offset)
            self._report.undecodable.append(str(Undecodable.of(where, exc)))
            return None

    def _finish(self, part: PartitionRange) -> None:
        del self._pending[part.key]
        self._consumer.pause([TopicPartition(part.topic, part.partition)])


def replay(settings: Settings, codec: Codec, database_url: str, *,
           since: datetime | None = None, catalogue: Iterable[TopicSpec] = CATALOGUE,
           max_batch: int = 1000, stall_timeout: float = 60.0) -> ReplayReport:
    """Rebuild the index into the empty database at ``database_url``; see the module docs."""
    engine = create_engine(database_url)
    consumer: Consumer | None = None
    try:
        if found := indexed_rows(engine):
            shown = make_url(database_url).render_as_string(hide_password=True)
            raise TargetNotEmpty(f"{shown} already holds an event index ({found} rows in events "
                                 "and sink_positions): replay into an empty database")
        create_schema(engine)
        consumer = Consumer({
            **settings.kafka_config(),
            # assign() needs no group, but librdkafka wants an id; nothing is ever committed
            "group.id": f"crowdlog.replay.{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "enable.partition.eof": "true",
            "auto.offset.reset": "earliest",
        })
        ranges = plan(consumer, [full_name(s, settings.topic_prefix) for s in catalogue], since)
        report = ReplayReport(partitions=len(ranges))
        index = EventIndex(engine)
        applier = IsolatingApplier(index, lambda c, exc: report.refused.append(
            f"{c.topic}/{c.partition}@{c.offset} {c.event.event_id}: {refusal_reason(exc)}"))
        for batch in _Reader(consumer, codec, ranges, report).batches(max_batch, stall_timeout):
            report.stored += applier.apply(batch)
        # Every partition's position, the empty and skipped ones too: a sink carrying on from
        # this database must not start those at their beginning.
        index.apply(Batch([], {r.key: r.end for r in ranges}))
        log.info("replay finished", partitions=report.partitions, messages=report.messages,
                 stored=report.stored, undecodable=len(report.undecodable),
                 refused=len(report.refused))
        return report
    finally:
        if consumer is not None:
            consumer.close()
        engine.dispose()
