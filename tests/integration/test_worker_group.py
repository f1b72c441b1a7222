"""Two workers in one group on the real broker: one leaves (SIGTERM), the other is killed.

The run must end with every field decided once and no duplicate live decision: the leaving
worker commits what it handled and leaves the group at once; the killed one's uncommitted input
is read again by its restart, and the repeats carry the same ids. The killed worker has a static
identity (CROWDLOG_GROUP_INSTANCE_ID), as a deployment that restarts it in place would give it:
its restart takes its partitions back at once instead of waiting out the session timeout (the
kill test in test_crowd_pipeline covers workers without one).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from streams.settings import Settings
from streams.topics import CONSENSUS_RESULTS, full_name
from tests.integration.processes import (
    crowd_running,
    diagnosis,
    ingest,
    read_all,
    worker,
    worker_env,
)
from tests.integration.test_crowd_pipeline import _check_no_decision_lost_or_duplicated, _world


def _decisions(settings: Settings) -> int:
    """Messages on ``consensus.results`` now."""
    consumer = Consumer({**settings.kafka_config(), "group.id": "probe"})
    try:
        topic = full_name(CONSENSUS_RESULTS, settings.topic_prefix)
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                   for p in range(CONSENSUS_RESULTS.partitions))
    finally:
        consumer.close()


def _wait_for_decisions(settings: Settings, at_least: int, timeout: float) -> float:
    """Seconds until ``consensus.results`` holds ``at_least`` messages (inf if never)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if _decisions(settings) >= at_least:
            return time.monotonic() - start
        time.sleep(0.5)
    return float("inf")


@pytest.mark.long(120)
def test_one_worker_leaving_and_one_killed_lose_and_duplicate_no_decision(
        settings: Settings, tmp_path: Path) -> None:
    world, world_dir = _world(tmp_path, athletes=150)
    env = worker_env(settings, tmp_path / "state", world_dir, "quorum")
    log = tmp_path / "worker.log"
    static = {**env, "CROWDLOG_GROUP_INSTANCE_ID": "worker-b"}
    with worker(env, log) as leaving, worker(static, log) as killed:
        ingest(settings, world)
        with crowd_running(settings, world) as crowd:
            assert _wait_for_decisions(settings, 40, 180) < 180, diagnosis(settings, log, crowd)
            leaving.send_signal(signal.SIGTERM)
            assert leaving.wait(60) == 0, log.read_text()[-3000:]
            before = _decisions(settings)
            assert _wait_for_decisions(settings, before + 40, 180) < 180, \
                diagnosis(settings, log, crowd)
            killed.send_signal(signal.SIGKILL)
            killed.wait()
            before = _decisions(settings)
            with worker(static, log):
                recovered = _wait_for_decisions(settings, before + 1, 180)
                crowd.join(540)
                finished = crowd.summary is not None and crowd.summary.finished
                assert finished, diagnosis(settings, log, crowd)
    print(f"moving again {recovered:.1f} s after the restart")  # make test shows it (-rP)
    assert recovered < float(env.get("CROWDLOG_SESSION_TIMEOUT", "10")), \
        "the restart waited out the session: its static identity did not take its partitions"
    _check_no_decision_lost_or_duplicated(read_all(settings))
