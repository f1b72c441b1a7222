"""Settings from the environment, read when a command starts (never at import).

The Kafka connection is one configuration for every client of the process (producers,
consumers, admin, the log readers), all built from it by ``streams.kafka.clients``:

``KAFKA_BOOTSTRAP_SERVERS``          the cluster (default 127.0.0.1:9092)
``KAFKA_SECURITY_PROTOCOL``          PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL
``KAFKA_SASL_MECHANISM``             PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
``KAFKA_SASL_USERNAME``              the SASL user
``KAFKA_SASL_PASSWORD[_FILE]``       its password, or a file holding it (a mounted secret)
``KAFKA_SSL_CA_LOCATION``            PEM file of the CA that signed the brokers' certificates
``KAFKA_SSL_CERTIFICATE_LOCATION``   this client's certificate (PEM), when brokers require one
``KAFKA_SSL_KEY_LOCATION``           its private key (PEM)
``KAFKA_SSL_KEY_PASSWORD[_FILE]``    the key's password, or a file holding it
``CROWDLOG_KAFKA_PROPERTIES``        a file of any other librdkafka properties, ``name=value``
                                     lines, ``#`` comments; the variables above win over it

Credentials are held as ``Secret``: a repr, a log line or an exception message built from the
settings shows ``***``. A variable and its ``_FILE`` twin set together are refused, as is an
unreadable file: the process stops before it connects, with a line naming the variable.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_DATABASE_URL = "sqlite:///crowdlog.db"

# librdkafka properties with a variable of their own; credentials have a ``_FILE`` twin too.
KAFKA_VARIABLES = {
    "KAFKA_SECURITY_PROTOCOL": "security.protocol",
    "KAFKA_SASL_MECHANISM": "sasl.mechanism",
    "KAFKA_SASL_USERNAME": "sasl.username",
    "KAFKA_SSL_CA_LOCATION": "ssl.ca.location",
    "KAFKA_SSL_CERTIFICATE_LOCATION": "ssl.certificate.location",
    "KAFKA_SSL_KEY_LOCATION": "ssl.key.location",
}
KAFKA_SECRET_VARIABLES = {
    "KAFKA_SASL_PASSWORD": "sasl.password",
    "KAFKA_SSL_KEY_PASSWORD": "ssl.key.password",
}
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
# A property of the properties file whose name holds one of these is a credential (passwords,
# OAuth client secrets, inline PEM keys, the OAuth bearer configuration).
_SECRET_WORDS = ("password", "secret", "passphrase", ".pem", "oauthbearer.config")


class Secret:
    """A credential's value. Its repr and str are ``***``, so neither the settings' repr nor a
    message formatted from them can show it; only a client's configuration reads ``value``.
    (Not a dataclass: ``dataclasses.asdict`` of the settings would unwrap it.)"""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


class AuthenticationFailed(Exception):
    """The cluster refused this process's credentials or TLS material, or they refused it.

    Deliberately not a ``KafkaException``: no handler of broker errors takes it for one it can
    wait out. It reaches ``streams.cli.main``, which prints it as one line and exits 2, where
    librdkafka itself would try again for ever.
    """

    def __init__(self, servers: str, reason: str) -> None:
        super().__init__(f"cannot authenticate to the Kafka cluster at {servers}: {reason}")


def state_dir() -> Path:
    """Where this process keeps local state (Faust's data, model snapshots): CROWDLOG_STATE_DIR."""
    return Path(os.environ.get("CROWDLOG_STATE_DIR", ".state"))


@dataclass(frozen=True)
class Settings:
    """Where the cluster and database are, and how this process names itself.

    ``topic_prefix`` namespaces every catalogue topic (``<prefix>records.received``) so that
    tests, demos and tenants can share one cluster without seeing each other's events.
    """

    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    database_url: str = DEFAULT_DATABASE_URL
    topic_prefix: str = ""
    instance: str = "crowdlog"
    log_format: str = "auto"  # "json", "console" or "auto" (console on a terminal)
    log_level: str = "info"
    # librdkafka properties of the connection beside bootstrap.servers (security protocol, SASL,
    # TLS, whatever the properties file adds); credentials among them are ``Secret``.
    kafka_properties: Mapping[str, str | Secret] = field(default_factory=dict, hash=False)
    # Replicas of every topic this process creates, changelogs included, and how many of them
    # must hold a write before an ``acks=all`` producer hears it succeeded (``None``: the
    # broker's ``min.insync.replicas``). 1 suits the local single broker; a production cluster
    # wants 3 and 2, so one broker can die without losing or refusing a write.
    replication_factor: int = 1
    min_insync_replicas: int | None = None
    # Seconds a consumer group waits to hear from a member before it hands the member's
    # partitions to the others (or to the member's restart): how long a killed process's input
    # stands still. librdkafka's default is 45; every group crowdlog joins uses this.
    session_timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("CROWDLOG_DATABASE_URL") or DEFAULT_DATABASE_URL,
            topic_prefix=env.get("CROWDLOG_TOPIC_PREFIX", ""),
            instance=env.get("CROWDLOG_INSTANCE") or f"{socket.gethostname()}-{os.getpid()}",
            log_format=env.get("CROWDLOG_LOG_FORMAT", "auto"),
            log_level=env.get("CROWDLOG_LOG_LEVEL", "info"),
            session_timeout=float(env.get("CROWDLOG_SESSION_TIMEOUT", "10")),
            **_replication(env),
            **_connection(env),
        )

    def kafka_config(self) -> dict[str, Any]:
        """The configuration every Kafka client of this process starts from, as
        ``streams.kafka.clients.connection`` makes it (connection, logger, error policy): for a
        raw client a test or a benchmark makes; crowdlog's own come from ``streams.kafka``."""
        # confluent_kafka loads only once a client is made: `crowdlog --help` loads no Kafka.
        from streams.kafka.clients import connection  # noqa: PLC0415

        return connection(self)

    def client_properties(self) -> dict[str, str]:
        """The connection's librdkafka properties, credentials revealed: a client's
        configuration, never a log line. ``client.id`` is the instance unless the properties
        file names one (and CROWDLOG_INSTANCE is unset)."""
        revealed = {name: value.value if isinstance(value, Secret) else value
                    for name, value in self.kafka_properties.items()}
        return {"client.id": self.instance, **revealed,
                "bootstrap.servers": self.bootstrap_servers}

    @property
    def secured(self) -> bool:
        """Whether the connection authenticates (SASL) or encrypts (TLS): anything but
        PLAINTEXT, the only protocol where a broker cannot refuse a client."""
        protocol = self.kafka_properties.get("security.protocol", "PLAINTEXT")
        return str(protocol).upper() != "PLAINTEXT"


