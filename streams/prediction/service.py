"""The prediction stage as a service: one consumer loop around the pure core, with snapshots.

The model is global (every outcome teaches it about every athlete), so it cannot live in a
partitioned Faust table; it lives in this process and is saved as a snapshot together with the
log position it reflects (the next offset of every partition read). On start the latest
snapshot is restored and reading resumes exactly there, so a restarted service neither loses
nor double-learns an outcome. Snapshots are kept as a history (``keep`` of them), so a model
can later be rebuilt from one taken before a given point of the log.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from streams.consumer import EventConsumer
from streams.events.codec import Codec
from streams.prediction import core
from streams.prediction.core import PredictionConfig, PredictionState
from streams.prediction.models import ModelEvaluated, PageViewsPredicted
from streams.producer import EventProducer
from streams.settings import Settings
from streams.topics import ENRICHMENT_PROFILES, PREDICTION_OUTCOMES, RECORDS_RECEIVED, full_name

log = structlog.get_logger(__name__)

_INPUTS = (RECORDS_RECEIVED, ENRICHMENT_PROFILES, PREDICTION_OUTCOMES)


class SnapshotStore:
    """Snapshots as files ``<outcomes>-<sequence>.snapshot``, written atomically."""

    def __init__(self, directory: Path, keep: int = 20) -> None:
        self._directory = directory
        self._keep = keep
        directory.mkdir(parents=True, exist_ok=True)

    def files(self) -> list[Path]:
        """Every kept snapshot, oldest first."""
        return sorted(self._directory.glob("*.snapshot"))

    def latest(self) -> tuple[PredictionState, dict[Any, int]] | None:
        files = self.files()
        return PredictionState.restore(files[-1].read_bytes()) if files else None

    def save(self, state: PredictionState, position: dict[Any, int]) -> Path:
        kept = self.files()
        sequence = int(kept[-1].stem.split("-")[1]) + 1 if kept else 0
        path = self._directory / f"{state.outcomes:09d}-{sequence:09d}.snapshot"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(state.snapshot(position))
        os.replace(temporary, path)
        for old in [*kept, path][:-self._keep]:
            old.unlink()
        return path


@dataclass
class PredictionReport:
    """What one run of the service did."""

    events: int = 0
    predictions: int = 0
    evaluations: int = 0
    snapshots: int = 0
    restored_outcomes: int | None = None


def run_prediction_service(settings: Settings, codec: Codec, config: PredictionConfig, *,
                           snapshot_dir: Path, snapshot_seconds: float = 10.0,
                           idle_timeout: float | None = None,
                           stop: threading.Event | None = None) -> PredictionReport:
    """Predict and learn until idle for ``idle_timeout`` seconds (or forever), or ``stop``."""
    store = SnapshotStore(snapshot_dir)
    report = PredictionReport()
    restored = store.latest()
    state, position = restored or (PredictionState.fresh(config), {})
    if restored:
        report.restored_outcomes = state.outcomes
        log.info("prediction snapshot restored", outcomes=state.outcomes)
    producer = EventProducer(settings, codec)
    topics = [full_name(spec, settings.topic_prefix) for spec in _INPUTS]
    saved_at = idle_since = time.monotonic()
    stop = stop or threading.Event()
    with EventConsumer(settings, codec, topics, group_id=f"{settings.topic_prefix}prediction",
                       start_offsets=lambda _assigned: dict(position),
                       deadletter=producer) as consumer:
        while not stop.is_set():
            # Drain what is there, then look at the clock: stop, snapshot and idleness are
            # checked between polls even when nothing arrives.
            for batch in consumer.batches(max_size=500, poll_timeout=0.5, idle_timeout=0):
                for consumed in batch.events:
                    for output in core.handle(state, consumed.event, config):
                        producer.send(output)
                        report.predictions += isinstance(output, PageViewsPredicted)
                        report.evaluations += isinstance(output, ModelEvaluated)
                    report.events += 1
                position.update(batch.positions)
                idle_since = time.monotonic()
                if stop.is_set():
                    break
            if time.monotonic() - saved_at >= snapshot_seconds:
                _snapshot(producer, store, state, position, report)
                saved_at = time.monotonic()
            if idle_timeout is not None and time.monotonic() - idle_since >= idle_timeout:
                break
        _snapshot(producer, store, state, position, report)
    return report


def _snapshot(producer: EventProducer, store: SnapshotStore, state: PredictionState,
              position: dict[Any, int], report: PredictionReport) -> None:
    """Save only once the outputs up to ``position`` are on the log: nothing lost on a crash."""
    producer.flush()
    store.save(state, position)
    report.snapshots += 1
