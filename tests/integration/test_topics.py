"""The topic catalogue on the real broker: created once, idempotent, infinite retention."""

import uuid

from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from streams.admin import create_topics
from streams.settings import Settings
from streams.topics import CATALOGUE, full_name


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
