"""Broker requests that a busy broker may answer late: retried, not fatal.

A broker under load (topics being created, a group coordinator moving or loading, a request
queued past its timeout) fails metadata, offset and watermark requests with errors that mean
"ask again". A service that dies on the first of them turns a slow minute into a dead stage, so
the long-running callers (the lineage stage, the crowd service, the log readers) go through
``retrying``; every other error is real and raised at once. Every producer's flush waits
``DELIVERY_PATIENCE`` by default for the same reason (``EventProducer.flush``).

A refused password or certificate is the opposite case, never asked again: the clients' error
policy (``streams.kafka.errors``) raises it as ``AuthenticationFailed`` within a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import structlog
from confluent_kafka import KafkaError, KafkaException

log = structlog.get_logger(__name__)

T = TypeVar("T")

# How long a flush waits for its deliveries: longer than librdkafka keeps trying to deliver a
# message (``message.timeout.ms``, 300 s by default), so a flush ends with the broker's answer
# or librdkafka's own verdict, never on a shorter guess of its own. A broker away for a minute
# (restarted, failing over) is waited out; one away for longer fails the delivery, and the
# service stops for its supervisor as before.
DELIVERY_PATIENCE = 310.0

# Errors librdkafka does not flag retriable but that only say the broker was slow or moving.
_SLOW_OR_MOVING = frozenset({
    KafkaError._TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.REQUEST_TIMED_OUT,
    KafkaError.LEADER_NOT_AVAILABLE, KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    # a broker SIGKILLed under a client that never subscribes: its requests still go to the dead
    # leader until its metadata is refreshed (see PipelineProgress.lag)
    KafkaError._UNKNOWN_PARTITION, KafkaError._DESTROY_BROKER,
})


def is_transient(exc: KafkaException) -> bool:
    """Whether asking again later can succeed.

    >>> is_transient(KafkaException(KafkaError(KafkaError._TIMED_OUT)))
    True
    >>> is_transient(KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)))
    False
    """
    error = exc.args[0] if exc.args else None
    if not isinstance(error, KafkaError):
        return False
    return error.code() in _SLOW_OR_MOVING or bool(error.retriable())


def retrying(call: Callable[[], T], *, what: str, deadline: float = 120.0,
             first_wait: float = 0.5, max_wait: float = 5.0) -> T:
    """``call()`` until it succeeds; transient failures are retried with a doubling wait for up
    to ``deadline`` seconds, after which the last one is raised."""
    give_up = time.monotonic() + deadline
    wait = first_wait
    while True:
        try:
            return call()
        except KafkaException as exc:
            if not is_transient(exc) or time.monotonic() + wait > give_up:
                raise
            log.warning("broker request failed, asking again", request=what, error=str(exc),
                        wait=wait)
        time.sleep(wait)
        wait = min(max_wait, max(wait * 2, 0.1))

