"""crowdlog on a secured cluster: SASL_SSL only, a SCRAM user, mutual TLS, certificates made here.

A broker of this test alone (``kafka.sh`` with its own state and ports) gets a SASL_SSL listener
with a certificate for 127.0.0.1 signed by a CA the test makes with openssl, and requires a
client certificate from the same CA; the SCRAM-SHA-512 user is made through the broker's
PLAINTEXT listener, which nothing else uses. Every crowdlog process sees only the secured
listener and takes each setting from its documented place: the password and the client key's
password from files, the mechanism from its variable over the properties file's (which names
SCRAM-SHA-256, for which the user has no credentials). Over it: ``topics create``, ``ingest``
of three incomplete records, a ``worker``, and the test answering the HITs until consensus
decides each platform. Then wrong credentials (a password, a CA, no client certificate): each
command exits 2 within seconds (the subprocess timeout is generous) with one line naming the
cluster. Neither password appears in any output, log, or message on the cluster.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from benchmarks.secured_broker import SecuredKafka, add_scram_user, make_pki, secured_broker
from streams.codecs import default_codec
from streams.consensus.models import HandleAccepted
from streams.consumer import EventConsumer
from streams.events.ids import new_meta
from streams.events.model import Producer, Provenance
from streams.producer import EventProducer
from streams.settings import Settings
from streams.tasks.models import AssignmentSubmitted, HitPublished
from streams.tools.log_reader import watermarks
from streams.topics import CONSENSUS_RESULTS, TASKS_HITS, full_name
from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parents[2]
USER = "crowdlog-test"
FEED = """id,name,sport,league,team,country,twitter,instagram,facebook,updated_at
sec-1,Ada Runner,Athletics,Diamond League,Club A,US,,,,2026-11-01T08:00:00Z
sec-2,Ben Swimmer,Swimming,World Aquatics,Club B,US,@benswims,,,2026-11-01T08:00:00Z
sec-3,Cy Rower,Rowing,World Rowing,Club C,US,,https://www.instagram.com/cyrows/,,2026-11-01T08:00:00Z
"""
# Not one of the variables crowdlog reads may leak from the environment running the tests.
CONNECTION_VARIABLES = ("KAFKA_", "CROWDLOG_KAFKA_PROPERTIES", "CROWDLOG_TOPIC_PREFIX",
                        "CROWDLOG_INSTANCE")


@pytest.fixture
def secured_kafka(tmp_path: Path) -> Iterator[SecuredKafka]:
    for tool in ("openssl", "java"):
        if shutil.which(tool) is None:
            missing_service(f"no {tool} for the secured broker")
    with secured_broker(tmp_path / "kafka", make_pki(tmp_path / "pki"), mutual_tls=True) as kafka:
        yield kafka


def _crowdlog(env: dict[str, str], *args: str,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _assignment(hit: HitPublished, n: int, answers: dict[str, str | None]) -> AssignmentSubmitted:
    now = datetime.now(UTC)
    meta = new_meta(event_type=AssignmentSubmitted.schema_name, entity_id=hit.entity_id,
                    occurred_at=now, producer=Producer("crowd", "1.0.0", "pytest"),
                    provenance=Provenance("crowd:test", f"{hit.hit_id}-{n}"),
                    identity=[hit.hit_id, n])
    return AssignmentSubmitted(meta=meta, hit_id=hit.hit_id, assignment_id=f"{hit.hit_id}-A{n}",
                               worker_id=f"W{n}", answers=answers, accepted_at=now,
                               submitted_at=now)


def _answer(hit: HitPublished, platform: str) -> str:
    return f"{hit.provider_ref.replace('-', '')}{platform}"


def _answer_until_decided(settings: Settings, *, hits: int, timeout: float) -> list[HandleAccepted]:
    """Answer every HIT with two agreeing assignments (the quorum) as it appears, until each of
    its platforms is accepted; the acceptances (fewer if ``timeout`` passes first)."""
    codec = default_codec()
    topics = [full_name(spec, settings.topic_prefix) for spec in (TASKS_HITS, CONSENSUS_RESULTS)]
    published: dict[str, HitPublished] = {}
    accepted: dict[tuple[str, str], HandleAccepted] = {}

    def decided() -> bool:
        return len(published) == hits and all(
            (hit.hit_id, platform) in accepted
            for hit in published.values() for platform in hit.platforms)

    with EventConsumer(settings, codec, topics, f"{settings.topic_prefix}answers") as consumer, \
            EventProducer(settings, codec) as producer:
        deadline = time.monotonic() + timeout
        while not decided() and time.monotonic() < deadline:
            for consumed in consumer.events(idle_timeout=1.0):
                event = consumed.event
                if isinstance(event, HitPublished) and event.hit_id not in published:
                    published[event.hit_id] = event
                    answers: dict[str, str | None] = {p: _answer(event, p)
                                                      for p in event.platforms}
                    for n in (1, 2):
                        producer.send(_assignment(event, n, answers))
                    producer.flush()
                elif isinstance(event, HandleAccepted):
                    accepted[(event.hit_id, event.platform)] = event
    return list(accepted.values())


def _everything_on_the_cluster(settings: Settings, timeout: float = 60) -> bytes:
    """The keys and values of every message on every topic of ``settings``' prefix."""
    reader = Consumer({**settings.kafka_config(), "group.id": f"scan-{uuid.uuid4().hex}",
                       "enable.auto.commit": False})
    with closing(reader):
        names = [name for name in reader.list_topics(timeout=30).topics
                 if name.startswith(settings.topic_prefix)]
        bounds, _missing = watermarks(reader, names)
        left = {tp: high for tp, (low, high) in bounds.items() if high > low}
        reader.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in left])
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        while left and time.monotonic() < deadline:
            for message in reader.consume(500, 1.0):
                topic, partition, offset = message.topic(), message.partition(), message.offset()
                if message.error() is not None or topic is None or partition is None \
                        or offset is None:
                    continue
                chunks += [message.key() or b"", message.value() or b""]
                if offset + 1 >= left.get((topic, partition), offset + 2):
                    del left[(topic, partition)]
        assert not left, f"partitions not read to their end: {left}"
    return b"".join(chunks)


