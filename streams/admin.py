"""Creates the catalogue's topics on the cluster; safe to run any number of times."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from streams.settings import Settings
from streams.topics import CATALOGUE, TopicSpec, full_name


@dataclass(frozen=True)
class TopicStatus:
    name: str
    status: str  # "created", "exists" or "exists with N partitions (catalogue: M)"


def create_topics(settings: Settings, catalogue: Iterable[TopicSpec] = CATALOGUE,
                  *, replication_factor: int = 1, timeout: float = 30.0) -> list[TopicStatus]:
    """Create missing topics; report existing ones, flagging a partition count that differs."""
    admin = AdminClient(settings.kafka_config())
    specs = {full_name(spec, settings.topic_prefix): spec for spec in catalogue}
    existing = admin.list_topics(timeout=timeout).topics
    missing = [
        NewTopic(name, num_partitions=spec.partitions, replication_factor=replication_factor,
                 config=spec.config())
        for name, spec in specs.items() if name not in existing
    ]
    statuses = []
    for name, future in (admin.create_topics(missing, operation_timeout=timeout).items()
                         if missing else []):
        try:
            future.result()
            statuses.append(TopicStatus(name, "created"))
        except KafkaException as exc:  # created by someone else meanwhile
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            statuses.append(TopicStatus(name, "exists"))
    for name, spec in specs.items():
        if name in existing:
            actual = len(existing[name].partitions)
            note = "" if actual == spec.partitions else (
                f" with {actual} partitions (catalogue: {spec.partitions})")
            statuses.append(TopicStatus(name, f"exists{note}"))
    return sorted(statuses, key=lambda s: s.name)
