"""The topic catalogue on the real broker: created once, idempotent, infinite retention."""

import os
import subprocess
import sys
import uuid

from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from streams.admin import TopicRequest, catalogue_requests, create_topics, ensure_topics
from streams.codecs import default_codec
from streams.pipeline import PipelineConfig, crowd_stages
from streams.runner import StageRunner
from streams.settings import Settings
from streams.topics import CATALOGUE, full_name
from streams.worker import runner_config
from streams.workers.view import QualityView


def test_create_is_idempotent_and_matches_the_catalogue(settings: Settings) -> None:
    # the fixture already created them once
    statuses = {s.name: s.status for s in create_topics(settings)}
    names = {full_name(spec, settings.topic_prefix) for spec in CATALOGUE}
    assert statuses == dict.fromkeys(names, "exists")

    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    topics = admin.list_topics(timeout=10).topics
    for spec in CATALOGUE:
        name = full_name(spec, settings.topic_prefix)
        assert len(topics[name].partitions) == spec.partitions
        resource = ConfigResource(ResourceType.TOPIC, name)
        config = admin.describe_configs([resource])[resource].result()
        assert config["retention.ms"].value == "-1"
        assert config["cleanup.policy"].value == spec.cleanup_policy


def test_fresh_prefix_creates_every_topic(bootstrap: str) -> None:
    fresh = Settings(bootstrap_servers=bootstrap, topic_prefix=f"test-{uuid.uuid4().hex[:8]}.")
    statuses = create_topics(fresh)
    assert [s.status for s in statuses] == ["created"] * len(CATALOGUE)


def test_the_worker_makes_its_stages_changelogs_whole_before_it_reads(bootstrap: str) -> None:
    """A topic the controller has just created can be listed with no partitions for a moment;
    the worker creates its stages' changelogs first and waits until every partition is led."""
    fresh = Settings(bootstrap_servers=bootstrap, topic_prefix=f"test-{uuid.uuid4().hex[:8]}.")
    codec = default_codec()
    view = QualityView(fresh, codec, position_group="unused")
    runner = StageRunner(fresh, codec, crowd_stages(PipelineConfig.from_env("pytest"), view),
                         runner_config(fresh))
    changelogs = runner.changelog_topics()
    assert {r.name for r in changelogs} == {
        f"{fresh.topic_prefix}crowdlog-{stage}-state-changelog"
        for stage in ("tasks", "consensus", "grading", "quality")}

    statuses = ensure_topics(fresh, [*catalogue_requests(fresh), *changelogs])
    assert [s.status for s in statuses] == ["created"] * (len(CATALOGUE) + len(changelogs))
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = admin.list_topics(timeout=10).topics  # whole at once: no wait needed here
    for request in changelogs:
        partitions = topics[request.name].partitions
        assert len(partitions) == request.partitions == 6
        assert all(p.leader >= 0 for p in partitions.values())
        resource = ConfigResource(ResourceType.TOPIC, request.name)
        config = admin.describe_configs([resource])[resource].result()
        assert config["cleanup.policy"].value == "compact"
    again = ensure_topics(fresh, changelogs)
    assert {s.status for s in again} == {"exists"}


def test_the_worker_refuses_a_changelog_with_another_partition_count(bootstrap: str) -> None:
    fresh = Settings(bootstrap_servers=bootstrap, topic_prefix=f"test-{uuid.uuid4().hex[:8]}.")
    wrong = f"{fresh.topic_prefix}crowdlog-tasks-state-changelog"
    ensure_topics(fresh, [TopicRequest(wrong, 3, {"cleanup.policy": "compact"})])
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "CROWDLOG_TOPIC_PREFIX": fresh.topic_prefix}
    done = subprocess.run([sys.executable, "-m", "streams.cli", "worker"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{wrong} exists with 3 partitions (wanted: 6)" in done.stderr
