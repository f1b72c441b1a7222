"""Runs the event index sink: consume the catalogue's topics, apply batches to SQL.

An event the database refuses (a value PostgreSQL cannot store, say) must not stop the sink on
the same batch forever: the batch is re-applied event by event, each refused event goes to
``deadletter`` with its original bytes and the database's reason, and the sink moves on.

A database that is out of reach is another matter: nothing is wrong with the events, so the
sink waits for it (``sinks.outage``), retrying each database call in place, for up to
CROWDLOG_SINK_DB_PATIENCE seconds before it stops; stopped or restarted, it resumes from the
position stored with the last applied batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import DataError, IntegrityError

from sinks.event_index import EventIndex, create_schema
from sinks.outage import Backoff, DatabasePatience, backoff_from_env
from streams.consumer import Batch, Consumed, EventConsumer
from streams.events.codec import Codec
from streams.events.deadletter import MessageDeadLettered, dead_letter_message
from streams.events.model import Producer
from streams.metrics import DEAD_LETTERS, StageMetrics
from streams.metrics import serve_from_env as serve_metrics
from streams.producer import EventProducer
from streams.settings import Settings
from streams.topics import CATALOGUE, DEADLETTER, TopicSpec, full_name

log = structlog.get_logger(__name__)

SINK_STAGE = "sink.event_index"
SINK_VERSION = "1.0.0"
REFUSED = (DataError, IntegrityError)
# Seconds a PostgreSQL connection attempt may take: libpq's default is to wait forever for a host
# that does not answer, which no patience could bound.
CONNECT_TIMEOUT = 10


@dataclass
class SinkReport:
    batches: int = 0
    consumed: int = 0
    stored: int = 0
    dead_lettered: int = 0
    refused: int = 0


# What to do with an event the database refused: the sink dead-letters it, a replay reports it.
Refuse = Callable[[Consumed, Exception], None]


class IsolatingApplier:
    """Applies batches, isolating the events the database refuses.

    ``settle`` runs after the refused events of a batch were handed to ``refuse`` and before the
    batch's position is stored (the sink flushes its dead letters there). With ``patience``
    each write waits out a database outage on its own: a batch cut off halfway through its
    events resumes at the event that failed, so no event is refused (and dead-lettered) twice.
    """

    def __init__(self, index: EventIndex, refuse: Refuse,
                 settle: Callable[[], None] = lambda: None,
                 patience: DatabasePatience | None = None) -> None:
        self._index = index
        self._refuse = refuse
        self._settle = settle
        self._patience = patience
        self.refused = 0

    def _write(self, what: str, batch: Batch) -> int:
        if self._patience is None:
            return self._index.apply(batch)
        return self._patience.call(what, lambda: self._index.apply(batch))

    def apply(self, batch: Batch) -> int:
        try:
            return self._write("apply a batch", batch)
        except REFUSED:
            log.warning("batch refused by the database; applying its events one by one",
                        events=len(batch.events))
        stored = 0
        for consumed in batch.events:
            single = Batch([consumed], {(consumed.topic, consumed.partition): consumed.offset + 1})
            try:
                stored += self._write("apply an event", single)
            except REFUSED as exc:
                self.refused += 1
                self._refuse(consumed, exc)
        self._settle()
        self._write("store a batch's position", Batch([], batch.positions))
        return stored


def refusal_reason(exc: Exception) -> str:
    return f"the event index database refused the event: {getattr(exc, 'orig', exc)}"


class _DeadLetters:
    """The sink's answer to a refused event: a dead letter with its original bytes."""

    def __init__(self, producer: EventProducer, settings: Settings) -> None:
        self._producer = producer
        self._deadletter_topic = full_name(DEADLETTER, settings.topic_prefix)
        self._stage = Producer(SINK_STAGE, SINK_VERSION, settings.instance)

    def refuse(self, consumed: Consumed, exc: Exception) -> None:
        reason = refusal_reason(exc)
        if isinstance(consumed.event, MessageDeadLettered):
            # already parked on the deadletter topic; a letter about a letter could loop
            log.error("dead letter refused by the database, left on the log only",
                      event_id=consumed.event.event_id, reason=reason)
            return
        letter = dead_letter_message(
            topic=consumed.topic, partition=consumed.partition, offset=consumed.offset,
            key=consumed.key, value=consumed.value, timestamp=consumed.timestamp,
            error="sink_refused", reason=reason, producer=self._stage,
        )
        self._producer.send(letter, topic=self._deadletter_topic)
        DEAD_LETTERS.labels(SINK_STAGE, "sink_refused").inc()
        log.error("event refused by the database, dead-lettered", event_id=consumed.event.event_id,
                  topic=consumed.topic, partition=consumed.partition, offset=consumed.offset,
                  reason=reason)

    def flush(self) -> None:
        self._producer.flush()  # the dead letters are safe before the position moves past them


