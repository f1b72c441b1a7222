"""Topic creation takes its replication from Settings, for the catalogue and changelogs alike.

A stub stands in for the admin client: what matters is what crowdlog asks the cluster for,
and the cluster of the integration tests has replicated defaults that would hide a topic
created without them (tests/integration/test_replicated_cluster.py runs the real thing).
"""

from __future__ import annotations

import re
from concurrent.futures import Future
from types import SimpleNamespace

import pytest
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from streams.admin import TopicRequest, create_topics, ensure_topics
from streams.kafka import clients
from streams.settings import Settings
from streams.topics import CATALOGUE


class _Cluster:
    """Records the topics asked for; every partition of a created topic is led at once."""

    def __init__(self) -> None:
        self.created: dict[str, NewTopic] = {}

    def config(self, name: str) -> dict[str, str]:
        """The configuration topic ``name`` was asked for with."""
        return dict(self.created[name].config or {})

    def client(self, _settings: Settings) -> _Cluster:
        return self

    def list_topics(self, timeout: float) -> SimpleNamespace:
        led = {name: SimpleNamespace(error=None, partitions={
            p: SimpleNamespace(leader=1, error=None) for p in range(topic.num_partitions)})
            for name, topic in self.created.items()}
        return SimpleNamespace(topics=led)

    def create_topics(self, topics: list[NewTopic],
                      operation_timeout: float) -> dict[str, Future[None]]:
        futures: dict[str, Future[None]] = {}
        for topic in topics:
            self.created[topic.topic] = topic
            futures[topic.topic] = Future()
            futures[topic.topic].set_result(None)
        return futures


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> _Cluster:
    stub = _Cluster()
    monkeypatch.setattr(clients, "admin", stub.client)
    return stub


def test_every_topic_gets_the_configured_replicas_and_in_sync_minimum(
        cluster: _Cluster) -> None:
    settings = Settings.from_env({"CROWDLOG_TOPIC_PREFIX": "t.",
                                  "CROWDLOG_REPLICATION_FACTOR": "3",
                                  "CROWDLOG_MIN_INSYNC_REPLICAS": "2"})
    create_topics(settings)
    changelog = TopicRequest("t.crowdlog-tasks-state-changelog", 6, {"cleanup.policy": "compact"})
    ensure_topics(settings, [changelog])

    assert len(cluster.created) == len(CATALOGUE) + 1
    for name, topic in cluster.created.items():
        assert topic.replication_factor == 3, name
        assert cluster.config(name)["min.insync.replicas"] == "2", name
    # the topic's own configuration is kept beside the replication settings
    assert cluster.config(changelog.name)["cleanup.policy"] == "compact"
    assert cluster.config("t.records.received")["retention.ms"] == "-1"


def test_by_default_one_replica_and_the_brokers_in_sync_minimum(cluster: _Cluster) -> None:
    create_topics(Settings.from_env({}))
    for name, topic in cluster.created.items():
        assert topic.replication_factor == 1
        assert "min.insync.replicas" not in cluster.config(name)


@pytest.mark.parametrize(("environment", "complaint"), [
    ({"CROWDLOG_REPLICATION_FACTOR": "0"}, "at least 1, not '0'"),
    ({"CROWDLOG_REPLICATION_FACTOR": "three"}, "at least 1, not 'three'"),
    ({"CROWDLOG_MIN_INSYNC_REPLICAS": "-1"}, "at least 1, not '-1'"),
    ({"CROWDLOG_REPLICATION_FACTOR": "2", "CROWDLOG_MIN_INSYNC_REPLICAS": "3"},
     "CROWDLOG_MIN_INSYNC_REPLICAS (3) exceeds CROWDLOG_REPLICATION_FACTOR (2)"),
])
def test_replication_settings_that_cannot_work_are_refused_at_start(
        environment: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        Settings.from_env(environment)
