"""The one place crowdlog's confluent-kafka clients are made, all from ``Settings``.

Each client gets the connection (bootstrap servers, security protocol, SASL, TLS, the
properties file: ``Settings.client_properties``), librdkafka's log through structlog
(``streams.logs.kafka_logger``) and the error policy of ``streams.kafka.errors``; on a secured
connection the first client of the process is preceded by a check that the cluster accepts it.
What a caller adds is what its job needs (a group, a commit discipline), passed as ``config``,
which wins over the defaults here but not over the connection's ``error_cb`` and logger.

``consumer`` joins (or names) a group; ``reader`` is a consumer for ``assign()`` that commits
and stores nothing and reports the end of each partition, for reading a range of the log and
stopping (``streams.tools.log_reader.LogReader`` reads ranges with one); ``producer`` and
``admin`` are the plain clients (``streams.producer.EventProducer`` adds the producer settings
every event producer shares).

Commands import the modules that make clients when they run, so ``crowdlog --help`` loads no
Kafka library.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from streams.kafka import errors
from streams.logs import kafka_logger
from streams.settings import Settings


def connection(settings: Settings) -> dict[str, Any]:
    """The configuration every client of the process starts from: the connection's properties
    (credentials revealed: a client's configuration, never a log line), the logger and the
    ``error_cb``; ``AuthenticationFailed`` first if a secured cluster refuses them."""
    properties = settings.client_properties()
    if settings.secured:
        errors.verify_authentication(properties, settings.bootstrap_servers)
    return {**properties, "logger": kafka_logger(),
            "error_cb": errors.error_callback(settings.bootstrap_servers)}


def _made(settings: Settings, config: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's settings over the defaults, under the connection's logger and error_cb."""
    base = connection(settings)
    return {**base, **config, "logger": base["logger"], "error_cb": base["error_cb"]}


def consumer(settings: Settings, group_id: str,
             config: Mapping[str, Any] | None = None) -> Consumer:
    """A consumer in group ``group_id``, starting a partition the group never committed at its
    beginning, and given up by the group after ``settings.session_timeout``, unless ``config``
    says otherwise."""
    return Consumer(_made(settings, {"group.id": group_id, "auto.offset.reset": "earliest",
                                     **session(settings.session_timeout), **(config or {})}))


def session(timeout: float) -> dict[str, Any]:
    """A group session of ``timeout`` seconds, with heartbeats four times as often."""
    return {"session.timeout.ms": int(timeout * 1000),
            "heartbeat.interval.ms": max(500, int(timeout * 1000 / 4))}


def reader(settings: Settings, config: Mapping[str, Any] | None = None) -> Consumer:
    """A consumer for ``assign()`` that leaves no trace on the cluster: no offset stored or
    committed (librdkafka wants a group id all the same: a fresh one), and an end-of-partition
    event for each partition read to its end."""
    return consumer(settings, f"{settings.topic_prefix}crowdlog.reader.{uuid.uuid4().hex[:12]}",
                    {"enable.auto.commit": False, "enable.auto.offset.store": False,
                     "enable.partition.eof": True, **(config or {})})


def producer(settings: Settings, config: Mapping[str, Any] | None = None) -> Producer:
    return Producer(_made(settings, config or {}))


def admin(settings: Settings) -> AdminClient:
    return AdminClient(connection(settings))
