"""Broker requests that a busy broker may answer late: retried, not fatal.

A broker under load (topics being created, a group coordinator moving or loading, a request
queued past its timeout) fails metadata, offset and watermark requests with errors that mean
"ask again". A service that dies on the first of them turns a slow minute into a dead stage, so
the long-running callers (the lineage stage, the crowd service, the log readers) go through
``retrying``; every other error is real and raised at once. Every producer's flush waits
``DELIVERY_PATIENCE`` by default for the same reason (``EventProducer.flush``).

A refused password or certificate is the opposite case: librdkafka reports it only to a
client's ``error_cb`` and tries again for ever, while a metadata request waits out its timeout
and fails as ``_TRANSPORT`` (which ``retrying`` would ask again for two minutes), a flush waits
out its timeout and a consume returns nothing. ``verify_authentication`` and ``error_callback``
turn it into ``AuthenticationFailed`` within a second instead; not being a ``KafkaException``,
it is never asked again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import structlog
from confluent_kafka import KafkaError, KafkaException, Producer

from streams.settings import AuthenticationFailed

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


# How long the first client of a process waits for the cluster to accept or refuse it; a cluster
# that does neither is out of reach, which each caller handles as on a plaintext connection.
AUTHENTICATION_PATIENCE = 15.0

# The client's credentials or TLS material refused (by the broker or by the client itself:
# a broker certificate it cannot verify), as opposed to a broker out of reach.
_REFUSED = frozenset({KafkaError._AUTHENTICATION, KafkaError._SSL})
# A broker that refuses the client's certificate (or its lack of one) ends the handshake with a
# TLS alert, which librdkafka reports as a transport error; OpenSSL's text names the alert.
_TLS_ALERT = "SSL alert number"

_verified: set[frozenset[tuple[str, str]]] = set()
_verifying = threading.Lock()


def verify_authentication(properties: Mapping[str, str], servers: str, *,
                          patience: float = AUTHENTICATION_PATIENCE) -> None:
    """Raise ``AuthenticationFailed`` unless the cluster accepts a client made of ``properties``.

    A producer (it joins no group) asks for metadata until it gets it (accepted), its
    ``error_cb`` hears a refusal, or ``patience`` runs out (no answer: a warning, and the callers
    go on as they would on a plaintext connection). Its own log is silenced, the refusal being
    reported once, by the exception. A client that cannot even be made from ``properties`` (an
    unreadable CA, a key its password does not open) is refused the same way. Each
    configuration is checked once per process.
    """
    key = frozenset(properties.items())
    with _verifying:
        if key in _verified:
            return
        refusals: list[KafkaError] = []
        try:
            probe = Producer({**properties, "error_cb": refusals.append, "log_level": 0})
        except KafkaException as exc:  # the message names the property: "ssl.ca.location failed"
            error = exc.args[0]
            reason = error.str() if isinstance(error, KafkaError) else str(exc)
            raise AuthenticationFailed(servers, reason) from None
        deadline = time.monotonic() + patience
        while not _answered(probe):
            probe.poll(0)
            refused = [error for error in refusals if error.code() in _REFUSED
                       or (error.code() == KafkaError._TRANSPORT and _TLS_ALERT in error.str())]
            if refused:
                raise AuthenticationFailed(servers, refused[0].str())
            if time.monotonic() > deadline:
                log.warning("the Kafka cluster neither accepted nor refused this client",
                            servers=servers, seconds=patience)
                break
        _verified.add(key)


def _answered(probe: Producer) -> bool:
    """Whether a metadata request got an answer within half a second."""
    try:
        probe.list_topics(timeout=0.5)
    except KafkaException:
        return False
    return True


def error_callback(servers: str) -> Callable[[KafkaError], None]:
    """A client's ``error_cb``: a refused password, heard by a client that had been accepted
    (credentials revoked or rotated meanwhile), is raised as ``AuthenticationFailed`` from the
    poll, consume or flush that serves it. Other errors need nothing: librdkafka logs them
    and recovers on its own. A TLS error is among them here, unlike at the first connection:
    once connections have worked, one may just be a broker going down mid-handshake."""
    def on_error(error: KafkaError) -> None:
        if error.code() == KafkaError._AUTHENTICATION:
            raise AuthenticationFailed(servers, error.str())

    return on_error
