"""Every worker's latest model and block, read from ``workers.quality`` by every consensus process.

Consensus runs per record but needs every worker's weight, and worker statistics are
partitioned by worker: this view is the bridge, a global table in the Kafka Streams sense. It
reads all partitions of ``workers.quality`` from the beginning, without a consumer group, on a
background thread, so a restarted process rebuilds it from the log and several consensus
processes each see all workers. Models are parsed lazily, when consensus first asks after an
update.

It reads ``lineage.retractions`` too: a block whose ``WorkerBlocked`` was retracted no longer
holds, and a retracted estimate that is still a worker's latest is not used (the quality stage
publishes a new one when it retracts; meanwhile consensus weighs the worker with the prior).
The two topics are read in no joint order, so a retraction may come before the event it
withdraws: the retracted ids are remembered and such an event is ignored when it arrives.

The view commits how far it has read, on both topics, under ``position_group`` (never reading
from there: it always starts from the beginning), so an operator, or the crowd simulator, can
see whether consensus already knows the latest worker estimates.

``wait_ready`` blocks until the view has read what both topics held when it started: consensus
that ran before would weigh every worker with the prior and decide differently than it will
after a restart.

The view is advisory and dead-letters nothing (the topics' own consumers do): a message it
cannot use, whatever the reason (a null value, bytes that are not an event, an event that
``apply`` cannot fold), is counted in ``skipped``, logged with its coordinates and passed over,
so nothing a message holds ends the thread; a schema registry out of reach is waited for. A
model that does not parse is treated as absent (the worker is weighed with the prior) instead
of failing consensus.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import structlog
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from streams.consensus.inference import WorkerModel
from streams.events.codec import Codec
from streams.events.errors import RegistryUnavailable
from streams.kafka import clients
from streams.kafka.errors import checked
from streams.lineage.models import EventRetracted
from streams.settings import Settings
from streams.tools.log_reader import Coordinates, decode_value, describe, watermarks
from streams.topics import LINEAGE_RETRACTIONS, WORKERS_QUALITY, full_name
from streams.workers.models import WorkerBlocked, WorkerQualityEstimated
from streams.workers.quality import worker_of

log = structlog.get_logger(__name__)

REGISTRY_RETRY_SECONDS = 1.0

# The retracted events the view holds something of.
FOLLOWED = frozenset((WorkerBlocked.schema_name, WorkerQualityEstimated.schema_name))


class QualityView:
    """A ``WorkerView`` kept current by a daemon thread; ``start`` once, ``stop`` at shutdown."""

    def __init__(self, settings: Settings, codec: Codec, position_group: str) -> None:
        self._settings = settings
        self._codec = codec
        self._position_group = position_group
        self._raw: dict[str, str] = {}
        self._latest: dict[str, str] = {}  # worker -> id of the estimate in ``_raw``
        self._parsed: dict[str, WorkerModel] = {}
        self._blocks: dict[str, set[str]] = {}  # worker -> ids of the live WorkerBlocked
        self._retracted: set[str] = set()
        self.skipped = 0  # messages passed over: not events, or events ``apply`` refused
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="quality-view", daemon=True)
        self._position = _Position()

    def model(self, worker_id: str) -> WorkerModel | None:
        """The worker's latest model, or None (the prior) when there is none that parses."""
        parsed = self._parsed.get(worker_id)
        raw = self._raw.get(worker_id)
        if parsed is None and raw is not None:
            try:
                parsed = WorkerModel.from_dict(json.loads(raw))
            except (ValueError, TypeError, AttributeError) as exc:
                log.warning("worker model does not parse; the worker is weighed with the prior",
                            worker=worker_id, estimate=self._latest.get(worker_id),
                            reason=describe(exc))
                self._raw.pop(worker_id, None)
                return None
            self._parsed[worker_id] = parsed
        return parsed

    def blocked(self, worker_id: str) -> bool:
        return bool(self._blocks.get(worker_id))

    def start(self) -> None:
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """Whether the view caught up with the log as it was at start within ``timeout``."""
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def apply(self, event: Any) -> None:
        """Fold one quality event or retraction into the view (the thread calls it; so can
        tests)."""
        if isinstance(event, EventRetracted):
            self._retract(event)
        elif event.event_id in self._retracted:
            return  # withdrawn before it arrived
        elif isinstance(event, WorkerQualityEstimated):
            self._latest[event.worker_id] = event.event_id
            self._raw[event.worker_id] = event.model
            self._parsed.pop(event.worker_id, None)
        elif isinstance(event, WorkerBlocked):
            self._blocks.setdefault(event.worker_id, set()).add(event.event_id)

    def _retract(self, retraction: EventRetracted) -> None:
        if retraction.retracted_type not in FOLLOWED:
            return
        gone, worker_id = retraction.retracted_id, worker_of(retraction.entity_id)
        self._retracted.add(gone)
        if worker_id is None:
            return
        self._blocks.get(worker_id, set()).discard(gone)
        if self._latest.get(worker_id) == gone:
            del self._latest[worker_id]
            self._raw.pop(worker_id, None)
            self._parsed.pop(worker_id, None)

    def _run(self) -> None:
        specs = (WORKERS_QUALITY, LINEAGE_RETRACTIONS)
        consumer = clients.consumer(self._settings, self._position_group,
                                    {"enable.auto.commit": False,
                                     "on_commit": self._position.on_commit})
        try:
            topics = [full_name(spec, self._settings.topic_prefix) for spec in specs]
            bounds, _missing = watermarks(consumer, topics)
            behind = {tp: high for tp, (low, high) in bounds.items() if high > low}
            consumer.assign([TopicPartition(full_name(spec, self._settings.topic_prefix), p,
                                            OFFSET_BEGINNING)
                             for spec in specs for p in range(spec.partitions)])
            while not self._stop.is_set():
                if not behind:
                    self._ready.set()
                read: dict[tuple[str, int], int] = {}
                for message in consumer.consume(500, timeout=0.2):
                    topic, partition, offset = (message.topic(), message.partition(),
                                                message.offset())
                    if (checked(message) is not None or topic is None or partition is None
                            or offset is None):
                        continue
                    read[(topic, partition)] = offset + 1
                    if offset + 1 >= behind.get((topic, partition), offset + 2):
                        del behind[(topic, partition)]
                    self._take(message, Coordinates(topic, partition, offset))
                self._position.save(consumer, read)
        finally:
            consumer.close()

    def _take(self, message: Message, where: Coordinates) -> None:
        """Fold one message in, or count and log it when it cannot be (see the module docs).

        A schema registry out of reach says nothing about the message: it is asked again
        (until ``stop``) rather than passed over, which would weigh a worker with the prior.
        """
        while True:
            try:
                _schema, event = decode_value(self._codec, message.value())
                self.apply(event)
            except RegistryUnavailable as exc:
                log.warning("quality view waits for the schema registry", where=str(where),
                            reason=str(exc))
                if self._stop.wait(REGISTRY_RETRY_SECONDS):
                    return
                continue
            except Exception as exc:  # advisory: the topic's own consumers dead-letter it
                self.skipped += 1
                log.warning("quality view passed over a message", where=str(where),
                            reason=describe(exc))
            return


