"""Replication on a 3-node KRaft cluster: a broker SIGKILLed mid-stream costs no decision.

Every topic and changelog has 3 replicas and needs 2 in sync (``CROWDLOG_REPLICATION_FACTOR``,
``CROWDLOG_MIN_INSYNC_REPLICAS``), producers write with ``acks=all``. The broker killed is the
group coordinator of the worker's consumer group: its partitions lose their leader, and the
worker's committed offsets must be found on the other replicas of ``__consumer_offsets``.
Whether it also led the KRaft quorum is printed (``cluster.sh status``), as are the times the
cluster and the pipeline took to recover.

The cluster is the test's own (``infra/kafka/cluster.sh`` in a temporary directory, on free
ports), beside the shared broker of the other tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ConfigSource,
    ResourceType,
)

from streams.admin import create_topics
from streams.broker_calls import is_transient
from streams.handles import PLATFORMS
from streams.records.models import RecordReceived
from streams.settings import Settings
from streams.tasks.models import AssignmentSubmitted, HitPublished
from streams.topics import CATALOGUE, CONSENSUS_RESULTS, full_name
from tests.conftest import missing_service
from tests.integration.processes import (
    ROOT,
    crowd_running,
    diagnosis,
    ingest,
    read_all,
    worker,
    worker_env,
    written,
)
from tests.integration.test_crowd_pipeline import _check_no_decision_lost_or_duplicated, _world

CLUSTER_SCRIPT = ROOT / "infra" / "kafka" / "cluster.sh"
NODES, REPLICAS, IN_SYNC = 3, 3, 2
STAGES = ("tasks", "consensus", "grading", "quality")  # the worker's changelogs, one per stage
DECIDED_BEFORE_KILL = 30  # decisions on the log before the broker dies...
DECIDED_WHILE_DOWN = 30   # ...and after, before it comes back
OFFSETS_TOPIC = "__consumer_offsets"

T = TypeVar("T")


@dataclass
class _Cluster:
    """A running ``cluster.sh`` cluster in ``directory``."""

    directory: Path
    env: dict[str, str]
    bootstrap: str = ""

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["bash", str(CLUSTER_SCRIPT), "--dir", str(self.directory), *args],
                              env=self.env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 0 or not check, \
            f"cluster.sh {' '.join(args)} failed:\n{done.stderr[-3000:]}"
        return done.stdout


def _free_ports(count: int) -> list[int]:
    """Ports nothing listens on now, all different (held together until all are chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def _cluster_up(directory: Path) -> Iterator[_Cluster]:
    """The 3-node cluster, stopped however the test ends (its logs stay in ``directory``)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing_service("no JDK: the 3-node cluster runs Kafka's jars on java")
    ports = _free_ports(2 * NODES)
    cluster = _Cluster(directory, {
        **os.environ,
        "CROWDLOG_CLUSTER_PORTS": ",".join(map(str, ports[:NODES])),
        "CROWDLOG_CLUSTER_CONTROLLER_PORTS": ",".join(map(str, ports[NODES:]))})
    try:
        cluster.bootstrap = cluster.run("up", str(NODES)).split("KAFKA_BOOTSTRAP_SERVERS=")[-1]
        cluster.bootstrap = cluster.bootstrap.strip()
        yield cluster
    finally:
        cluster.run("down", check=False)


def _until(answer: Callable[[], T | None], what: str, timeout: float = 240.0) -> tuple[T, float]:
    """The first answer that is not None and the seconds it took; fails naming ``what`` if
    none comes. While a broker is dying or moving, the question is asked again."""
    started = time.monotonic()
    while True:
        try:
            value = answer()
        except KafkaException as exc:
            if not is_transient(exc):
                raise
            value = None
        if value is not None:
            return value, time.monotonic() - started
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.25)


def _wait(condition: Callable[[], bool], what: str) -> float:
    """Seconds until ``condition`` held; fails naming ``what`` if it never does."""
    return _until(lambda: True if condition() else None, what)[1]


def _run_topics(admin: AdminClient, prefix: str) -> dict[str, Any]:
    """The run's topics and the group offsets' topic, as the cluster's metadata has them."""
    return {name: topic for name, topic in admin.list_topics(timeout=10).topics.items()
            if name.startswith(prefix) or name == OFFSETS_TOPIC}


def _check_replication(admin: AdminClient, prefix: str) -> int:
    """Every topic of the run has 3 replicas and needs 2 in sync, set on the topic itself (not
    the cluster's defaults, which say the same); how many topics that is."""
    topics = _run_topics(admin, prefix)
    wanted = {full_name(spec, prefix) for spec in CATALOGUE} | {
        f"{prefix}crowdlog-{stage}-state-changelog" for stage in STAGES}
    assert wanted | {OFFSETS_TOPIC} <= set(topics), sorted(wanted - set(topics))
    for name, topic in topics.items():
        replicas = {len(p.replicas) for p in topic.partitions.values()}
        assert replicas == {REPLICAS}, f"{name}: {replicas} replicas"
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in topics
                 if name != OFFSETS_TOPIC]
    for resource, future in admin.describe_configs(resources).items():
        entry = future.result()["min.insync.replicas"]
        source = ConfigSource(entry.source)
        assert (entry.value, source) == (str(IN_SYNC), ConfigSource.DYNAMIC_TOPIC_CONFIG), \
            f"{resource.name}: min.insync.replicas {entry.value} from {source.name}"
    return len(resources)