def _secured_env(kafka: SecuredKafka, password: str, directory: Path,
                 prefix: str) -> dict[str, str]:
    """The environment of every crowdlog process: the secured listener only, each setting from
    its documented place (the properties file's mechanism is overridden: the user has no
    SCRAM-SHA-256 credentials), and the pipeline deciding with two equal answers of three."""
    password_file = directory / "sasl-password"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    properties = directory / "client.properties"
    properties.write_text("# overridden by KAFKA_SASL_MECHANISM\n"
                          "sasl.mechanism=SCRAM-SHA-256\n"
                          "ssl.endpoint.identification.algorithm=https\n")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(CONNECTION_VARIABLES)},
            "KAFKA_BOOTSTRAP_SERVERS": kafka.secured, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": USER,
            "KAFKA_SASL_PASSWORD_FILE": str(password_file),
            "KAFKA_SSL_CA_LOCATION": str(kafka.pki.ca),
            "KAFKA_SSL_CERTIFICATE_LOCATION": str(kafka.pki.certificate),
            "KAFKA_SSL_KEY_LOCATION": str(kafka.pki.key),
            "KAFKA_SSL_KEY_PASSWORD_FILE": str(kafka.pki.key_password),
            "CROWDLOG_KAFKA_PROPERTIES": str(properties), "CROWDLOG_TOPIC_PREFIX": prefix,
            "CROWDLOG_STATE_DIR": str(directory / "state"), "CROWDLOG_LOG_FORMAT": "json",
            "CROWDLOG_LOG_LEVEL": "info", "CROWDLOG_CONSENSUS_METHOD": "quorum",
            "CROWDLOG_ASSIGNMENTS": "3", "CROWDLOG_QUORUM": "2"}