def _replication(env: Mapping[str, str]) -> dict[str, Any]:
    """CROWDLOG_REPLICATION_FACTOR (default 1) and CROWDLOG_MIN_INSYNC_REPLICAS (default: the
    broker's), refused when the process starts if they cannot work: with more in-sync replicas
    required than there are replicas, every ``acks=all`` write would fail, and the first write
    would be the first to say so.

    >>> _replication({"CROWDLOG_REPLICATION_FACTOR": "3", "CROWDLOG_MIN_INSYNC_REPLICAS": "2"})
    {'replication_factor': 3, 'min_insync_replicas': 2}
    >>> _replication({})
    {'replication_factor': 1, 'min_insync_replicas': None}
    >>> _replication({"CROWDLOG_MIN_INSYNC_REPLICAS": "2"})
    Traceback (most recent call last):
    ...
    ValueError: CROWDLOG_MIN_INSYNC_REPLICAS (2) exceeds CROWDLOG_REPLICATION_FACTOR (1)
    """
    counts: dict[str, int | None] = {}
    for name in ("CROWDLOG_REPLICATION_FACTOR", "CROWDLOG_MIN_INSYNC_REPLICAS"):
        raw = env.get(name, "").strip()
        if not raw:
            counts[name] = None
            continue
        if not raw.isdecimal() or int(raw) < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, not {raw!r}")
        counts[name] = int(raw)
    factor = counts["CROWDLOG_REPLICATION_FACTOR"] or 1
    insync = counts["CROWDLOG_MIN_INSYNC_REPLICAS"]
    if insync is not None and insync > factor:
        raise ValueError(f"CROWDLOG_MIN_INSYNC_REPLICAS ({insync}) exceeds "
                         f"CROWDLOG_REPLICATION_FACTOR ({factor})")
    return {"replication_factor": factor, "min_insync_replicas": insync}