def _coordinator(admin: AdminClient, group: str) -> int:
    """The node that coordinates ``group`` (node ids are cluster.sh's node numbers)."""
    description = admin.describe_consumer_groups([group])[group].result()
    return int(description.coordinator.id)


def _committed(settings: Settings, group: str) -> int:
    """The offsets ``group`` has committed on the catalogue's topics, summed.

    A new consumer each time starts from fresh metadata, whichever broker died meanwhile (one
    that never subscribes is not told that leaders moved). The admin client's
    ``list_consumer_group_offsets`` is not used: asked while the coordinator moved, it crashed
    this process (SIGSEGV, confluent-kafka 2.16.1).
    """
    probe = Consumer({**settings.kafka_config(), "group.id": group,
                      "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(full_name(spec, settings.topic_prefix), p)
                      for spec in CATALOGUE for p in range(spec.partitions)]
        committed = probe.committed(partitions, timeout=10)
        for tp in committed:
            if tp.error is not None:
                raise KafkaException(tp.error)
        return sum(max(tp.offset, 0) for tp in committed)
    finally:
        probe.close()


def _led_without(admin: AdminClient, prefix: str, node: int) -> bool:
    """Whether every partition of the run is led again, by another node than ``node``."""
    return all(p.leader not in (-1, node) for topic in _run_topics(admin, prefix).values()
               for p in topic.partitions.values())


def _all_in_sync(admin: AdminClient, prefix: str) -> bool:
    """Whether every replica of every partition of the run is back in sync."""
    return all(len(p.isrs) == REPLICAS for topic in _run_topics(admin, prefix).values()
               for p in topic.partitions.values())


@pytest.mark.long(210)
def test_a_broker_killed_mid_stream_on_a_replicated_cluster_costs_no_decision(
        tmp_path: Path) -> None:
    started = time.monotonic()
    world, world_dir = _world(tmp_path, athletes=100)
    with _cluster_up(tmp_path / "cluster") as cluster:
        settings = Settings(bootstrap_servers=cluster.bootstrap, instance="pytest",
                            topic_prefix=f"test-{uuid.uuid4().hex[:10]}.",
                            replication_factor=REPLICAS, min_insync_replicas=IN_SYNC)
        prefix, group = settings.topic_prefix, f"{settings.topic_prefix}crowdlog"
        create_topics(settings)
        env = {**worker_env(settings, tmp_path / "state", world_dir, "quorum"),
               "CROWDLOG_REPLICATION_FACTOR": str(REPLICAS),
               "CROWDLOG_MIN_INSYNC_REPLICAS": str(IN_SYNC)}
        log = tmp_path / "worker.log"
        admin = AdminClient(settings.kafka_config())
        with worker(env, log) as process:
            records = ingest(settings, world)
            with crowd_running(settings, world) as crowd:
                _wait(lambda: written(settings, CONSENSUS_RESULTS) >= DECIDED_BEFORE_KILL,
                      "the first decisions")
                checked = _check_replication(admin, prefix)
                victim = _coordinator(admin, group)
                before = cluster.run("status", check=False).strip()
                decided_at_kill = written(settings, CONSENSUS_RESULTS)
                committed_at_kill = _committed(settings, group)
                cluster.run("kill", str(victim))
                killed = time.monotonic()

                leaders_moved = _wait(lambda: _led_without(admin, prefix, victim),
                                      "leaders elected on the surviving nodes")
                found, _seconds = _until(lambda: _committed(settings, group),
                                         "the group's offsets from its new coordinator")
                assert found >= committed_at_kill, "committed offsets lost with the broker"
                _wait(lambda: _committed(settings, group) > committed_at_kill,
                      "the worker committing again (a new group coordinator)")
                commits_resumed = time.monotonic() - killed
                _wait(lambda: not crowd.is_alive() or written(settings, CONSENSUS_RESULTS)
                      >= decided_at_kill + DECIDED_WHILE_DOWN, "decisions on two nodes")
                decided_at_restart = written(settings, CONSENSUS_RESULTS)
                restarting = time.monotonic()
                down_for = restarting - killed
                cluster.run("start", str(victim))
                restarted = time.monotonic() - restarting
                in_sync = _wait(lambda: _all_in_sync(admin, prefix),
                                f"node {victim} back in every partition's in-sync replicas")

                crowd.join(540)
                assert crowd.summary is not None and crowd.summary.finished, \
                    diagnosis(settings, log, crowd)
            assert process.poll() is None, "the worker died with the broker:\n" + \
                diagnosis(settings, log)
        events = read_all(settings)
    wall = time.monotonic() - started

    decisions = _check_no_decision_lost_or_duplicated(events)
    received = {e.event_id: e for e in events if isinstance(e, RecordReceived)}
    hits = {e.hit_id: e for e in events if isinstance(e, HitPublished) and not e.gold}
    asked = {r.event_id for r in received.values() if set(PLATFORMS) - set(r.known_handles)}
    submitted = {e.assignment_id for e in events if isinstance(e, AssignmentSubmitted)}
    print(f"{checked} topics and changelogs with {REPLICAS} replicas, "
          f"min.insync.replicas {IN_SYNC}\n"
          f"killed node {victim}, the worker group's coordinator; before the kill:\n{before}\n"
          f"records {len(received)} of {records} ingested, HITs {len(hits)}, "
          f"assignments {len(submitted)}, fields decided "
          f"{len({(d.hit_id, d.platform) for d in decisions})} by "
          f"{len({d.event_id for d in decisions})} decisions ({decided_at_kill} written at the "
          f"kill, {decided_at_restart} at the restart)\n"
          f"recovery after the kill: leaders moved in {leaders_moved:.1f} s, the worker "
          f"committed again in {commits_resumed:.1f} s; node down {down_for:.1f} s, "
          f"restarted in {restarted:.1f} s, then back in every in-sync replica set in "
          f"{in_sync:.1f} s\n"
          f"wall time {wall:.0f} s")
    assert decided_at_restart > decided_at_kill  # decisions were made with a node down
    assert len(received) == records  # no record lost...
    assert {f"H{record_id[:20]}" for record_id in asked} <= set(hits)  # ...each got its HIT
    assert crowd.summary is not None
    assert len(submitted) == crowd.summary.submitted  # no acknowledged answer lost
