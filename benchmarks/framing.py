"""`make bench`: the Confluent wire format (registry mode) against single-object framing.

Both framings carry the same Avro body; what differs is the header and how the writer schema is
found: a fingerprint looked up in the local store, or a schema id resolved once through the
registry and cached. The run encodes and decodes the same events both ways, in the same process,
medians of three rounds, and prints the ratio. It needs a registry
(``CROWDLOG_SCHEMA_REGISTRY_URL``; ``make bench`` starts one); without one it says so and
measures nothing.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid

from benchmarks.throughput import make_events
from streams.codecs import default_codec
from streams.events.codec import Codec
from streams.records.models import RecordReceived
from streams.topics import event_types

ROUNDS = 3


def _encode(codec: Codec, events: list[RecordReceived], topic: str | None) -> list[bytes]:
    if topic is None:
        return [codec.encode(event) for event in events]
    return [codec.encode_for(event, topic) for event in events]


def _decode(codec: Codec, encoded: list[bytes]) -> None:
    for data in encoded:
        codec.decode(data)


def _median_seconds(work: object) -> float:
    assert callable(work)
    spent = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        work()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent)


def main() -> None:
    url = (os.environ.get("CROWDLOG_SCHEMA_REGISTRY_URL")
           or os.environ.get("CROWDLOG_TEST_SCHEMA_REGISTRY_URL"))  # as `make bench` passes it
    if not url:
        print("framing: no CROWDLOG_SCHEMA_REGISTRY_URL, nothing measured")
        return
    n = int(os.environ.get("CROWDLOG_BENCH_FRAMING_N", "50000"))
    events = make_events(n)
    registry = default_codec(registry_url=url)
    single = Codec(registry.store, event_types())  # the same store, no registry
    topic = f"bench-{uuid.uuid4().hex[:8]}.records.received"
    registry.encode_for(events[0], topic)  # registered once, outside the timing
    single_bytes = _encode(single, events, None)
    registry_bytes = _encode(registry, events, topic)
    registry.decode(registry_bytes[0])  # the id resolved once, outside the timing
    rows = [
        ("encode", _median_seconds(lambda: _encode(single, events, None)),
         _median_seconds(lambda: _encode(registry, events, topic))),
        ("decode", _median_seconds(lambda: _decode(single, single_bytes)),
         _median_seconds(lambda: _decode(registry, registry_bytes))),
    ]
    print(f"\nframing, {n} RecordReceived events, median of {ROUNDS} rounds")
    print(f"{'':<8}{'single-object µs':>18}{'registry µs':>14}{'registry / single':>20}")
    for name, plain, framed in rows:
        print(f"{name:<8}{plain / n * 1e6:>18.2f}{framed / n * 1e6:>14.2f}{framed / plain:>20.2f}")
    print(f"message size: single-object {len(single_bytes[0])} bytes, registry "
          f"{len(registry_bytes[0])} bytes")


if __name__ == "__main__":
    main()
