"""`make bench`: crowdlog's producer, consumer and codec against raw confluent-kafka.

Everything is measured in one run on the same broker, so the ratios hold on any machine:

* baseline: raw confluent-kafka produces N pre-encoded messages, then consumes them
  (same producer settings as crowdlog: idempotent, acks=all, lz4, linger 5 ms);
* crowdlog: the same N events as typed objects through ``EventProducer.send`` (which encodes)
  and ``EventConsumer.events`` (which decodes and yields typed events);
* the codec alone, and the producer API with pre-encoded bytes, to show where time goes;
* crowdlog's stage runner (decode, step, encode, produce, state to the changelog, commit after
  the flush) and a Faust agent that decodes, re-encodes and forwards, against a raw
  consume->produce loop doing the same decode and encode (DESIGN.md section 8).

Consumer timings start at the first message, so group joins do not count.
Set CROWDLOG_BENCH_N (default 100000), CROWDLOG_BENCH_ROUNDS (default 3; medians are
printed) and CROWDLOG_BENCH_FAUST_N (default 20000).
"""

from __future__ import annotations

import gc
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, Message
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from benchmarks._broker import produce_all, warm_raw_producer
from benchmarks.faust_forward import running
from streams.codecs import default_codec
from streams.consumer import EventConsumer
from streams.events.codec import Codec
from streams.events.model import Producer as StageProducer
from streams.producer import EventProducer
from streams.records.core import normalise_row
from streams.records.models import RecordReceived
from streams.runner import RunnerConfig, StageRunner
from streams.settings import Settings
from streams.stage import Stage
from streams.topics import RECORDS_RECEIVED, TopicSpec, full_name

ENTITIES = 5_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Result:
    name: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def make_events(n: int) -> list[RecordReceived]:
    producer = StageProducer("records", "1.0.0", "bench")
    events = []
    for i in range(n):
        row = {"id": f"{i % ENTITIES}-{i}", "name": f"Athlete Number {i}", "sport": "basketball",
               "league": "NBA", "team": "Los Angeles Lakers", "country": "US",
               "instagram": f"athlete{i}", "updated_at": "2026-11-01T08:00:00Z"}
        event = normalise_row(row, provider="bench", received_at=T0, producer=producer)
        assert isinstance(event, RecordReceived)
        events.append(event)
    return events


def send_all(producer: EventProducer, events: list[RecordReceived]) -> None:
    for event in events:
        producer.send(event)
    producer.flush(60)


def send_all_encoded(producer: EventProducer, encoded: list[tuple[bytes, bytes]],
                     topic: str) -> None:
    for key, value in encoded:
        producer.send_encoded(key.decode(), value, topic)
    producer.flush(60)


def encode_all(codec: Codec, events: list[RecordReceived]) -> None:
    for event in events:
        codec.encode(event)


def decode_all(codec: Codec, encoded: list[tuple[bytes, bytes]]) -> None:
    for _, value in encoded:
        codec.decode(value)


def timed(name: str, n: int, work: Callable[[], object]) -> Result:
    start = time.perf_counter()
    work()
    return Result(name, n, time.perf_counter() - start)


def warm_producer(settings: Settings, codec: Codec, topic: str) -> EventProducer:
    producer = EventProducer(settings, codec)
    producer.send_encoded("warm-up", b"warm-up", f"{topic}-warmup")
    producer.flush(30)
    return producer


def raw_consume(bootstrap: str, topic: str, n: int,
                handle: Callable[[Message], None] | None = None) -> float:
    """Seconds from the first of ``n`` messages to the last, each passed to ``handle``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.offset.store": "false"})
    consumer.subscribe([topic])
    got, start = 0, 0.0
    while got < n:
        messages = consumer.consume(500, 1.0)
        if messages and not start:
            start = time.perf_counter()
        for msg in messages:
            if msg.error() is None:
                got += 1
                if handle is not None:
                    handle(msg)
    elapsed = time.perf_counter() - start
    consumer.close()
    return elapsed


def crowdlog_consume(settings: Settings, codec: Codec, topic: str, n: int) -> float:
    got, start = 0, 0.0
    with EventConsumer(settings, codec, [topic], f"bench-{uuid.uuid4()}") as consumer:
        for consumed in consumer.events():
            if not start:
                start = time.perf_counter()
            got += consumed.offset >= 0
            if got == n:
                break
    return time.perf_counter() - start


def raw_forward(bootstrap: str, codec: Codec, source: str, target: str, n: int) -> float:
    """The raw clients doing the Faust agent's work: decode, re-encode, produce."""
    producer = warm_raw_producer(bootstrap, target)

    def forward(msg: Message) -> None:
        value = msg.value()
        assert isinstance(value, bytes)
        producer.produce(target, value=codec.encode(codec.decode(value)), key=msg.key())
        producer.poll(0)

    elapsed = raw_consume(bootstrap, source, n, forward)
    start = time.perf_counter()
    producer.flush(60)
    return elapsed + time.perf_counter() - start


