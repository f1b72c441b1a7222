"""Every worker's latest model and block, read from ``workers.quality`` by every consensus process.

Consensus runs per record but needs every worker's weight, and worker statistics are
partitioned by worker: this view is the bridge, a global table in the Kafka Streams sense. It
reads all partitions of ``workers.quality`` from the beginning, without a consumer group, on a
background thread, so a restarted process rebuilds it from the log and several consensus
processes each see all workers. Models are parsed lazily, when consensus first asks after an
update.

The view commits how far it has read under ``position_group`` (never reading from there: it
always starts from the beginning), so an operator, or the crowd simulator, can see whether
consensus already knows the latest worker estimates.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from streams.consensus.inference import WorkerModel
from streams.events.codec import Codec
from streams.events.errors import EventFormatError
from streams.settings import Settings
from streams.topics import WORKERS_QUALITY, full_name
from streams.workers.models import WorkerBlocked, WorkerQualityEstimated


class QualityView:
    """A ``WorkerView`` kept current by a daemon thread; ``start`` once, ``stop`` at shutdown."""

    def __init__(self, settings: Settings, codec: Codec, position_group: str) -> None:
        self._settings = settings
        self._codec = codec
        self._position_group = position_group
        self._raw: dict[str, str] = {}
        self._parsed: dict[str, WorkerModel] = {}
        self._blocked: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="quality-view", daemon=True)

    def model(self, worker_id: str) -> WorkerModel | None:
        parsed = self._parsed.get(worker_id)
        if parsed is None and worker_id in self._raw:
            parsed = WorkerModel.from_dict(json.loads(self._raw[worker_id]))
            self._parsed[worker_id] = parsed
        return parsed

    def blocked(self, worker_id: str) -> bool:
        return worker_id in self._blocked

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def apply(self, event: Any) -> None:
        """Fold one quality event into the view (the thread calls it; so can tests)."""
        if isinstance(event, WorkerQualityEstimated):
            self._raw[event.worker_id] = event.model
            self._parsed.pop(event.worker_id, None)
        elif isinstance(event, WorkerBlocked):
            self._blocked.add(event.worker_id)

    def _run(self) -> None:
        topic = full_name(WORKERS_QUALITY, self._settings.topic_prefix)
        consumer = Consumer({**self._settings.kafka_config(), "group.id": self._position_group,
                             "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        try:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING)
                             for p in range(WORKERS_QUALITY.partitions)])
            while not self._stop.is_set():
                read: dict[int, int] = {}
                for message in consumer.consume(500, timeout=0.2):
                    value, partition, offset = message.value(), message.partition(), \
                        message.offset()
                    if message.error() or value is None or partition is None or offset is None:
                        continue
                    read[partition] = offset + 1
                    try:
                        self.apply(self._codec.decode(value))
                    except EventFormatError:
                        continue  # advisory: the topic's own consumers dead-letter it
                if read:
                    consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in read.items()],
                                    asynchronous=True)
        finally:
            consumer.close()
