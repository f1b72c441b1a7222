"""What the lineage stage costs per event, in time and memory, against the least any index does.

The lineage stage (``crowdlog propagate``) folds the whole log into memory and walks it when a
redaction arrives. On the log of an in-process run of a simulated world (crowd, enrichment,
prediction: the real event mix), this prints, each against a baseline measured in the same run:

* building the state: ``observe`` on every event, against a loop that only indexes children by
  parent id (the least any lineage index does), and against decoding the same events (what the
  service does to every message before ``observe`` sees it);
* memory: bytes the state keeps per event (tracemalloc, events decoded and dropped as in the
  service), against the bare parent index built the same way;
* propagation: one redaction of every consensus decision, against a breadth-first walk of the
  bare index from the same roots.

Run: ``python -m benchmarks.lineage [--athletes N]``.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from streams.codecs import default_codec
from streams.events.model import Event
from streams.lineage.commands import request_from_args
from streams.lineage.core import LineageConfig, LineageState, observe
from streams.lineage.models import EventRetracted, RedactionRequested
from streams.settings import Settings
from streams.simulation.local import run_local
from streams.world.generate import generate_world
from streams.world.model import WorldConfig

T = TypeVar("T")
ROUNDS = 3


def _best(run: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``ROUNDS`` runs (seconds) and its result."""
    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        result = run()
        timings.append((time.perf_counter() - started, result))
    return min(timings, key=lambda pair: pair[0])


def _children(events: Sequence[Event]) -> dict[str, list[str]]:
    """The baseline index: children by parent id, nothing else."""
    children: dict[str, list[str]] = {}
    for event in events:
        for parent in event.meta.parents:
            children.setdefault(parent, []).append(event.event_id)
    return children


def _state(events: Iterable[Event], config: LineageConfig) -> LineageState:
    """The state folded from ``events``; fed lazily, each event is dropped once observed."""
    state = LineageState()
    for event in events:
        observe(state, event, config)
    return state


def _walk(children: dict[str, list[str]], roots: Sequence[str]) -> set[str]:
    reached: set[str] = set()
    queue = deque(roots)
    while queue:
        event_id = queue.popleft()
        if event_id not in reached:
            reached.add(event_id)
            queue.extend(children.get(event_id, ()))
    return reached


def _held(build: Callable[[], object]) -> int:
    """Bytes still allocated by what ``build`` returns."""
    tracemalloc.start()
    kept = build()
    held, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--athletes", type=int, default=1000)
    args = parser.parse_args()
    world = generate_world(WorldConfig(athletes=args.athletes, seed=1))
    events = run_local(world, downstream=True).events
    config = LineageConfig(instance="bench")
    codec = default_codec()
    encoded = [codec.encode(event) for event in events]
    n = len(events)
    print(f"log: {n:,} events of a {args.athletes}-athlete world (crowd, enrichment, prediction)")

    index_s, children = _best(lambda: _children(events))
    decode_s, _ = _best(lambda: [codec.decode(data) for data in encoded])
    state_s, _ = _best(lambda: _state(events, config))
    print(f"{'build':<34}{'µs/event':>10}{'ratio':>8}")
    print(f"{'baseline: children by parent':<34}{index_s / n * 1e6:>10.2f}{1:>8.1f}")
    print(f"{'decode (every message)':<34}{decode_s / n * 1e6:>10.2f}{decode_s / index_s:>8.1f}")
    print(f"{'observe (lineage state)':<34}{state_s / n * 1e6:>10.2f}{state_s / index_s:>8.1f}")

    # Decoded inside the measurement, as the service does: what stays is what the state keeps.
    index_bytes = _held(lambda: _children([codec.decode(data) for data in encoded]))
    state_bytes = _held(lambda: _state(map(codec.decode, encoded), config))
    print(f"memory: {state_bytes / n:,.0f} bytes per event held by the state, "
          f"{index_bytes / n:,.0f} by the bare index ({state_bytes / index_bytes:.1f}x)")

    # What `crowdlog redact --stage consensus` would send.
    request = request_from_args(argparse.Namespace(
        event=None, stage="consensus", version=None, version_min=None, version_max=None,
        worker=None, source=None, occurred_from=None, occurred_to=None, reason="benchmark",
        by="bench"), Settings(instance="bench"), datetime.now(UTC))
    roots = [e.event_id for e in events if e.meta.producer.stage == "consensus"]
    rounds = [_propagation(events, config, request) for _ in range(ROUNDS)]
    best, retracted = min(rounds)
    walk_s, reached = _best(lambda: _walk(children, roots))
    print(f"redacting every consensus decision ({len(roots):,} roots): {retracted:,} retractions "
          f"in {best * 1000:.0f} ms ({best / retracted * 1e6:.1f} µs each); the bare walk "
          f"reaches {len(reached):,} in {walk_s * 1000:.0f} ms: {best / walk_s:.1f}x")


def _propagation(events: Sequence[Event], config: LineageConfig,
                 request: RedactionRequested) -> tuple[float, int]:
    """Seconds the redaction takes on a state holding ``events``, and the retractions made."""
    state = _state(events, config)
    started = time.perf_counter()
    outputs = observe(state, request, config)
    return time.perf_counter() - started, sum(isinstance(o, EventRetracted) for o in outputs)


if __name__ == "__main__":
    main()
