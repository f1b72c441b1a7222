"""Runs the event index sink: consume the catalogue's topics, apply batches to SQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from sqlalchemy import create_engine

from sinks.event_index import EventIndex, create_schema
from streams.consumer import EventConsumer
from streams.events.codec import Codec
from streams.settings import Settings
from streams.topics import CATALOGUE, TopicSpec, full_name

log = structlog.get_logger(__name__)


@dataclass
class SinkReport:
    batches: int = 0
    consumed: int = 0
    stored: int = 0
    dead_lettered: int = 0


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
    consumer = EventConsumer(settings, codec, topics,
                             group_id or f"{settings.topic_prefix}crowdlog.sink.event-index",
                             start_offsets=index.positions)
    try:
        for batch in consumer.batches(max_size=max_batch, idle_timeout=idle_timeout):
            stored = index.apply(batch)
            report.batches += 1
            report.consumed += len(batch.events)
            report.stored += stored
            log.debug("applied batch", events=len(batch.events), stored=stored)
    finally:
        report.dead_lettered = consumer.dead_lettered
        consumer.close()
        engine.dispose()
    return report
