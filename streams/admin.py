"""Creates topics on the cluster, safe to run any number of times, and waits until they are whole.

``create_topics`` makes the catalogue's topics (``crowdlog topics create``). ``ensure_topics``
also waits until the cluster's metadata shows every partition of every topic with a leader:
a topic the controller has just created can still be listed with no partitions for a moment
(under Faust, a table that looked at its changelog then failed for good with
``PartitionsMismatch``). The worker therefore makes the catalogue and its stages' changelogs
itself and waits for them before it reads (``streams.worker``, ``streams.runner``).

Every topic made here, catalogue and changelogs alike, gets the replication factor and
``min.insync.replicas`` of ``Settings``: a changelog holds the only copy of a stage's state, so
it must survive a broker as well as the events do. A topic that already exists keeps what it
was created with (changing its replicas is a reassignment, an operator's decision).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from streams.broker_calls import retrying
from streams.kafka import clients
from streams.settings import Settings
from streams.topics import CATALOGUE, TopicSpec, full_name


class TopicMismatch(Exception):
    """A topic exists, but not as wanted."""


@dataclass(frozen=True)
class TopicStatus:
    name: str
    status: str  # "created", "exists" or "exists with N partitions (wanted: M)"


@dataclass(frozen=True)
class TopicRequest:
    """A topic by its full name, as it should be created."""

    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)


def catalogue_requests(settings: Settings,
                       catalogue: Iterable[TopicSpec] = CATALOGUE) -> list[TopicRequest]:
    return [TopicRequest(full_name(spec, settings.topic_prefix), spec.partitions, spec.config())
            for spec in catalogue]


def create_topics(settings: Settings, catalogue: Iterable[TopicSpec] = CATALOGUE,
                  *, timeout: float = 30.0) -> list[TopicStatus]:
    """Create missing topics; report existing ones, flagging a partition count that differs."""
    return _create(clients.admin(settings), settings,
                   catalogue_requests(settings, catalogue), timeout)


def ensure_topics(settings: Settings, requests: Iterable[TopicRequest], *,
                  timeout: float = 60.0) -> list[TopicStatus]:
    """Create what is missing, then wait until every partition of every topic has a leader.

    Raises ``TopicMismatch`` at once when a topic exists with another partition count (keys
    would land on other partitions than the state they belong with), and ``TimeoutError``
    naming the topics still incomplete after ``timeout`` seconds.
    """
    admin = clients.admin(settings)
    wanted = list(requests)
    statuses = _create(admin, settings, wanted, timeout)
    mismatched = [f"{s.name} {s.status}" for s in statuses if s.status.startswith("exists ")]
    if mismatched:
        raise TopicMismatch(f"topics with another partition count than wanted: "
                            f"{'; '.join(mismatched)}")
    deadline = time.monotonic() + timeout
    while True:
        incomplete = _incomplete(admin, wanted)
        if not incomplete:
            return statuses
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics without all their partitions led after {timeout:.0f} s: "
                               f"{', '.join(incomplete)}")
        time.sleep(0.2)


def replication_config(settings: Settings) -> dict[str, str]:
    """The topic configuration ``settings`` adds to every topic it creates.

    >>> replication_config(Settings(replication_factor=3, min_insync_replicas=2))
    {'min.insync.replicas': '2'}
    >>> replication_config(Settings())
    {}
    """
    if settings.min_insync_replicas is None:
        return {}
    return {"min.insync.replicas": str(settings.min_insync_replicas)}


def _create(admin: AdminClient, settings: Settings, requests: list[TopicRequest],
            timeout: float) -> list[TopicStatus]:
    existing = retrying(lambda: admin.list_topics(timeout=timeout).topics,
                        what="topic metadata")
    missing = [NewTopic(r.name, num_partitions=r.partitions,
                        replication_factor=settings.replication_factor,
                        config={**r.config, **replication_config(settings)})
               for r in requests if r.name not in existing]
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
    for request in requests:
        if request.name in existing:
            actual = len(existing[request.name].partitions)
            note = "" if actual == request.partitions else (
                f" with {actual} partitions (wanted: {request.partitions})")
            statuses.append(TopicStatus(request.name, f"exists{note}"))
    return sorted(statuses, key=lambda s: s.name)


def _incomplete(admin: AdminClient, requests: list[TopicRequest]) -> list[str]:
    """The requested topics the metadata does not yet show whole: every partition, each led."""
    topics = retrying(lambda: admin.list_topics(timeout=10).topics, what="topic metadata")
    incomplete = []
    for request in requests:
        described = topics.get(request.name)
        if (described is None or described.error is not None
                or len(described.partitions) < request.partitions
                or any(p.leader < 0 or p.error is not None
                       for p in described.partitions.values())):
            incomplete.append(request.name)
    return incomplete
