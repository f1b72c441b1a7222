"""`make bench`: the hot crowd stages on crowdlog's stage runner against a hand-written loop.

For each of tasks, consensus and grading, in one run on the same broker and the same input:

* runner: ``streams.runner.StageRunner`` with only that stage declared (decode once, step,
  encode, state to the compacted changelog, dead letters, flush, synchronous commit);
* raw loop: what a user would write by hand with confluent-kafka and the same codec: consume a
  batch, decode, call the same step, encode, produce the outputs and each touched key's latest
  state (partition of its input), flush (acks=all), commit the batch synchronously. It is the
  lean version of the same guarantees: no dead letters, no size checks, no logging context.

The input is realistic: a simulated world (``CROWDLOG_BENCH_ATHLETES``, default 6,000) run
in process (``run_local``), and the first ``CROWDLOG_BENCH_STAGE_N`` (default 20,000) events
each stage reads (its ``sources``), in log order, pre-produced to fresh topics of a prefix of
their own per stage and round. Consensus weighs workers with one fixed view for both paths:
every worker's last estimate and the blocks of the same run. Each path is timed from its first
step to the commit that covers the N-th input (the group join and the restore are outside).
``CROWDLOG_BENCH_ROUNDS`` rounds (default 3), medians printed; the closing line is the lowest
ratio of the three stages. ``CROWDLOG_BATCH_SIZE`` sets both paths' batch (the runner's default
otherwise).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from benchmarks._broker import produce_all
from streams.admin import TopicRequest, catalogue_requests, ensure_topics
from streams.codecs import default_codec
from streams.consensus.core import Workers
from streams.consensus.inference import WorkerModel
from streams.events.codec import Codec
from streams.events.model import Event
from streams.pipeline import PipelineConfig, crowd_stages
from streams.producer import PRODUCER_DEFAULTS
from streams.runner import RunnerConfig, StageRunner
from streams.settings import Settings
from streams.simulation.convert import gold_items
from streams.simulation.local import run_local
from streams.stage import Stage, State
from streams.topics import CATALOGUE, full_name
from streams.workers.models import WorkerBlocked, WorkerQualityEstimated
from streams.world.generate import generate_world
from streams.world.model import WorldConfig

HOT = ("tasks", "consensus", "grading")
WAIT_SECONDS = 300.0  # a path that has not committed N inputs by then has failed


@dataclass
class StageInput:
    """One stage's declaration and the events it reads, in log order."""

    stage: Stage
    events: list[Event]


@dataclass
class Timing:
    """Set by the first step a path takes: the clock starts there, not at the group join."""

    started: float = 0.0


def timed_step(stage: Stage, timing: Timing) -> Stage:
    """The same stage whose step notes when it was first called."""
    step = stage.step

    def noting(key: str, stored: Mapping[str, Any] | None,
               event: Event) -> tuple[State | None, Sequence[Event]]:
        if not timing.started:
            timing.started = time.perf_counter()
        return step(key, stored, event)

    return replace(stage, step=noting)


def worker_view(events: Sequence[Event]) -> Workers:
    """Every worker's last estimate and every block of the run: one view for both paths."""
    models: dict[str, str] = {}
    blocked: set[str] = set()
    for event in events:
        if isinstance(event, WorkerQualityEstimated):
            models[event.worker_id] = event.model
        elif isinstance(event, WorkerBlocked):
            blocked.add(event.worker_id)
    return Workers({worker: WorkerModel.from_dict(json.loads(model))
                    for worker, model in models.items()}, frozenset(blocked))


def stage_inputs(athletes: int, n: int) -> list[StageInput]:
    """The hot stages as the pipeline declares them, each with the first ``n`` events it reads
    in a simulated world's run."""
    world = generate_world(WorldConfig(athletes=athletes, seed=1))
    events = run_local(world).events
    config = replace(PipelineConfig.from_env("bench"), gold=gold_items(world))
    stages = {stage.name: stage for stage in crowd_stages(config, worker_view(events))}
    inputs = []
    for name in HOT:
        stage = stages[name]
        reads = {kind for spec in stage.sources for kind in spec.event_types}
        mine = [event for event in events if type(event) in reads][:n]
        if len(mine) < n:
            raise SystemExit(f"{name} reads {len(mine)} events of {athletes} athletes, fewer "
                             f"than {n}: raise CROWDLOG_BENCH_ATHLETES")
        inputs.append(StageInput(stage, mine))
    return inputs


def run_runner(settings: Settings, codec: Codec, stage: Stage, n: int, batch: int) -> float:
    """Seconds from the runner's first step to its commit of the n-th input."""
    timing = Timing()
    runner = StageRunner(settings, codec, [timed_step(stage, timing)],
                         RunnerConfig(group_id=f"{settings.topic_prefix}runner",
                                      batch_size=batch))
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while runner.report.committed < n:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"runner stopped at {runner.report}")
            time.sleep(0.005)
        return time.perf_counter() - timing.started
    finally:
        stop.set()
        thread.join(60)


