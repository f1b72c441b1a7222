"""What the broker benchmarks share: a warmed-up raw producer and a raw produce loop.

Both use crowdlog's producer settings (idempotent, acks=all, lz4, linger 5 ms, the Java
partitioner), so a raw path and crowdlog's differ only in the code around the client.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Producer

from streams.producer import PRODUCER_DEFAULTS


def warm_raw_producer(bootstrap: str, topic: str) -> Producer:
    """A producer that has its metadata and idempotence id already, so timing is throughput."""
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_DEFAULTS})
    producer.produce(f"{topic}-warmup", value=b"warm-up")
    assert producer.flush(30) == 0
    return producer


def produce_all(producer: Producer, messages: Iterable[tuple[str, bytes, bytes]]) -> None:
    """Produce ``(topic, key, value)`` in order, waiting out a full local queue; all delivered."""
    for topic, key, value in messages:
        while True:
            try:
                producer.produce(topic, value=value, key=key)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0
