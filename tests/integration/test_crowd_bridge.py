"""`crowdlog crowd bridge --platform simulated` on the real broker: HITs out, submissions in,
and a SIGKILL part-way whose restart neither loses nor repeats an assignment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from streams.codecs import default_codec
from streams.events.model import Event
from streams.producer import EventProducer
from streams.settings import Settings
from streams.simulation.convert import provider_records
from streams.tasks import core as tasks
from streams.tasks.core import TaskConfig, TaskState
from streams.tasks.models import AssignmentSubmitted, HitPosted, HitPublished
from streams.tools.log_reader import LogReader
from streams.topics import TASKS_ASSIGNMENTS, TASKS_HITS, full_name
from streams.world.files import write_world
from streams.world.generate import generate_world
from streams.world.model import WorldConfig
from tests.integration.processes import ROOT, written

ASSIGNMENTS = 3
PATIENCE = 180.0  # only a stalled bridge takes this long; the test fails instead of hanging


def _bridge(settings: Settings, world_dir: Path, log: Path,
            *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "CROWDLOG_TOPIC_PREFIX": settings.topic_prefix, "CROWDLOG_LOG_FORMAT": "json"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "crowd", "bridge", "--platform", "simulated",
             "--world", str(world_dir), "--speed", "20", "--poll-seconds", "0.2", *extra],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _log(settings: Settings, *specs: object) -> list[Event]:
    reader = LogReader(settings, [full_name(spec, settings.topic_prefix)  # type: ignore[arg-type]
                                  for spec in specs])
    events = [event for _where, event in reader.events(default_codec())]
    assert not reader.incomplete and not reader.undecodable
    return events


def test_the_bridge_resumes_after_a_kill_without_losing_or_repeating(
        settings: Settings, tmp_path: Path) -> None:
    world = generate_world(WorldConfig(athletes=6, seed=4, workers=30))
    write_world(world, tmp_path / "world")
    hits: list[HitPublished] = []
    for record in provider_records(world):
        hits += tasks.on_record(TaskState(), record, TaskConfig(assignments=ASSIGNMENTS))
    with EventProducer(settings, default_codec()) as producer:
        for hit in hits:
            producer.send(hit)
    expected = ASSIGNMENTS * len(hits)
    log = tmp_path / "bridge.log"

    first = _bridge(settings, tmp_path / "world", log)
    try:
        _wait_for(lambda: written(settings, TASKS_ASSIGNMENTS) >= 2, "the first submissions")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    before = written(settings, TASKS_ASSIGNMENTS)
    assert before < expected, "the crowd finished before the kill: slow it down"

    second = _bridge(settings, tmp_path / "world", log, "--idle-timeout", "5")
    try:
        assert second.wait(PATIENCE) == 0, log.read_text()[-3000:]
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()

    events = _log(settings, TASKS_ASSIGNMENTS, TASKS_HITS)
    submitted = [e for e in events if isinstance(e, AssignmentSubmitted)]
    by_id = {e.event_id: e for e in submitted}
    assignment_ids = Counter(e.assignment_id for e in by_id.values())
    assert len(assignment_ids) == expected, f"{len(assignment_ids)} of {expected} assignments"
    assert set(assignment_ids.values()) == {1}  # no assignment under two event ids
    per_hit = Counter(e.hit_id for e in by_id.values())
    assert per_hit == dict.fromkeys((h.hit_id for h in hits), ASSIGNMENTS)
    workers = Counter((e.hit_id, e.worker_id) for e in by_id.values())
    assert set(workers.values()) == {1}  # nobody did a HIT twice
    assert all(e.meta.provenance.source == "crowd:simulated" for e in submitted)
    posted = {e.event_id: e for e in events if isinstance(e, HitPosted)}
    assert sorted(e.hit_id for e in posted.values()) == sorted(h.hit_id for h in hits)
    print(f"\n{before} submissions before the kill, {expected} assignments in the end, "
          f"{len(submitted)} messages for {len(by_id)} events")
    assert '"bridge stopped"' in log.read_text() or "bridge stopped" in log.read_text()