class RawLoop:
    """The loop a user writes by hand: confluent-kafka, the stage's step, the same codec."""

    def __init__(self, settings: Settings, codec: Codec, stage: Stage, batch: int) -> None:
        self.codec, self.stage, self.batch = codec, stage, batch
        prefix = settings.topic_prefix
        self.sources = [full_name(spec, prefix) for spec in stage.sources]
        self.topics = {kind: full_name(spec, prefix)
                       for spec in CATALOGUE for kind in spec.event_types}
        self.changelog = f"{prefix}raw-{stage.name}-changelog"
        self.states: dict[tuple[int, str], State] = {}
        self.failures: list[KafkaError] = []
        self.producer = Producer({"bootstrap.servers": settings.bootstrap_servers,
                                  **PRODUCER_DEFAULTS, "delivery.report.only.error": True,
                                  "on_delivery": self._report})

    def _report(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self.failures.append(error)

    def run(self, bootstrap: str, group: str, n: int) -> float:
        """Seconds from the first step to the commit of the n-th input."""
        timing = Timing()
        step = timed_step(self.stage, timing).step
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                             "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        consumer.subscribe(self.sources)
        done, deadline = 0, time.monotonic() + WAIT_SECONDS
        try:
            while done < n:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"raw loop stopped at {done} of {n}")
                messages = consumer.consume(self.batch, 0.2)
                if not messages:
                    continue
                dirty: dict[tuple[int, str], State] = {}
                offsets: dict[tuple[str, int], int] = {}
                for message in messages:
                    value, partition = message.value(), message.partition() or 0
                    assert message.error() is None and value is not None
                    event = self.codec.decode(value)
                    key = self.stage.state_key(event)
                    state, outputs = step(key, self.states.get((partition, key)), event)
                    for output in outputs:
                        topic = self.topics[type(output)]
                        self.producer.produce(topic, self.codec.encode_for(output, topic),
                                              output.entity_id)
                    if state is not None:
                        self.states[(partition, key)] = dirty[(partition, key)] = state
                    offsets[(message.topic() or "", partition)] = (message.offset() or 0) + 1
                    self.producer.poll(0)
                for (partition, key), state in dirty.items():
                    self.producer.produce(self.changelog, json.dumps(state).encode(),
                                          json.dumps(key), partition=partition)
                assert self.producer.flush(60) == 0 and not self.failures, self.failures
                consumer.commit(offsets=[TopicPartition(t, p, o)
                                         for (t, p), o in offsets.items()], asynchronous=False)
                done += len(messages)
            return time.perf_counter() - timing.started
        finally:
            consumer.close()


def one_round(bootstrap: str, codec: Codec, item: StageInput, batch: int,
              runner_first: bool) -> tuple[float, float]:
    """(runner, raw loop) seconds for one stage on topics of this round alone."""
    stage, n = item.stage, len(item.events)
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    settings = Settings(bootstrap_servers=bootstrap, topic_prefix=prefix, instance="bench")
    loop = RawLoop(settings, codec, stage, batch)
    requests = [*catalogue_requests(settings),
                TopicRequest(loop.changelog, stage.partitions, {"cleanup.policy": "compact"})]
    ensure_topics(settings, requests)
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_DEFAULTS})
    messages = [(topic, event.entity_id.encode(), codec.encode_for(event, topic))
                for event in item.events for topic in (loop.topics[type(event)],)]
    produce_all(producer, messages)
    try:
        def runner() -> float:
            return run_runner(settings, codec, stage, n, batch)

        def raw() -> float:
            return loop.run(bootstrap, f"{prefix}raw", n)

        if runner_first:
            ours = runner()
            return ours, raw()
        theirs = raw()
        return runner(), theirs
    finally:
        names = [r.name for r in requests]
        names.append(stage.changelog(f"{prefix}crowdlog"))
        AdminClient({"bootstrap.servers": bootstrap}).delete_topics(names)


def main() -> None:
    n = int(os.environ.get("CROWDLOG_BENCH_STAGE_N", "20000"))
    athletes = int(os.environ.get("CROWDLOG_BENCH_ATHLETES", "6000"))
    rounds = int(os.environ.get("CROWDLOG_BENCH_ROUNDS", "3"))
    batch = int(os.environ.get("CROWDLOG_BATCH_SIZE", str(RunnerConfig("").batch_size)))
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    codec = default_codec()
    print(f"running a {athletes}-athlete world in process ...", flush=True)
    inputs = stage_inputs(athletes, n)
    gc.collect()
    gc.freeze()  # the inputs live for the whole run: keep the collector off them
    rows = []
    for item in inputs:
        measured = []
        for number in range(rounds):
            print(f"{item.stage.name} round {number + 1}/{rounds} ...", flush=True)
            measured.append(one_round(bootstrap, codec, item, batch, number % 2 == 0))
        ours = statistics.median(m[0] for m in measured)
        theirs = statistics.median(m[1] for m in measured)
        rows.append((item.stage.name, n / ours, n / theirs, theirs / ours))
    print(f"\n{n} input events per stage from a {athletes}-athlete world, batches of {batch}, "
          f"median of {rounds} rounds")
    print(f"{'stage':<12}{'runner ev/s':>14}{'raw loop ev/s':>16}{'runner/raw':>12}")
    for name, ours_rate, raw_rate, ratio in rows:
        print(f"{name:<12}{ours_rate:>14,.0f}{raw_rate:>16,.0f}{ratio:>12.0%}")
    print(f"\ncrowd stages vs raw loop: {min(row[3] for row in rows):.0%}")


if __name__ == "__main__":
    main()
