"""Processes and readers the broker tests share: the Faust worker, the crowd, the log.

The worker runs as a real ``crowdlog worker`` process (so a test can SIGKILL it); the crowd
service runs on a daemon thread that always stops, so a stalled pipeline fails a test instead
of hanging the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import Consumer

from streams.codecs import default_codec
from streams.events.codec import Codec
from streams.events.model import Event
from streams.lineage.core import LineageConfig
from streams.lineage.service import LineageReport, run_lineage_service
from streams.producer import EventProducer
from streams.settings import Settings
from streams.simulation.convert import provider_records
from streams.simulation.service import CrowdSummary, PipelineProgress, run_crowd_service
from streams.tasks.models import AssignmentSubmitted, HitExtended, HitPublished
from streams.tools.log_reader import Coordinates, LogReader, watermarks
from streams.topics import CATALOGUE, TopicSpec, full_name
from streams.world.model import World

ROOT = Path(__file__).resolve().parents[2]


def worker_env(settings: Settings, state_dir: Path, world_dir: Path,
                method: str) -> dict[str, str]:
    return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "CROWDLOG_TOPIC_PREFIX": settings.topic_prefix, "CROWDLOG_STATE_DIR": str(state_dir),
            "CROWDLOG_GOLD_FILE": str(world_dir / "gold.csv"),
            "CROWDLOG_CONSENSUS_METHOD": method, "CROWDLOG_LOG_LEVEL": "warning"}


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "warn"], cwd=ROOT,
            env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def ingest(settings: Settings, world: World) -> int:
    producer = EventProducer(settings, default_codec())
    count = 0
    for record in provider_records(world):
        producer.send(record)
        count += 1
    producer.flush()
    return count


def written(settings: Settings, spec: TopicSpec) -> int:
    """Messages on the catalogue topic ``spec`` so far (its partitions' end offsets)."""
    probe = Consumer({**settings.kafka_config(), "group.id": f"written-{uuid.uuid4().hex}"})
    try:
        bounds, _missing = watermarks(probe, [full_name(spec, settings.topic_prefix)])
        return sum(high for _low, high in bounds.values())
    finally:
        probe.close()


def check_hits_answered_as_asked(events: list[Event]) -> None:
    """No HIT got more assignments than it asked for, and every HIT asked for more got some of
    them: a crowd that stopped hearing the pipeline (or finished before it heard an extension)
    leaves an extension unanswered."""
    first: dict[str, int] = {}
    asked = Counter[str]()
    for event in {e.event_id: e for e in events}.values():  # an event read twice counts once
        if isinstance(event, HitPublished):
            first[event.hit_id] = event.max_assignments
            asked[event.hit_id] += event.max_assignments
        elif isinstance(event, HitExtended):
            asked[event.hit_id] += event.additional_assignments
    answered = Counter(e.hit_id for e in events if isinstance(e, AssignmentSubmitted))
    over = {hit: (answered[hit], asked[hit]) for hit in answered if answered[hit] > asked[hit]}
    assert not over, f"HITs answered more often than asked (answered, asked): {over}"
    unheard = [hit for hit in asked if asked[hit] > first[hit] and answered[hit] <= first[hit]]
    assert not unheard, f"extended HITs that got none of their extra assignments: {unheard}"


def read_log(settings: Settings, specs: Sequence[TopicSpec] = CATALOGUE,
             codec: Codec | None = None) -> list[tuple[Coordinates, Event]]:
    """Every event of ``specs``' topics up to their end offsets when called, partition by
    partition in log order, with where each is.

    The read ends at offsets, not after a quiet spell: a consumer that stops when nothing
    arrives for a few seconds returns part of the log on a busy machine, and a test then
    compares against a fraction. A partition that stops short of its end fails the test.
    """
    reader = LogReader(settings, [full_name(spec, settings.topic_prefix) for spec in specs],
                       idle_timeout=60.0)
    read = list(reader.events(codec or default_codec()))
    assert not reader.incomplete and not reader.missing_topics, reader.problems()
    return read


def read_all(settings: Settings) -> list[Event]:
    """Every event on the catalogue's topics up to their end offsets (see ``read_log``)."""
    return [event for _where, event in read_log(settings)]


class _ServiceThread(threading.Thread):
    """A service on a daemon thread that keeps the traceback it died of, for the diagnosis."""

    def __init__(self, name: str) -> None:
        super().__init__(daemon=True, name=name)
        self.stop = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        try:
            self.serve()
        except BaseException:
            self.error = traceback.format_exc()
            raise

    def serve(self) -> None:
        raise NotImplementedError


class _CrowdThread(_ServiceThread):
    """The crowd service; keeps its summary."""

    def __init__(self, settings: Settings, world: World, idle_steps: int,
                 step_seconds: float) -> None:
        super().__init__("crowd")
        self.summary: CrowdSummary | None = None
        self._settings, self._world, self._idle_steps = settings, world, idle_steps
        self._step_seconds = step_seconds

    def serve(self) -> None:
        self.summary = run_crowd_service(
            self._settings, default_codec(), self._world,
            pipeline_group=f"{self._settings.topic_prefix}crowdlog", stop=self.stop,
            idle_steps=self._idle_steps, step_seconds=self._step_seconds)


@contextmanager
def crowd_running(settings: Settings, world: World, *, until_stopped: bool = False,
                  step_seconds: float = 10.0) -> Iterator[_CrowdThread]:
    """Run the crowd service beside the test; however the test ends, the crowd stops too.

    ``until_stopped`` keeps it waiting for new HITs when it runs dry (HITs re-opened later),
    instead of finishing: the crowd's clock and memory then span the whole test. A longer
    ``step_seconds`` takes fewer, bigger steps (each waits for the pipeline): a shorter run, for
    a test that is not about the run's figures.
    """
    crowd = _CrowdThread(settings, world, idle_steps=10**9 if until_stopped else 3,
                         step_seconds=step_seconds)
    crowd.start()
    try:
        yield crowd
    finally:
        crowd.stop.set()
        crowd.join(60)


def wait_quiet(settings: Settings, *, lineage: LineageReport | None = None, quiet: float = 4.0,
               timeout: float = 180.0, watch: Sequence[_ServiceThread] = ()) -> bool:
    """Wait until nothing is written to any topic for ``quiet`` seconds, the worker's group has
    caught up and so has the lineage stage, if given: a redaction has then been propagated and
    followed by every stage. False at once if a ``watch``ed service has died."""
    progress = PipelineProgress(settings, f"{settings.topic_prefix}crowdlog")
    probe = Consumer({**settings.kafka_config(), "group.id": f"quiet-{uuid.uuid4().hex}"})
    topics = [full_name(spec, settings.topic_prefix) for spec in CATALOGUE]
    try:
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline and not any(s.error for s in watch):
            bounds, _missing = watermarks(probe, topics)  # a busy broker is asked again
            total = sum(high for _low, high in bounds.values())
            if total != last:
                last, since = total, time.monotonic()
            elif (time.monotonic() - since >= quiet and progress.lag() == 0
                  and (lineage is None or lineage.caught_up)):
                return True
            time.sleep(1.0)
        return False
    finally:
        probe.close()
        progress.close()


class _LineageThread(_ServiceThread):
    """The lineage stage (``crowdlog propagate``); keeps its report."""

    def __init__(self, settings: Settings, config: LineageConfig) -> None:
        super().__init__("lineage")
        self.report = LineageReport()
        self._settings, self._config = settings, config

    def serve(self) -> None:
        run_lineage_service(self._settings, default_codec(), self._config, stop=self.stop,
                            report=self.report)


@contextmanager
def lineage_running(settings: Settings,
                    config: LineageConfig | None = None) -> Iterator[_LineageThread]:
    lineage = _LineageThread(settings, config or LineageConfig(instance="pytest"))
    lineage.start()
    try:
        yield lineage
    finally:
        lineage.stop.set()
        lineage.join(60)


def diagnosis(settings: Settings, log: Path, *services: _ServiceThread) -> str:
    """What a failed broker run needs for a post-mortem: how the services beside the test died,
    if they did, where the live ones are waiting, the stages' lag and the end of the worker's
    log (CI shows only so much)."""
    progress = PipelineProgress(settings, f"{settings.topic_prefix}crowdlog")
    try:
        lag = progress.lag()
    finally:
        progress.close()
    died = [f"{service.name} died: {service.error}" for service in services if service.error]
    alive = [f"{service.name} alive: {service.is_alive()}" for service in services]
    frames = sys._current_frames()
    stuck = [f"{service.name} is at:\n{''.join(traceback.format_stack(frames[service.ident]))}"
             for service in services if service.ident in frames]
    tail = log.read_text(errors="replace").splitlines()[-30:]
    return "\n".join(["the pipeline did not settle", *died, *alive, *stuck,
                      f"pipeline lag {lag}", "worker log tail:", *tail])
