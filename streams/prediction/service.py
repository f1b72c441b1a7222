"""The prediction stage as a service: one consumer loop around its declaration
(``streams.prediction.stage``: its sources, and its step over the pure core), with snapshots.

The model is global (every outcome teaches it about every athlete), so it cannot live in a
partitioned Faust table; it lives in this process and is saved as a snapshot together with the
log position it reflects (the next offset of every partition read). On start the latest good
snapshot is restored (``SnapshotStore``: signed, checked, written atomically) and reading
resumes exactly there, so a restarted service neither loses nor double-learns an outcome.
Snapshots are kept as a history (``keep`` of them), so a model can later be rebuilt from one
taken before a given point of the log.

The service also reads ``lineage.retractions``. When a batch has retracted outcomes the model
had learned, the model is rebuilt at the end of that batch (once, however many were retracted):
the newest kept snapshot that learned none of the retracted outcomes is restored (a fresh model
when none did), ``prediction.outcomes`` is read again from that snapshot's position up to the
position the live state reflects, with a ``LogReader`` (no group, nothing written), and the
pure ``core.rebuild`` replays it without the retracted outcomes; then every athlete is
predicted again and a snapshot of the rebuilt state is saved.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from streams.consumer import EventConsumer
from streams.events.codec import Codec
from streams.events.errors import EventFormatError
from streams.metrics import MODEL_ERROR, StageMetrics, served_from_env
from streams.prediction import core, snapshots
from streams.prediction.core import STAGE, PredictionConfig, PredictionState
from streams.prediction.models import ModelEvaluated, PageViewsObserved, PageViewsPredicted
from streams.prediction.snapshots import SnapshotError
from streams.prediction.stage import prediction_stage
from streams.producer import EventProducer
from streams.settings import Settings
from streams.tools.log_reader import LogReader, PartitionRange, describe
from streams.topics import PREDICTION_OUTCOMES, full_name

log = structlog.get_logger(__name__)

Snapshot = tuple[PredictionState, dict[Any, int]]


class SnapshotStore:
    """Signed snapshots as files ``<outcomes>-<sequence>.snapshot``, written atomically.

    Their order is the sequence number, not the name: a rebuilt model has learned fewer
    outcomes than the snapshots taken before its rebuild.

    A file that fails its checks (``core.PredictionState.restore``: signature, format, types)
    or cannot be read is skipped with one warning naming it and why, and the next older one is
    tried: a snapshot torn by a disk fault, forged, or written by another version never stops
    the service, it only costs re-reading the log from an older position (or from the
    beginning when none is good), which re-derives the same events.
    """

    _NAME = re.compile(r"\d+-(\d+)\.snapshot")
    _PARTIAL = ".partial"

    def __init__(self, directory: Path, key: bytes, keep: int = 20) -> None:
        self._directory = directory
        self._key = key
        self._keep = keep
        self._rejected: set[Path] = set()  # warned about once, then passed over
        directory.mkdir(parents=True, exist_ok=True)
        # A crash between writing and renaming leaves one of these; it was never a snapshot.
        for partial in directory.glob(f".*{self._PARTIAL}"):
            partial.unlink()

    def files(self) -> list[Path]:
        """Every kept snapshot, oldest first."""
        return [path for _, path in self._numbered()]

    def _numbered(self) -> list[tuple[int, Path]]:
        """The snapshots with their sequence numbers, in order; names not ours are left alone."""
        return sorted((int(match[1]), path) for path in self._directory.glob("*.snapshot")
                      if (match := self._NAME.fullmatch(path.name)))

    def latest(self) -> Snapshot | None:
        """The newest good snapshot, or None: start from the beginning of the log."""
        return self.newest(lambda _state, _position: True)

    def newest(self, usable: Callable[[PredictionState, dict[Any, int]], bool]) -> Snapshot | None:
        """The newest good snapshot (state, position) that ``usable`` accepts, or None."""
        for path in reversed(self.files()):
            loaded = self._load(path)
            if loaded is not None and usable(*loaded):
                return loaded
        return None

    def _load(self, path: Path) -> Snapshot | None:
        if path in self._rejected:
            return None
        try:
            return PredictionState.restore(path.read_bytes(), self._key)
        except (OSError, SnapshotError) as error:
            self._rejected.add(path)
            log.warning("prediction snapshot skipped", file=str(path), reason=str(error))
            return None

    def save(self, state: PredictionState, position: dict[Any, int]) -> Path:
        """Write the snapshot so that a crash at any point leaves the previous ones intact.

        The bytes go to a temporary file in the same directory, are flushed to the disk, and
        only then renamed over the final name (atomic within a file system); the directory is
        flushed too, so the rename itself survives a power cut.
        """
        numbered = self._numbered()
        kept = [path for _, path in numbered]
        sequence = numbered[-1][0] + 1 if numbered else 0
        path = self._directory / f"{state.outcomes:09d}-{sequence:09d}.snapshot"
        temporary = self._directory / f".{path.name}{self._PARTIAL}"
        try:
            with temporary.open("wb") as out:
                out.write(state.snapshot(position, self._key))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        directory = os.open(self._directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        for old in [*kept, path][:-self._keep]:
            old.unlink()
            self._rejected.discard(old)
        return path


@dataclass
class PredictionReport:
    """What one run of the service did."""

    events: int = 0
    predictions: int = 0
    evaluations: int = 0
    snapshots: int = 0
    restored_outcomes: int | None = None
    rebuilds: int = 0
    dead_lettered: int = 0


def run_prediction_service(settings: Settings, codec: Codec, config: PredictionConfig, *,
                           snapshot_dir: Path, snapshot_seconds: float = 10.0,
                           idle_timeout: float | None = None,
                           stop: threading.Event | None = None) -> PredictionReport:
    """Predict and learn until idle for ``idle_timeout`` seconds once caught up (see
    ``EventConsumer.drained``), or forever, or until ``stop``."""
    key, key_source = snapshots.load_key(snapshots.default_key_file())
    log.info("prediction snapshots signed", key_from=key_source)  # where from, never the key
    store = SnapshotStore(snapshot_dir, key)
    report = PredictionReport()
    restored = store.latest()
    state, position = restored or (PredictionState.fresh(config), {})
    if restored:
        report.restored_outcomes = state.outcomes
        log.info("prediction snapshot restored", outcomes=state.outcomes)
    producer = EventProducer(settings, codec)
    stage = prediction_stage(state, config)  # rebuilds change ``state`` in place
    topics = [full_name(spec, settings.topic_prefix) for spec in stage.sources]
    saved_at = idle_since = time.monotonic()
    stop = stop or threading.Event()

    def rebuild() -> None:
        _rebuild(state, position, settings=settings, codec=codec, config=config, store=store,
                 producer=producer, report=report)

    if state.needs_rebuild:  # a snapshot saved between a retraction and its rebuild
        rebuild()
    metrics = StageMetrics(STAGE)
    with EventConsumer(settings, codec, topics, group_id=f"{settings.topic_prefix}prediction",
                       start_offsets=lambda _assigned: dict(position),
                       deadletter=producer) as consumer, served_from_env(consumer.assigned):
        while not stop.is_set():
            # Drain what is there, then look at the clock: stop, snapshot and idleness are
            # checked between polls even when nothing arrives.
            for batch in consumer.batches(max_size=500, poll_timeout=0.5, idle_timeout=0):
                produced = 0
                with metrics.processing.time():
                    for consumed in batch.events:
                        for output in stage.step(STAGE, None, consumed.event)[1]:
                            producer.send(output)
                            produced += 1
                            report.predictions += isinstance(output, PageViewsPredicted)
                            report.evaluations += isinstance(output, ModelEvaluated)
                            if isinstance(output, ModelEvaluated):
                                MODEL_ERROR.labels(output.model, "mae").set(output.mae)
                                MODEL_ERROR.labels(output.model, "mae_log").set(output.mae_log)
                        report.events += 1
                position.update(batch.positions)
                report.dead_lettered = consumer.dead_lettered
                metrics.batch(consumed=len(batch.events), produced=produced, lag=consumer.lag(),
                              dead_lettered=consumer.dead_lettered)
                if state.needs_rebuild:
                    rebuild()
                    saved_at = time.monotonic()
                idle_since = time.monotonic()
                if stop.is_set():
                    break
            if time.monotonic() - saved_at >= snapshot_seconds:
                _snapshot(producer, store, state, position, report)
                saved_at = time.monotonic()
            if idle_timeout is not None and consumer.drained(time.monotonic() - idle_since,
                                                             idle_timeout):
                break
        _snapshot(producer, store, state, position, report)
    return report


def _rebuild(state: PredictionState, position: dict[Any, int], *, settings: Settings,
             codec: Codec, config: PredictionConfig, store: SnapshotStore,
             producer: EventProducer, report: PredictionReport) -> None:
    """Rebuild the model without the retracted outcomes (see ``core.rebuild``), re-predict
    every athlete, and save the rebuilt state."""
    key = (full_name(PREDICTION_OUTCOMES, settings.topic_prefix), 0)
    end = position.get(key, 0)
    found = store.newest(lambda snapshot, at: core.predates(snapshot, state)
                         and at.get(key, 0) <= end)
    base, start = (found[0], found[1].get(key, 0)) if found else (None, 0)
    removed = len(state.unlearn)
    outcomes = list(read_outcomes(settings, codec, key[0], start, end))
    for output in core.rebuild(state, base, outcomes, config):
        producer.send(output)
        report.predictions += 1
    report.rebuilds += 1
    log.info("prediction model rebuilt", removed=removed, snapshot=found is not None,
             replayed_from=start, replayed_to=end, outcomes=state.outcomes)
    _snapshot(producer, store, state, position, report)


def read_outcomes(settings: Settings, codec: Codec, topic: str, start: int, end: int, *,
                  timeout: float = 60.0) -> Iterator[PageViewsObserved]:
    """The outcomes at offsets ``start`` up to (excluding) ``end`` of partition 0, in order.

    Read with a ``LogReader``: no group, nothing committed, the live consumer's position
    untouched. Undecodable messages are skipped (the live consumer dead-letters them). Raises
    ``TimeoutError`` when the range stops arriving for ``timeout`` seconds before its end: a
    model rebuilt from part of it would be wrong.
    """
    reader = LogReader(settings, [topic], idle_timeout=timeout)
    for where, item in reader.decoded(codec, [PartitionRange(topic, 0, start, end)]):
        if isinstance(item, EventFormatError):
            log.info("undecodable outcome passed over in a rebuild (dead-lettered when first "
                     "read)", where=str(where), reason=describe(item))
        elif isinstance(item, PageViewsObserved):
            yield item
    if reader.incomplete:
        raise TimeoutError(f"could not read {topic} from {start} to {end}: nothing for "
                           f"{timeout:g}s")


def _snapshot(producer: EventProducer, store: SnapshotStore, state: PredictionState,
              position: dict[Any, int], report: PredictionReport) -> None:
    """Save only once the outputs up to ``position`` are on the log: nothing lost on a crash."""
    producer.flush()
    store.save(state, position)
    report.snapshots += 1