def _refused(env: dict[str, str], args: tuple[str, ...], servers: str, reason: str) -> str:
    """Run a command the cluster must refuse; its output, one line (a hang fails the test at
    the subprocess timeout)."""
    refused = _crowdlog(env, *args, timeout=30)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 2, (args, output)
    assert len(output.splitlines()) == 1, (args, output)
    expected = f"crowdlog: cannot authenticate to the Kafka cluster at {servers}: "
    assert output.startswith(expected), output
    assert reason in output and "Traceback" not in output
    return output


@pytest.mark.long(60)
def test_the_pipeline_runs_over_sasl_ssl_and_wrong_credentials_fail_in_one_line(
        secured_kafka: SecuredKafka, tmp_path: Path) -> None:
    kafka = secured_kafka
    password, wrong_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    add_scram_user(kafka.plaintext, USER, password)
    feed = tmp_path / "feed.csv"
    feed.write_text(FEED)
    prefix = f"secured-{uuid.uuid4().hex[:8]}."
    env = _secured_env(kafka, password, tmp_path, prefix)
    settings = Settings.from_env(env)
    outputs: list[str] = []
    started = time.monotonic()

    created = _crowdlog(env, "topics", "create")
    outputs += [created.stdout, created.stderr]
    assert created.returncode == 0, created.stderr
    ingested = _crowdlog(env, "ingest", str(feed), "--provider", "acme", "--no-progress")
    outputs += [ingested.stdout, ingested.stderr]
    assert ingested.returncode == 0, ingested.stderr
    assert "accepted   3" in ingested.stdout

    worker_log = tmp_path / "worker.log"
    with worker_log.open("w") as log:
        worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], cwd=ROOT,
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        accepted = _answer_until_decided(settings, hits=3, timeout=180)
    finally:
        worker.send_signal(signal.SIGTERM)
        stopped = worker.wait(60)
    assert sorted((a.platform, a.handle) for a in accepted) == sorted(
        [("twitter", "sec1twitter"), ("instagram", "sec1instagram"),
         ("facebook", "sec1facebook"), ("instagram", "sec2instagram"),
         ("facebook", "sec2facebook"), ("twitter", "sec3twitter"),
         ("facebook", "sec3facebook")]), worker_log.read_text()[-3000:]
    assert all(a.method.startswith("quorum") for a in accepted)
    assert stopped == 0, worker_log.read_text()[-3000:]
    print(f"secured pipeline slice: {time.monotonic() - started:.1f} s")  # -rP shows it

    wrong_password_env = {**{k: v for k, v in env.items() if k != "KAFKA_SASL_PASSWORD_FILE"},
                          "KAFKA_SASL_PASSWORD": wrong_password}
    wrong_ca = {**env, "KAFKA_SSL_CA_LOCATION": str(kafka.pki.other_ca)}
    no_certificate = {k: v for k, v in env.items() if not k.startswith("KAFKA_SSL_KEY")
                      and k != "KAFKA_SSL_CERTIFICATE_LOCATION"}
    outputs += [
        _refused(wrong_password_env, ("topics", "create"), kafka.secured, "invalid credentials"),
        _refused(wrong_password_env, ("worker",), kafka.secured, "invalid credentials"),
        _refused(wrong_password_env, ("ingest", str(feed), "--provider", "acme", "--no-progress"),
                 kafka.secured, "invalid credentials"),
        _refused(wrong_ca, ("tail", full_name(TASKS_HITS, prefix), "--idle-timeout", "5"),
                 kafka.secured, "certificate verify failed"),
        _refused(no_certificate, ("topics", "create"), kafka.secured, "SSL alert number"),
    ]

    logs = [worker_log.read_text(errors="replace"),
            *(path.read_text(errors="replace") for path in kafka.state.glob("*.log*"))]
    cluster = _everything_on_the_cluster(settings)
    assert b"sec1twitter" in cluster  # the scan did read the events
    for secret in (password, wrong_password):
        assert not any(secret in text for text in [*outputs, *logs]), "a password leaked"
        assert secret.encode() not in cluster, "a password reached the cluster"
