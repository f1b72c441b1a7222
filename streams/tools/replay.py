"""Rebuild the event index and its current views from the log (``crowdlog replay``).

The log is the system of record; the SQL index is a view of it that can be thrown away and
rebuilt. A replay captures every catalogue partition's end offset when it starts, reads each
partition from its beginning (or from the first message the broker timestamped at or after
``--from``) up to that end and no further, applies the messages with the sink's own
``EventIndex``, and stops once every partition is at its end: it finishes when the snapshot is
read, not when the log has been quiet for a while (a partition quiet for ``stall_timeout``
before its end stops it with ``ReplayStalled``). Because ids are deterministic and the views
order by fields of the events, two replays of the same log into any databases hold the same
content, which ``sinks.checksum`` makes checkable.

It reads through ``LogReader`` (no consumer group, nothing committed) and writes nothing to
the log: a message that does not decode, or that the database refuses, is counted and reported
(the live sink already dead-lettered it, and that letter is on the log and replayed too). The
positions it reached are stored as the event-index sink's, so ``crowdlog sink event-index``
pointed at the rebuilt database carries on from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import Engine, create_engine, func, inspect, select
from sqlalchemy.engine import make_url

from sinks.event_index import EventIndex, create_schema
from sinks.runner import IsolatingApplier, refusal_reason
from sinks.tables import events, sink_positions
from streams.consumer import Batch, Consumed, decoded_at
from streams.events.codec import Codec
from streams.events.errors import EventFormatError
from streams.settings import Settings
from streams.tools.log_reader import LogReader, PartitionRange, Undecodable
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


def _batches(reader: LogReader, codec: Codec, ranges: list[PartitionRange],
             report: ReplayReport, max_size: int) -> Iterator[Batch]:
    """The messages of ``ranges`` in batches of up to ``max_size``, each with the position
    after every message it read, the undecodable ones too (counted in ``report``)."""
    decoded: list[Consumed] = []
    positions: dict[tuple[str, int], int] = {}
    taken = 0
    for message in reader.messages(ranges):
        topic, partition, offset = where = message.coordinates
        positions[(topic, partition)] = offset + 1
        report.messages += 1
        taken += 1
        try:
            decoded.append(decoded_at(codec, *where, key=message.key, value=message.value,
                                      timestamp=message.timestamp))
        except EventFormatError as exc:
            report.undecodable.append(str(Undecodable.of(where, exc)))
        if taken >= max_size:
            yield Batch(decoded, positions)
            decoded, positions, taken = [], {}, 0
    if positions:
        yield Batch(decoded, positions)


def replay(settings: Settings, codec: Codec, database_url: str, *,
           since: datetime | None = None, catalogue: Iterable[TopicSpec] = CATALOGUE,
           max_batch: int = 1000, stall_timeout: float = 60.0) -> ReplayReport:
    """Rebuild the index into the empty database at ``database_url``; see the module docs."""
    engine = create_engine(database_url)
    try:
        if found := indexed_rows(engine):
            shown = make_url(database_url).render_as_string(hide_password=True)
            raise TargetNotEmpty(f"{shown} already holds an event index ({found} rows in events "
                                 "and sink_positions): replay into an empty database")
        create_schema(engine)
        reader = LogReader(settings, [full_name(s, settings.topic_prefix) for s in catalogue],
                           idle_timeout=stall_timeout, since=since)
        ranges = reader.plan()
        if reader.missing_topics:
            raise ReplayError(f"topic {reader.missing_topics[0]} does not exist: run "
                              "`crowdlog topics create`")
        report = ReplayReport(partitions=len(ranges))
        index = EventIndex(engine)
        applier = IsolatingApplier(index, lambda c, exc: report.refused.append(
            f"{c.topic}/{c.partition}@{c.offset} {c.event.event_id}: {refusal_reason(exc)}"))
        for batch in _batches(reader, codec, ranges, report, max_batch):
            report.stored += applier.apply(batch)
        if reader.incomplete:
            left = ", ".join(f"{p.topic}/{p.partition}" for p in reader.incomplete)
            raise ReplayStalled(f"no message for {stall_timeout:.0f} s before the end of "
                                f"{left}: is the broker up?")
        # Every partition's position, the empty and skipped ones too: a sink carrying on from
        # this database must not start those at their beginning.
        index.apply(Batch([], {r.key: r.end for r in ranges}))
        log.info("replay finished", partitions=report.partitions, messages=report.messages,
                 stored=report.stored, undecodable=len(report.undecodable),
                 refused=len(report.refused))
        return report
    finally:
        engine.dispose()