def faust_forward(settings: Settings, source: str, target: str, n: int) -> float:
    """Time from the first to the n-th event the Faust forwarder delivers to ``target``."""
    with tempfile.TemporaryDirectory() as state, running(settings, source, target, Path(state)):
        return raw_consume(settings.bootstrap_servers, target, n)


def runner_forward(settings: Settings, codec: Codec, n: int) -> float:
    """Time from the first to the n-th event the stage runner delivers: each event decoded,
    stepped (its state written to the changelog, as the crowd stages do), encoded, produced."""
    source = TopicSpec("src", (RecordReceived,), partitions=6)
    stage = Stage("forward", (source,), lambda _key, _stored, event: ({"last": event.event_id},
                                                                      [event]),
                  StageProducer("bench", "1.0.0", "bench"))
    runner = StageRunner(settings, codec, [stage],
                         RunnerConfig(group_id=f"{settings.topic_prefix}runner"))
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        return raw_consume(settings.bootstrap_servers,
                           full_name(RECORDS_RECEIVED, settings.topic_prefix), n)
    finally:
        stop.set()
        thread.join(60)


def one_round(bootstrap: str, codec: Codec, events: list[RecordReceived],
              encoded: list[tuple[bytes, bytes]]) -> dict[str, float]:
    """Seconds each path takes for the same events, on topics of this round alone."""
    n = len(events)
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    settings = Settings(bootstrap_servers=bootstrap, topic_prefix=prefix, instance="bench")
    raw_topic, ours_topic, api_topic = (f"{prefix}raw", full_name(RECORDS_RECEIVED, prefix),
                                        f"{prefix}api")
    names = [raw_topic, ours_topic, api_topic]
    names += [f"{name}-warmup" for name in names]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(t, 6, 1) for t in names]).values():
        future.result()
    seconds: dict[str, float] = {}

    def measure(name: str, work: Callable[[], object]) -> None:
        seconds[name] = timed(name, n, work).seconds

    def decode(msg: Message) -> None:
        value = msg.value()
        assert isinstance(value, bytes)
        codec.decode(value)

    try:
        measure("codec encode", lambda: encode_all(codec, events))
        measure("codec decode", lambda: decode_all(codec, encoded))
        raw = warm_raw_producer(bootstrap, raw_topic)
        messages = [(raw_topic, key, value) for key, value in encoded]
        measure(RAW_PRODUCE, lambda: produce_all(raw, messages))
        seconds[RAW_CONSUME] = raw_consume(bootstrap, raw_topic, n)
        seconds[RAW_CONSUME_DECODE] = raw_consume(bootstrap, raw_topic, n, decode)
        with warm_producer(settings, codec, ours_topic) as producer:
            measure(OURS_PRODUCE, lambda: send_all(producer, events))
        with warm_producer(settings, codec, api_topic) as producer:
            measure(OURS_PRODUCE_ENCODED, lambda: send_all_encoded(producer, encoded, api_topic))
        seconds[OURS_CONSUME] = crowdlog_consume(settings, codec, ours_topic, n)
    finally:
        admin.delete_topics(names)
    return seconds


