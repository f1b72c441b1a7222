"""The lineage stage as a service: one consumer loop over the whole log around the pure core.

Lineage is global (a redaction reaches across entities, stages and topics), so it is not a
partitioned Faust agent. Its state is rebuilt from the log on every start: the graph is the log
itself, read from the beginning. Before that, the retractions already on the log are read to
their end, so a restart does not publish them again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import structlog

from streams.consumer import EventConsumer
from streams.events.codec import Codec
from streams.events.model import Event
from streams.lineage.core import STAGE, LineageConfig, LineageState, observe
from streams.lineage.models import EventRetracted, RedactionRequested
from streams.lineage.stage import SOURCES
from streams.metrics import StageMetrics, served_from_env
from streams.producer import EventProducer
from streams.settings import Settings
from streams.tools.log_reader import LogReader
from streams.topics import LINEAGE_RETRACTIONS, full_name

log = structlog.get_logger(__name__)


@dataclass
class LineageReport:
    """What the service has done so far; ``caught_up`` while its last poll found nothing."""

    events: int = 0
    redactions: int = 0
    retractions: int = 0
    preloaded: int = 0
    dead_lettered: int = 0
    caught_up: bool = False


def _existing(settings: Settings, codec: Codec, topic: str) -> Iterator[Event]:
    """The events of ``topic`` up to its end when called. A message that is no event is passed
    over here and counted in the log (the main loop dead-letters it when it reads it)."""
    reader = LogReader(settings, [topic])
    for _where, event in reader.events(codec):
        yield event
    if reader.undecodable:
        log.warning("undecodable messages passed over while preloading", topic=topic,
                    messages=len(reader.undecodable), first=str(reader.undecodable[0]))


def run_lineage_service(settings: Settings, codec: Codec, config: LineageConfig, *,
                        idle_timeout: float | None = None, stop: threading.Event | None = None,
                        report: LineageReport | None = None) -> LineageReport:
    """Propagate redactions until idle for ``idle_timeout`` seconds once caught up (see
    ``EventConsumer.drained``), or forever, or until ``stop``.

    ``report`` is updated as the service goes, for a caller watching it from another thread.
    """
    state = LineageState()
    report = report if report is not None else LineageReport()
    for event in _existing(settings, codec, full_name(LINEAGE_RETRACTIONS,
                                                       settings.topic_prefix)):
        observe(state, event, config)
        report.preloaded += 1
    producer = EventProducer(settings, codec)
    topics = [full_name(spec, settings.topic_prefix) for spec in SOURCES]
    stop = stop or threading.Event()
    idle_since = time.monotonic()
    # A fresh group every start: the state is rebuilt from the beginning of the log each time.
    metrics = StageMetrics(STAGE)
    with EventConsumer(settings, codec, topics, f"{settings.topic_prefix}lineage-{uuid.uuid4()}",
                       config={"enable.auto.commit": "false"}, deadletter=producer
                       ) as consumer, served_from_env(consumer.assigned):
        while not stop.is_set():
            for batch in consumer.batches(max_size=2000, poll_timeout=0.5, idle_timeout=0):
                report.caught_up = False
                produced = 0
                with metrics.processing.time():
                    for consumed in batch.events:
                        report.events += 1
                        report.redactions += isinstance(consumed.event, RedactionRequested)
                        for output in observe(state, consumed.event, config):
                            producer.send(output)
                            produced += 1
                            report.retractions += isinstance(output, EventRetracted)
                    producer.flush()
                report.dead_lettered = consumer.dead_lettered
                metrics.batch(consumed=len(batch.events), produced=produced, lag=consumer.lag(),
                              dead_lettered=consumer.dead_lettered)
                idle_since = time.monotonic()
                if stop.is_set():
                    break
            # Caught up: assigned, and read to the end its fetches report (a poll that returned
            # only errors is not a reason to think otherwise).
            report.caught_up = consumer.caught_up()
            if idle_timeout is not None and consumer.drained(time.monotonic() - idle_since,
                                                             idle_timeout):
                break
    producer.close()
    log.info("lineage stopped", events=report.events, retractions=report.retractions)
    return report