def sink_engine(url: str) -> Engine:
    """The sink's engine: a PostgreSQL connection attempt gives up after ``CONNECT_TIMEOUT``
    seconds (unless the URL says otherwise), so that every attempt during an outage ends."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        return create_engine(parsed, connect_args={"connect_timeout": CONNECT_TIMEOUT})
    return create_engine(parsed)


def run_event_index(settings: Settings, codec: Codec, *, database_url: str | None = None,
                    catalogue: Iterable[TopicSpec] = CATALOGUE, group_id: str | None = None,
                    idle_timeout: float | None = None, max_batch: int = 1000,
                    backoff: Backoff | None = None) -> SinkReport:
    """Index every event until stopped (or idle for ``idle_timeout`` seconds).

    Resumes from the positions stored in the database, not from the consumer group's commits:
    the database is the only place where "applied" and "position" change together. Every
    database call waits out an outage (``backoff``, by default from the environment); when the
    patience runs out, ``sinks.outage.DatabaseUnavailable`` stops the sink.
    """
    engine = sink_engine(database_url or settings.database_url)
    patience = DatabasePatience(engine, backoff or backoff_from_env())
    index = EventIndex(engine)
    report = SinkReport()
    ready = threading.Event()  # /readyz: the schema exists, batches can be applied
    probes = serve_metrics(ready.is_set)
    try:
        patience.call("create the schema", lambda: create_schema(engine))
        ready.set()
        _consume(settings, codec, index, patience, report, catalogue=catalogue,
                 group_id=group_id, idle_timeout=idle_timeout, max_batch=max_batch)
    finally:
        engine.dispose()
        if probes is not None:
            probes.close()
    return report


def _consume(settings: Settings, codec: Codec, index: EventIndex, patience: DatabasePatience,
             report: SinkReport, *, catalogue: Iterable[TopicSpec], group_id: str | None,
             idle_timeout: float | None, max_batch: int) -> None:
    """The sink's loop; a batch the database cannot take yet is retried where it stands, and
    the consumer is not asked for the next one meanwhile (see ``sinks.outage``)."""
    topics = [full_name(spec, settings.topic_prefix) for spec in catalogue]
    producer = EventProducer(settings, codec)
    letters = _DeadLetters(producer, settings)
    applier = IsolatingApplier(index, letters.refuse, letters.flush, patience)
    metrics = StageMetrics(SINK_STAGE)

    def stored_positions(partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return patience.call("read the stored positions", lambda: index.positions(partitions))

    # The loop does not poll while it waits for the database: the group must not take its
    # partitions away (a rebalance that cannot help) before the patience is spent; the margin
    # covers the last attempt and the batch's own write.
    max_poll_ms = int(min(86_400.0, patience.backoff.patience + 120.0) * 1000)
    consumer = EventConsumer(settings, codec, topics,
                             group_id or f"{settings.topic_prefix}crowdlog.sink.event-index",
                             start_offsets=stored_positions, deadletter=producer,
                             config={"max.poll.interval.ms": str(max_poll_ms)})
    try:
        for batch in consumer.batches(max_size=max_batch, idle_timeout=idle_timeout):
            with metrics.processing.time():
                stored = applier.apply(batch)
            report.batches += 1
            report.consumed += len(batch.events)
            report.stored += stored
            metrics.batch(consumed=len(batch.events), produced=stored, lag=consumer.lag(),
                          dead_lettered=consumer.dead_lettered)
            log.debug("applied batch", events=len(batch.events), stored=stored)
    finally:
        report.dead_lettered = consumer.dead_lettered
        report.refused = applier.refused
        consumer.close()
        producer.close()
