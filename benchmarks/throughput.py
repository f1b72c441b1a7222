"""`make bench`: crowdlog's producer, consumer and codec against raw confluent-kafka.

Everything is measured in one run on the same broker, so the ratios hold on any machine:

* baseline: raw confluent-kafka produces N pre-encoded messages, then consumes them
  (same producer settings as crowdlog: idempotent, acks=all, lz4, linger 5 ms);
* crowdlog: the same N events as typed objects through ``EventProducer.send`` (which encodes)
  and ``EventConsumer.events`` (which decodes and yields typed events);
* the codec alone, and the producer API with pre-encoded bytes, to show where time goes;
* a Faust agent that decodes, re-encodes and forwards, against a raw consume->produce loop
  doing the same work (DESIGN.md section 8).

Consumer timings start at the first message, so group joins do not count.
Set CROWDLOG_BENCH_N (default 100000) and CROWDLOG_BENCH_FAUST_N (default 20000).
"""

from __future__ import annotations

import gc
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from benchmarks.faust_forward import running
from streams.codecs import default_codec
from streams.consumer import EventConsumer
from streams.events.codec import Codec
from streams.events.model import Producer as StageProducer
from streams.producer import PRODUCER_DEFAULTS, EventProducer
from streams.records.core import normalise_row
from streams.records.models import RecordReceived
from streams.settings import Settings
from streams.topics import RECORDS_RECEIVED, full_name

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


def warm_raw_producer(bootstrap: str, topic: str) -> Producer:
    """A producer that has its metadata and idempotence id already, so timing is throughput."""
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_DEFAULTS})
    producer.produce(f"{topic}-warmup", value=b"warm-up")
    assert producer.flush(30) == 0
    return producer


def raw_produce(producer: Producer, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value=value, key=key)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0


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
    with running(settings, source, target):
        return raw_consume(settings.bootstrap_servers, target, n)


def main() -> None:
    n = int(os.environ.get("CROWDLOG_BENCH_N", "100000"))
    n_faust = int(os.environ.get("CROWDLOG_BENCH_FAUST_N", "20000"))
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    settings = Settings(bootstrap_servers=bootstrap, topic_prefix=prefix, instance="bench")
    codec = default_codec()
    names = [f"{prefix}raw", full_name(RECORDS_RECEIVED, prefix), f"{prefix}fwd-src",
             f"{prefix}fwd-raw", f"{prefix}fwd-faust", f"{prefix}deadletter", f"{prefix}api"]
    names += [f"{name}-warmup" for name in names]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(t, 6, 1) for t in names]).values():
        future.result()

    print(f"building {n} events ...", flush=True)
    events = make_events(n)
    encoded = [(e.entity_id.encode(), codec.encode(e)) for e in events]
    # The inputs live for the whole run; keep the collector from rescanning them in every
    # timed section (the raw paths allocate almost nothing, ours allocate per event).
    gc.collect()
    gc.freeze()
    results: list[Result] = []
    try:
        results.append(timed("codec encode", n, lambda: encode_all(codec, events)))
        results.append(timed("codec decode", n, lambda: decode_all(codec, encoded)))

        raw = warm_raw_producer(bootstrap, names[0])
        raw_p = timed("raw produce", n, lambda: raw_produce(raw, names[0], encoded))
        raw_c = Result("raw consume", n, raw_consume(bootstrap, names[0], n))
        with warm_producer(settings, codec, names[1]) as producer:
            ours_p = timed("crowdlog produce (encodes)", n, lambda: send_all(producer, events))
        with warm_producer(settings, codec, names[6]) as producer:
            api_p = timed("crowdlog produce, pre-encoded", n,
                          lambda: send_all_encoded(producer, encoded, names[6]))
        ours_c = Result("crowdlog consume (decodes)", n,
                        crowdlog_consume(settings, codec, names[1], n))
        baseline = Result("baseline: raw produce+consume", n, raw_p.seconds + raw_c.seconds)
        ours = Result("crowdlog produce+consume", n, ours_p.seconds + ours_c.seconds)
        results += [raw_p, raw_c, ours_p, api_p, ours_c, baseline, ours]

        raw_produce(raw, names[2], encoded[:n_faust])
        raw.flush(60)
        raw_f = Result("raw consume->decode->encode->produce", n_faust,
                       raw_forward(bootstrap, codec, names[2], names[3], n_faust))
        faust_f = Result("Faust agent decode->encode->forward", n_faust,
                         faust_forward(settings, names[2], names[4], n_faust))
        results += [raw_f, faust_f]
    finally:
        admin.delete_topics(names)

    print(f"\n{'path':<42}{'events':>9}{'events/s':>12}{'ratio':>9}")
    reference = {"raw produce": raw_p, "raw consume": raw_c, "crowdlog produce (encodes)": raw_p,
                 "crowdlog produce, pre-encoded": raw_p, "crowdlog consume (decodes)": raw_c,
                 "crowdlog produce+consume": baseline,
                 "Faust agent decode->encode->forward": raw_f}
    for result in results:
        base = reference.get(result.name)
        ratio = f"{result.rate / base.rate:8.0%}" if base and base is not result else ""
        print(f"{result.name:<42}{result.events:>9}{result.rate:>12,.0f}{ratio:>9}")
    print(f"\ncrowdlog path vs raw confluent-kafka: {ours.rate / baseline.rate:.0%} "
          f"(target 70%); Faust forward vs raw loop: {faust_f.rate / raw_f.rate:.0%}")


if __name__ == "__main__":
    main()