def faust_round(bootstrap: str, codec: Codec,
                encoded: list[tuple[bytes, bytes]]) -> tuple[Result, Result, Result]:
    """The stage runner and the Faust forwarder against a raw loop doing the same
    decode->encode->produce."""
    n = len(encoded)
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    settings = Settings(bootstrap_servers=bootstrap, topic_prefix=prefix, instance="bench")
    source, raw_target, faust_target = f"{prefix}src", f"{prefix}raw", f"{prefix}faust"
    names = [source, raw_target, faust_target, f"{source}-warmup", f"{raw_target}-warmup",
             full_name(RECORDS_RECEIVED, prefix)]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(t, 6, 1) for t in names]).values():
        future.result()
    try:
        raw = warm_raw_producer(bootstrap, source)
        produce_all(raw, ((source, k, v) for k, v in encoded))
        raw_f = Result(RAW_FORWARD, n, raw_forward(bootstrap, codec, source, raw_target, n))
        runner_f = Result(RUNNER_FORWARD, n, runner_forward(settings, codec, n))
        faust_f = Result(FAUST_FORWARD, n, faust_forward(settings, source, faust_target, n))
    finally:
        admin.delete_topics([*names, f"{prefix}crowdlog-forward-state-changelog"])
    return raw_f, runner_f, faust_f


RAW_PRODUCE, RAW_CONSUME, RAW_CONSUME_DECODE = "raw produce", "raw consume", "raw consume+decode"
OURS_PRODUCE, OURS_PRODUCE_ENCODED = "crowdlog produce (encodes)", "crowdlog produce, pre-encoded"
OURS_CONSUME = "crowdlog consume (decodes)"
BASELINE, OURS = "baseline: raw produce+consume", "crowdlog produce+consume"
RAW_FORWARD, FAUST_FORWARD = "raw consume->decode->encode->produce", "Faust agent forward"
RUNNER_FORWARD = "crowdlog stage runner forward"
REFERENCES = {OURS_PRODUCE: RAW_PRODUCE, OURS_PRODUCE_ENCODED: RAW_PRODUCE,
              OURS_CONSUME: RAW_CONSUME_DECODE, OURS: BASELINE, FAUST_FORWARD: RAW_FORWARD}


def main() -> None:
    n = int(os.environ.get("CROWDLOG_BENCH_N", "100000"))
    n_faust = int(os.environ.get("CROWDLOG_BENCH_FAUST_N", "20000"))
    rounds = int(os.environ.get("CROWDLOG_BENCH_ROUNDS", "3"))
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    codec = default_codec()
    print(f"building {n} events ...", flush=True)
    events = make_events(n)
    encoded = [(e.entity_id.encode(), codec.encode(e)) for e in events]
    # The inputs live for the whole run; keep the collector from rescanning them in every
    # timed section (the raw paths allocate almost nothing, ours allocate per event).
    gc.collect()
    gc.freeze()

    measured = []
    for number in range(1, rounds + 1):
        print(f"round {number}/{rounds} ...", flush=True)
        measured.append(one_round(bootstrap, codec, events, encoded))
    seconds = {name: statistics.median(r[name] for r in measured) for name in measured[0]}
    seconds[BASELINE] = seconds[RAW_PRODUCE] + seconds[RAW_CONSUME]
    seconds[OURS] = seconds[OURS_PRODUCE] + seconds[OURS_CONSUME]
    print("stage runner and Faust round ...", flush=True)
    raw_f, runner_f, faust_f = faust_round(bootstrap, codec, encoded[:n_faust])

    print(f"\nmedian of {rounds} rounds, {n} events each")
    print(f"{'path':<40}{'events/s':>12}  {'ratio':<6} reference")
    for name, spent in seconds.items():
        reference = REFERENCES.get(name)
        ratio = f"{seconds[reference] / spent:<6.0%} {reference}" if reference else ""
        print(f"{name:<40}{n / spent:>12,.0f}  {ratio}")
    print(f"{RAW_FORWARD:<40}{raw_f.rate:>12,.0f}")
    for forward in (runner_f, faust_f):
        print(f"{forward.name:<40}{forward.rate:>12,.0f}  "
              f"{raw_f.seconds / forward.seconds:<6.0%} {RAW_FORWARD} ({n_faust} events, "
              "one round)")
    print(f"\ncrowdlog path vs raw confluent-kafka: {seconds[BASELINE] / seconds[OURS]:.0%} "
          "(target 70%)")


if __name__ == "__main__":
    main()
