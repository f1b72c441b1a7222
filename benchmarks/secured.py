"""`make bench`: crowdlog's producer+consumer path over SASL_SSL against PLAINTEXT (issue 12).

A managed cluster is reached over SASL_SSL, while benchmarks.throughput measures PLAINTEXT: this
says what TLS and SCRAM cost. One private broker (benchmarks.secured_broker, never the shared
one) listens with PLAINTEXT, its normal client port, and with SASL_SSL, SCRAM-SHA-512 over TLS.
Each round sends the same N RecordReceived events through ``EventProducer.send`` and reads them
back with ``EventConsumer.events``, once per listener, each time on topics of its own; medians of
the rounds, and the SASL_SSL/PLAINTEXT ratio of events/s, both measured in the same run.

As in benchmarks.throughput, producers are warmed up and consumer timings start at the first
message, so connecting, SCRAM's handshake and group joins do not count: what is left is what a
long-running service pays per event, the encryption of every batch. The common managed-cluster
case comes first: TLS without client certificates. Then the broker restarts requiring them
(mutual TLS) and the rounds run again, PLAINTEXT included, so that ratio too compares
measurements of the same broker process.

Set CROWDLOG_BENCH_SECURED_N (default 50000) and CROWDLOG_BENCH_ROUNDS (default 3).
"""

from __future__ import annotations

import gc
import os
import secrets
import statistics
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from benchmarks.secured_broker import SecuredKafka, add_scram_user, make_pki, secured_broker
from benchmarks.throughput import crowdlog_consume, make_events, send_all, timed, warm_producer
from streams.codecs import default_codec
from streams.events.codec import Codec
from streams.records.models import RecordReceived
from streams.settings import Settings
from streams.topics import RECORDS_RECEIVED, full_name

USER = "crowdlog-bench"
PLAINTEXT, SASL_SSL = "PLAINTEXT", "SASL_SSL, SCRAM-SHA-512"
MUTUAL_TLS = f"{SASL_SSL}, mutual TLS"
# a median of (produce, consume) seconds for each connection
Timings = dict[str, tuple[float, float]]


def connections(kafka: SecuredKafka, password: str, *, mutual_tls: bool) -> dict[str, Settings]:
    """The PLAINTEXT connection and the SASL_SSL one, each from the variables a user would set
    (streams.settings), the client certificate among them with ``mutual_tls``."""
    secured = {"KAFKA_BOOTSTRAP_SERVERS": kafka.secured, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
               "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": USER,
               "KAFKA_SASL_PASSWORD": password, "KAFKA_SSL_CA_LOCATION": str(kafka.pki.ca),
               "CROWDLOG_INSTANCE": "bench"}
    if mutual_tls:
        secured |= {"KAFKA_SSL_CERTIFICATE_LOCATION": str(kafka.pki.certificate),
                    "KAFKA_SSL_KEY_LOCATION": str(kafka.pki.key),
                    "KAFKA_SSL_KEY_PASSWORD_FILE": str(kafka.pki.key_password)}
    plaintext = {"KAFKA_BOOTSTRAP_SERVERS": kafka.plaintext, "CROWDLOG_INSTANCE": "bench"}
    return {PLAINTEXT: Settings.from_env(plaintext),
            MUTUAL_TLS if mutual_tls else SASL_SSL: Settings.from_env(secured)}


def produce_consume(settings: Settings, admin: AdminClient, codec: Codec,
                    events: list[RecordReceived]) -> tuple[float, float]:
    """Seconds to send ``events`` over ``settings``' connection and to read them back, on a
    topic of this measurement alone (made and deleted through ``admin``)."""
    settings = replace(settings, topic_prefix=f"bench-{uuid.uuid4().hex[:8]}.")
    topic = full_name(RECORDS_RECEIVED, settings.topic_prefix)
    names = [topic, f"{topic}-warmup"]
    for future in admin.create_topics([NewTopic(t, 6, 1) for t in names]).values():
        future.result()
    try:
        with warm_producer(settings, codec, topic) as producer:
            produced = timed(topic, len(events), lambda: send_all(producer, events)).seconds
        return produced, crowdlog_consume(settings, codec, topic, len(events))
    finally:
        admin.delete_topics(names)


def measure(paths: dict[str, Settings], admin: AdminClient, codec: Codec,
            events: list[RecordReceived], rounds: int) -> Timings:
    """Median seconds of each connection over ``rounds`` rounds, every round measuring each,
    which one goes first alternating: a broker still warming up or a machine busy for a while
    favours neither."""
    measured: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
    for number in range(1, rounds + 1):
        print(f"round {number}/{rounds} ...", flush=True)
        order = list(paths.items())
        for name, settings in order if number % 2 else reversed(order):
            measured[name].append(produce_consume(settings, admin, codec, events))
    return {name: (statistics.median(p for p, _ in runs), statistics.median(c for _, c in runs))
            for name, runs in measured.items()}


def report(timings: Timings, n: int) -> None:
    """events/s producing, consuming and both (the path), and each path against PLAINTEXT's."""
    print(f"{'connection':<36}{'produce/s':>11}{'consume/s':>11}{'events/s':>11}  vs PLAINTEXT")
    plaintext = sum(timings[PLAINTEXT])
    for name, (produced, consumed) in timings.items():
        ratio = "" if name == PLAINTEXT else f"{plaintext / (produced + consumed):.0%}"
        print(f"{name:<36}{n / produced:>11,.0f}{n / consumed:>11,.0f}"
              f"{n / (produced + consumed):>11,.0f}  {ratio}".rstrip())


def main() -> None:
    n = int(os.environ.get("CROWDLOG_BENCH_SECURED_N", "50000"))
    rounds = int(os.environ.get("CROWDLOG_BENCH_ROUNDS", "3"))
    codec = default_codec()
    print(f"building {n} events ...", flush=True)
    events = make_events(n)
    # The events live for the whole run: keep the collector from rescanning them while timing.
    gc.collect()
    gc.freeze()
    password = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="crowdlog-secured-") as temporary:
        directory = Path(temporary)
        pki = make_pki(directory / "pki")
        started = time.perf_counter()
        with secured_broker(directory / "kafka", pki, mutual_tls=False) as kafka:
            start_seconds = time.perf_counter() - started
            print(f"private broker up in {start_seconds:.1f} s", flush=True)
            add_scram_user(kafka.plaintext, USER, password)
            admin = AdminClient(Settings(bootstrap_servers=kafka.plaintext).kafka_config())
            one_way = measure(connections(kafka, password, mutual_tls=False), admin, codec,
                              events, rounds)
            started = time.perf_counter()
            kafka.restart(mutual_tls=True)
            restart_seconds = time.perf_counter() - started
            print(f"restarted requiring client certificates in {restart_seconds:.1f} s",
                  flush=True)
            mutual = measure(connections(kafka, password, mutual_tls=True), admin, codec,
                             events, rounds)

    print(f"\nmedian of {rounds} rounds, {n} events each; one private broker, up in "
          f"{start_seconds:.1f} s")
    report(one_way, n)
    print(f"\nthe same broker restarted requiring client certificates ({restart_seconds:.1f} s)")
    report(mutual, n)


if __name__ == "__main__":
    main()
