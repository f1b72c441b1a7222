"""A private Kafka broker with a SASL_SSL listener beside its PLAINTEXT one, and what it needs.

Shared by tests/integration/test_secured_cluster.py (does crowdlog work over a secured cluster)
and benchmarks/secured.py (what the security costs), so both run against the same setup:
``infra/kafka/kafka.sh`` with its own state directory and free ports, a certificate for
127.0.0.1 signed by a CA made here with openssl, and SCRAM-SHA-512 users made through the
PLAINTEXT listener (kafka.sh passes no password). Never the shared broker of 127.0.0.1:9092:
what is restarted and purged here must be nobody else's.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports nothing listens on now: bound together, so no two are the same."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def openssl(*args: str, cwd: Path) -> None:
    """Run openssl in ``cwd``; its chatter is captured, a failure raises."""
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class Pki:
    """The broker's TLS directory (``kafka.sh``'s CROWDLOG_KAFKA_SSL_DIR) and the client's
    files: the CA, its certificate, and its key, encrypted with the password in ``key_password``.
    ``other_ca`` signed nothing the broker holds."""

    broker_dir: Path
    ca: Path
    certificate: Path
    key: Path
    key_password: Path
    other_ca: Path


def make_pki(directory: Path) -> Pki:
    """Two CAs, a broker certificate for 127.0.0.1 and a client certificate signed by the first,
    in ``directory`` (made here). The broker's directory holds its key and certificate only;
    ``secured_broker`` adds the CA there when client certificates are to be required."""
    broker_dir = directory / "broker"
    broker_dir.mkdir(parents=True)
    (directory / "key-password").write_text(secrets.token_urlsafe(12) + "\n")
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", f"/CN=crowdlog test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                cwd=directory)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "broker.key", "-out", "broker.csr", cwd=directory)
    openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "broker.crt",
            cwd=directory)
    openssl("req", "-newkey", "rsa:2048", "-passout", "file:key-password",
            "-subj", "/CN=crowdlog-client", "-keyout", "client.key", "-out", "client.csr",
            cwd=directory)
    openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", "client.crt", cwd=directory)
    (broker_dir / "broker.pem").write_text(
        (directory / "broker.key").read_text() + (directory / "broker.crt").read_text())
    return Pki(broker_dir, directory / "ca.pem", directory / "client.crt",
               directory / "client.key", directory / "key-password", directory / "other-ca.pem")


def kafka_sh(env: Mapping[str, str], *args: str) -> str:
    """Run ``infra/kafka/kafka.sh`` with ``args``; its stdout. A failure raises with all it
    printed (its stderr says why: a port taken, the broker's last log lines)."""
    done = subprocess.run(["bash", str(ROOT / "infra/kafka/kafka.sh"), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=180, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"kafka.sh {' '.join(args)}:\n{done.stdout}{done.stderr}")
    return done.stdout


def _require_client_certificates(pki: Pki, required: bool) -> None:
    """kafka.sh requires client certificates when the broker's TLS directory holds ``ca.pem``
    (it rewrites the broker's configuration on every start)."""
    trusted = pki.broker_dir / "ca.pem"
    if required:
        shutil.copy(pki.ca, trusted)
    else:
        trusted.unlink(missing_ok=True)


@dataclass(frozen=True)
class SecuredKafka:
    """A running private broker: ``plaintext`` and ``secured`` (SASL_SSL) are its listeners,
    ``state`` the directory of its data and logs, ``pki`` the TLS material it trusts."""

    plaintext: str
    secured: str
    state: Path
    pki: Pki
    # kafka.sh's environment for this broker (the whole environment: not for a repr)
    env: Mapping[str, str] = field(repr=False, compare=False)

    def restart(self, *, mutual_tls: bool) -> None:
        """Stop the broker, its data kept (topics, SCRAM users), and start it again requiring
        client certificates or not: one listener cannot do both, and a broker of its own per
        case would cost a second JVM on a machine that measures throughput."""
        kafka_sh(self.env, "down")
        _require_client_certificates(self.pki, mutual_tls)
        kafka_sh(self.env, "up")


@contextmanager
def secured_broker(directory: Path, pki: Pki, *, mutual_tls: bool) -> Iterator[SecuredKafka]:
    """A broker of its own (state in ``directory``, free ports) with a PLAINTEXT listener and a
    SASL_SSL one presenting ``pki``'s broker certificate, requiring a client certificate signed
    by ``pki.ca`` with ``mutual_tls``; stopped and its data deleted on the way out."""
    port, controller, secured = free_ports(3)
    _require_client_certificates(pki, mutual_tls)
    # Without KAFKA_BOOTSTRAP_SERVERS: set, it tells kafka.sh to use that cluster instead.
    env = {**{k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"},
           "CROWDLOG_STATE_DIR": str(directory), "CROWDLOG_KAFKA_PORT": str(port),
           "CROWDLOG_KAFKA_CONTROLLER_PORT": str(controller),
           "CROWDLOG_KAFKA_SASL_SSL_PORT": str(secured),
           "CROWDLOG_KAFKA_SSL_DIR": str(pki.broker_dir)}
    try:
        kafka_sh(env, "up")
        yield SecuredKafka(f"127.0.0.1:{port}", f"127.0.0.1:{secured}", directory / "kafka",
                           pki, env)
    finally:
        kafka_sh(env, "down", "--purge")


def add_scram_user(plaintext: str, user: str, password: str) -> None:
    """Give ``user`` SCRAM-SHA-512 credentials, through the PLAINTEXT listener ``plaintext``."""
    admin = AdminClient(Settings(bootstrap_servers=plaintext).kafka_config())
    upsert = UserScramCredentialUpsertion(
        user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password.encode())
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result()