def _connection(env: Mapping[str, str]) -> dict[str, Any]:
    """The Kafka connection from the environment: the named variables over the properties file
    (CROWDLOG_KAFKA_PROPERTIES) over the defaults.

    >>> connection = _connection({"KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
    ...                           "KAFKA_SASL_PASSWORD": "pw"})
    >>> connection["kafka_properties"]
    {'security.protocol': 'SASL_SSL', 'sasl.password': Secret('***')}
    >>> connection["bootstrap_servers"]
    '127.0.0.1:9092'
    """
    properties: dict[str, str | Secret] = {}
    if env.get("CROWDLOG_KAFKA_PROPERTIES"):
        path = Path(env["CROWDLOG_KAFKA_PROPERTIES"])
        properties.update(
            (name, Secret(value) if any(word in name for word in _SECRET_WORDS) else value)
            for name, value in read_properties(path).items())
    if env.get("CROWDLOG_INSTANCE"):
        properties.pop("client.id", None)  # the named variable wins here too
    for variable, name in KAFKA_VARIABLES.items():
        if env.get(variable):
            properties[name] = env[variable]
    for variable, name in KAFKA_SECRET_VARIABLES.items():
        secret = secret_from_env(env, variable)
        if secret is not None:
            properties[name] = secret
    _check_choice(env, "KAFKA_SECURITY_PROTOCOL", SECURITY_PROTOCOLS, properties)
    _check_choice(env, "KAFKA_SASL_MECHANISM", SASL_MECHANISMS, properties)
    from_file = properties.pop("bootstrap.servers", "")
    return {"bootstrap_servers": env.get("KAFKA_BOOTSTRAP_SERVERS") or str(from_file)
            or DEFAULT_BOOTSTRAP, "kafka_properties": properties}


def read_properties(path: Path) -> dict[str, str]:
    """The ``name=value`` lines of a librdkafka properties file (``#`` and ``!`` start comment
    lines, blank lines are skipped). A malformed line is named by its number, never its text,
    which may hold a password."""
    properties = {}
    text = _read(path, "CROWDLOG_KAFKA_PROPERTIES")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "!")):
            continue
        name, equals, value = stripped.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"CROWDLOG_KAFKA_PROPERTIES: line {number} of {path} is not "
                             f"name=value")
        properties[name.strip()] = value.strip()
    return properties


def secret_from_env(env: Mapping[str, str], variable: str) -> Secret | None:
    """A credential from ``variable`` or from the file ``<variable>_FILE`` names (its final line
    break dropped); None if neither is set."""
    value, path = env.get(variable), env.get(f"{variable}_FILE")
    if value and path:
        raise ValueError(f"set {variable} or {variable}_FILE, not both")
    if not path:
        return Secret(value) if value else None
    text = _read(Path(path), f"{variable}_FILE").rstrip("\r\n")
    if not text:
        raise ValueError(f"{variable}_FILE: {path} is empty")
    return Secret(text)


def _read(path: Path, variable: str) -> str:
    """The text of the file ``variable`` names. One that cannot be read stops the process with
    the variable, the path and the reason, never with a decoding error's text, which quotes
    the file's bytes."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ValueError(f"{variable}: cannot read {path}: {reason}") from None


def _check_choice(env: Mapping[str, str], variable: str, choices: tuple[str, ...],
                  properties: dict[str, str | Secret]) -> None:
    """Refuse a value librdkafka would refuse only when the first client is made (a traceback
    then); store it in librdkafka's spelling."""
    raw = env.get(variable)
    if not raw:
        return
    if raw.upper() not in choices:
        others = " (others through CROWDLOG_KAFKA_PROPERTIES)" if variable.endswith(
            "MECHANISM") else ""
        raise ValueError(f"{variable} must be one of {', '.join(choices)}{others}, not {raw!r}")
    properties[KAFKA_VARIABLES[variable]] = raw.upper()