class _Position:
    """How far the view has read, committed under its position group until the broker confirms
    it, partition by partition.

    A position counts as committed only when librdkafka's commit callback reports it without an
    error, for the commit as a whole and for that partition. Until then it is committed again,
    on the next round with something new read, or at most once every ``RETRY_SECONDS`` with
    nothing new: a commit lost in an outage (refused at once, failed when answered, or failed
    for one partition only) would otherwise leave the position behind for good, and the crowd
    simulator, which waits for the view to reach the end of ``workers.quality``, would wait
    forever (broker-outage runs: lag 40, and once 142, for six minutes).
    """

    RETRY_SECONDS = 1.0

    def __init__(self) -> None:
        self._read: dict[tuple[str, int], int] = {}
        self._confirmed: dict[tuple[str, int], int] = {}
        self._tried = float("-inf")

    def save(self, consumer: Consumer, read: dict[tuple[str, int], int],
             now: float | None = None) -> None:
        """Record ``read`` and commit every partition whose position is not confirmed yet."""
        self._read.update(read)
        pending = [TopicPartition(t, p, o) for (t, p), o in self._read.items()
                   if self._confirmed.get((t, p)) != o]
        now = time.monotonic() if now is None else now
        if not pending or (not read and now - self._tried < self.RETRY_SECONDS):
            return
        self._tried = now
        try:
            consumer.commit(offsets=pending, asynchronous=True)
        except KafkaException as exc:
            log.warning("quality view could not record its position; trying again",
                        error=str(exc))

    def on_commit(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """librdkafka's answer to a commit (served while the view polls): what it confirms."""
        if error is not None:
            return
        for tp in partitions:
            if tp.error is None and tp.offset >= 0:
                self._confirmed[(tp.topic, tp.partition)] = tp.offset
