"""Every service rides out a minute without the broker: nothing lost, nothing twice, no exit.

The test stops Kafka under a running ``crowdlog worker`` and crowd service, so it runs a broker
of its own (the shared one serves the other tests): ``infra/kafka/kafka.sh`` with its own state
directory and ports, stopped as an operator or a host shutdown stops it (SIGTERM) and started
again on the same data. The figures it prints are the time from the broker's return to the
first new submission and the first new decision: how long the services take to notice (about
the worker group's session timeout, 10 s: the restarted broker waits that long for the members
it knew before it gives their partitions out again).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from streams.admin import create_topics
from streams.codecs import default_codec
from streams.events.deadletter import MessageDeadLettered
from streams.producer import EventProducer
from streams.records.models import RecordReceived
from streams.settings import Settings
from streams.tools.log_reader import watermarks
from streams.topics import CONSENSUS_RESULTS, TASKS_ASSIGNMENTS, TASKS_HITS, TopicSpec, full_name
from streams.world.files import write_world
from streams.world.generate import generate_world
from streams.world.model import WorldConfig
from tests.factories import record
from tests.integration.processes import (
    check_hits_answered_as_asked,
    crowd_running,
    diagnosis,
    ingest,
    read_all,
    worker,
    worker_env,
    written,
)
from tests.integration.test_crowd_pipeline import _check_no_decision_lost_or_duplicated

ROOT = Path(__file__).resolve().parents[2]
OUTAGE = 60.0
STEP = 40.0  # simulated seconds per crowd step: a third of the steps, and of the run's time


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateKafka:
    """A broker of one test (``kafka.sh`` on its own ports and state), stopped at will."""

    def __init__(self, state: Path) -> None:
        port = _free_port()
        controller = _free_port()
        while controller == port:
            controller = _free_port()
        # Without KAFKA_BOOTSTRAP_SERVERS: set, it tells kafka.sh to use that cluster instead.
        self._env = {**{k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"},
                     "CROWDLOG_STATE_DIR": str(state), "CROWDLOG_KAFKA_PORT": str(port),
                     "CROWDLOG_KAFKA_CONTROLLER_PORT": str(controller)}
        self.bootstrap = f"127.0.0.1:{port}"

    def _run(self, *args: str) -> str:
        done = subprocess.run(["bash", str(ROOT / "infra/kafka/kafka.sh"), *args], cwd=ROOT,
                              env=self._env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"kafka.sh {' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}")
        return done.stdout

    def up(self) -> None:
        """Start (or start again) and wait until it serves clients."""
        assert f"KAFKA_BOOTSTRAP_SERVERS={self.bootstrap}" in self._run("up")

    def down(self, *, purge: bool = False) -> None:
        self._run("down", *(["--purge"] if purge else []))


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[PrivateKafka]:
    kafka = PrivateKafka(tmp_path / "kafka")
    try:
        kafka.up()
        yield kafka
    finally:
        kafka.down(purge=True)


def _publish(settings: Settings, records: list[RecordReceived]) -> None:
    with EventProducer(settings, default_codec()) as producer:
        for record in records:
            producer.send(record)


def _newest_write(settings: Settings, spec: TopicSpec) -> datetime | None:
    """When the newest message on ``spec`` was written (the latest over its partitions)."""
    topic = full_name(spec, settings.topic_prefix)
    probe = Consumer({**settings.kafka_config(), "group.id": f"newest-{uuid.uuid4().hex}",
                      "enable.auto.commit": False})
    try:
        bounds, _missing = watermarks(probe, [topic])
        last = [TopicPartition(topic, p, high - 1) for (_t, p), (low, high) in bounds.items()
                if high > low]
        probe.assign(last)
        stamps: list[int] = []
        deadline = time.monotonic() + 10
        while len(stamps) < len(last) and time.monotonic() < deadline:
            stamps += [m.timestamp()[1] for m in probe.consume(len(last), 1.0)
                       if m.error() is None]
        return datetime.fromtimestamp(max(stamps) / 1000, UTC) if stamps else None
    finally:
        probe.close()


def _first_writes(settings: Settings, specs: tuple[TopicSpec, ...], since: datetime,
                  timeout: float) -> dict[str, float]:
    """Seconds from ``since`` until each of ``specs`` had a message written after it (by topic
    name; a topic that had none within ``timeout`` is left out)."""
    first: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(first) < len(specs) and time.monotonic() < deadline:
        for spec in specs:
            newest = _newest_write(settings, spec)
            if spec.name not in first and newest is not None and newest >= since:
                first[spec.name] = (datetime.now(UTC) - since).total_seconds()
        time.sleep(0.5)
    return first


@pytest.mark.long(140)
def test_every_service_rides_out_a_minute_without_the_broker(
        private_kafka: PrivateKafka, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Every client of this process logs each refused connection of the outage, thousands of
    # lines that say nothing the assertions do not; the worker's own log is kept.
    caplog.set_level(logging.CRITICAL, logger="librdkafka")
    settings = Settings(bootstrap_servers=private_kafka.bootstrap, instance="pytest",
                        topic_prefix=f"outage-{uuid.uuid4().hex[:8]}.")
    create_topics(settings)
    world = generate_world(WorldConfig(athletes=60, seed=11, workers=60))
    world_dir = tmp_path / "world"
    write_world(world, world_dir)
    log = tmp_path / "worker.log"
    started = time.monotonic()
    with worker(worker_env(settings, tmp_path / "state", world_dir, "quorum"), log) as process:
        ingest(settings, world)
        with crowd_running(settings, world, step_seconds=STEP) as crowd:
            deadline = time.monotonic() + 120
            while (time.monotonic() < deadline and crowd.is_alive()
                   and written(settings, CONSENSUS_RESULTS) < 20):
                time.sleep(0.5)
            assert crowd.is_alive(), diagnosis(settings, log, crowd)
            private_kafka.down()
            gone = time.monotonic()
            while (time.monotonic() - gone < OUTAGE and process.poll() is None
                   and crowd.error is None):
                time.sleep(1.0)
            assert process.poll() is None, f"the worker exited ({process.returncode}) " \
                f"without the broker:\n{log.read_text(errors='replace')[-3000:]}"
            assert crowd.error is None, f"the crowd died without the broker:\n{crowd.error}"
            private_kafka.up()
            back = datetime.now(UTC)
            recovery = _first_writes(settings, (TASKS_ASSIGNMENTS, CONSENSUS_RESULTS), back,
                                     timeout=120)
            crowd.join(300)
            assert crowd.summary is not None and crowd.summary.finished, \
                diagnosis(settings, log, crowd)
        events = read_all(settings)
        # records.received has been quiet since the start: the worker reads it again too
        quiet = datetime.now(UTC)
        _publish(settings, [record(ref="after-the-outage")])
        later = _first_writes(settings, (TASKS_HITS,), quiet, timeout=60)
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
    _check_no_decision_lost_or_duplicated(events)
    check_hits_answered_as_asked(events)
    print(f"outage {OUTAGE:.0f} s; after the broker's return, the first submission came after "
          f"{recovery.get(TASKS_ASSIGNMENTS.name, float('inf')):.1f} s and the first decision "
          f"after {recovery.get(CONSENSUS_RESULTS.name, float('inf')):.1f} s; a record after "
          f"the run had its HIT after {later.get(TASKS_HITS.name, float('inf')):.1f} s; "
          f"{crowd.summary.submitted} submissions in {crowd.summary.steps} steps, "
          f"{len(events)} events; "
          f"{time.monotonic() - started:.0f} s in all")
    assert len(recovery) == 2 and len(later) == 1
    letters = [e for e in events if isinstance(e, MessageDeadLettered)]
    assert not letters, [(e.source_topic, e.error, e.reason) for e in letters]
