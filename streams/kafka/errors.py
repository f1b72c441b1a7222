"""The one error policy of crowdlog's Kafka clients.

librdkafka reports a problem three ways, and each has one answer here:

- to the client's ``error_cb`` (``error_callback``): a refused password is raised as
  ``AuthenticationFailed`` and a fatal error (the client is unusable) as ``KafkaException``,
  from the poll, consume or flush that serves it; any other error is logged through structlog
  and left to librdkafka, which recovers from it on its own (a broker down, a connection cut).
  librdkafka logs an error itself only for a client without ``error_cb``, so this is its
  only log line. Its text is librdkafka's, which never holds a credential.
- in a consumed message (``checked``): the same rule, fatal raised, the rest logged and passed
  over; the end of a partition is handed back quietly, being a reader's signal, not a fault.
- before anything works, a secured cluster refusing this process (``verify_authentication``):
  librdkafka would try again for ever, while a metadata request waits out its timeout and
  fails as ``_TRANSPORT`` (which ``broker_calls.retrying`` would ask again for two minutes), a
  flush waits out its timeout and a consume returns nothing. Here it is ``AuthenticationFailed``
  within a second; not being a ``KafkaException``, it is never asked again.

A broker that is only slow is ``streams.broker_calls``' business (``retrying``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from streams.settings import AuthenticationFailed

log = structlog.get_logger(__name__)

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


def error_callback(servers: str) -> Callable[[KafkaError], None]:
    """A client's ``error_cb`` (see the module docs).

    A refused password heard by a client that had been accepted (credentials revoked or rotated
    meanwhile) is raised; a TLS error is not, unlike at the first connection: once connections
    have worked, one may just be a broker going down mid-handshake.
    """
    def on_error(error: KafkaError) -> None:
        if error.code() == KafkaError._AUTHENTICATION:
            raise AuthenticationFailed(servers, error.str())
        if error.fatal():
            raise KafkaException(error)
        log.warning("kafka client error", servers=servers, error=error.name(),
                    reason=error.str())

    return on_error


def checked(message: Message) -> KafkaError | None:
    """The error ``message`` carries instead of a message, None when it is a message.

    A fatal error is raised; the end of a partition (``enable.partition.eof``) is returned as
    it is, for a reader to stop on; any other error is logged and returned, for the caller to
    pass over.
    """
    error = message.error()
    if error is None or error.code() == KafkaError._PARTITION_EOF:
        return error
    if error.fatal():
        raise KafkaException(error)
    log.warning("consumer error", error=str(error))
    return error


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
