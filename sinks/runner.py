"""Runs the event index sink: consume the catalogue's topics, apply batches to SQL.

An event the database refuses (a value PostgreSQL cannot store, say) must not stop the sink on
the same batch forever: the batch is re-applied event by event, each refused event goes to
``deadletter`` with its original bytes and the database's reason, and the sink moves on. Lost
connections and other operational errors still stop it; on restart it resumes from the
position stored with the last applied batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog
from sqlalchemy import create_engine
from sqlalchemy.exc import DataError, IntegrityError

from sinks.event_index import EventIndex, create_schema
from streams.consumer import Batch, Consumed, EventConsumer
from streams.events.codec import Codec
from streams.events.deadletter import MessageDeadLettered, dead_letter_message
from streams.events.model import Producer
from streams.producer import EventProducer
from streams.settings import Settings
from streams.topics import CATALOGUE, DEADLETTER, TopicSpec, full_name

log = structlog.get_logger(__name__)

SINK_STAGE = "sink.event_index"
SINK_VERSION = "1.0.0"
REFUSED = (DataError, IntegrityError)


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
    batch's position is stored (the sink flushes its dead letters there).
    """

    def __init__(self, index: EventIndex, refuse: Refuse,
                 settle: Callable[[], None] = lambda: None) -> None:
        self._index = index
        self._refuse = refuse
        self._settle = settle
        self.refused = 0

    def apply(self, batch: Batch) -> int:
        try:
            return self._index.apply(batch)
        except REFUSED:
            log.warning("batch refused by the database; applying its events one by one",
                        events=len(batch.events))
        stored = 0
        for consumed in batch.events:
            single = Batch([consumed], {(consumed.topic, consumed.partition): consumed.offset + 1})
            try:
                stored += self._index.apply(single)
            except REFUSED as exc:
                self.refused += 1
                self._refuse(consumed, exc)
        self._settle()
        self._index.apply(Batch([], batch.positions))
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
        log.error("event refused by the database, dead-lettered", event_id=consumed.event.event_id,
                  topic=consumed.topic, partition=consumed.partition, offset=consumed.offset,
                  reason=reason)

    def flush(self) -> None:
        self._producer.flush()  # the dead letters are safe before the position moves past them


def run_event_index(settings: Settings, codec: Codec, *, database_url: str | None = None,
                    catalogue: Iterable[TopicSpec] = CATALOGUE, group_id: str | None = None,
                    idle_timeout: float | None = None, max_batch: int = 1000) -> SinkReport:
    """Index every event until stopped (or idle for ``idle_timeout`` seconds).

    Resumes from the positions stored in the database, not from the consumer group's commits:
    the database is the only place where "applied" and "position" change together.
    """
    engine = create_engine(database_url or settings.database_url)
    create_schema(engine)
    index = EventIndex(engine)
    topics = [full_name(spec, settings.topic_prefix) for spec in catalogue]
    report = SinkReport()
    producer = EventProducer(settings, codec)
    letters = _DeadLetters(producer, settings)
    applier = IsolatingApplier(index, letters.refuse, letters.flush)
    consumer = EventConsumer(settings, codec, topics,
                             group_id or f"{settings.topic_prefix}crowdlog.sink.event-index",
                             start_offsets=index.positions, deadletter=producer)
    try:
        for batch in consumer.batches(max_size=max_batch, idle_timeout=idle_timeout):
            stored = applier.apply(batch)
            report.batches += 1
            report.consumed += len(batch.events)
            report.stored += stored
            log.debug("applied batch", events=len(batch.events), stored=stored)
    finally:
        report.dead_lettered = consumer.dead_lettered
        report.refused = applier.refused
        consumer.close()
        producer.close()
        engine.dispose()
    return report
