"""Runs stage declarations on Kafka: one consumer group, a batched confluent-kafka loop.

Why not Faust: under Faust a restarted worker could leave a partition unread with no log line
(the kill test's "pipeline lag 9"), commits followed ``flush_atmost``, which can return with a
table write still pending, and one null message stopped the worker on every restart. This loop
owns every step, so its guarantee can be stated in one line:

    an input offset is committed only after every output, state change and dead letter it
    caused has been acknowledged by the broker (``acks=all``).

Per batch: poll up to ``batch_size`` messages; decode each once; hand it to every stage that
reads its topic and send its outputs; then write each key's latest state once to the stage's
changelog (a key touched by ten inputs of the batch is one record, not ten); flush the
producer; commit the batch's offsets. A crash anywhere before the commit redelivers
the batch (at least once); deterministic ids and cores that recognise what their state already
holds make the repeat harmless. A delivery that fails raises (the worker exits for its
supervisor to restart it) instead of committing past the input.

Nothing in a message stops the loop: a null value, bytes that are not an event, a step that
raises, an output or state too large for a Kafka message, each becomes a ``MessageDeadLettered``
with the input's bytes (cut, and said so, beyond the dead letter's own limit) and the loop goes
on. All sources of a stage are co-partitioned and the group uses the range assignor, so
partition ``p`` of every topic goes to the same worker; a stage's state for ``p`` lives in
partition ``p`` of its changelog and is restored from it when ``p`` is assigned.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from streams.admin import TopicRequest, ensure_topics
from streams.consumer import coordinates, message_time, unfetched
from streams.events.codec import Codec
from streams.events.deadletter import dead_letter_message
from streams.events.errors import EventFormatError, RegistryUnavailable, SchemaRefused
from streams.events.model import Event, Producer
from streams.kafka import clients
from streams.kafka.errors import checked
from streams.logs import Handling, handling
from streams.metrics import (
    CONSUMER_LAG,
    CROWD_COST,
    DEAD_LETTERS,
    EVENTS_IN,
    EVENTS_OUT,
    PROCESSING,
    served_from_env,
)
from streams.producer import MAX_EVENT_BYTES, EventProducer
from streams.settings import Settings
from streams.stage import Stage, State
from streams.tools.log_reader import as_bytes, watermarks
from streams.topics import DEADLETTER, full_name
from streams.workers.models import AssignmentReviewed

log = structlog.get_logger(__name__)

RUNNER = Producer("runner", "1.0.0", "")  # names the runner in dead letters it writes itself
STALL_CHECK = 30.0  # seconds between two looks for partitions that have input but do not move

# A batch's state changes not yet sent: (changelog, partition, key) -> the latest state, encoded.
_Changed = dict[tuple[str, int, str], bytes]
# States and changelog keys as JSON without spaces or a cycle check: half json.dumps's time on
# the crowd stages' states (a cycle still fails, as a RecursionError: a stage error).
_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)


@dataclass(frozen=True)
class RunnerConfig:
    """How the loop polls and how fast the group notices a worker that died."""

    group_id: str
    batch_size: int = 500
    poll_timeout: float = 0.2
    session_timeout: float = 10.0
    group_instance_id: str | None = None  # static membership: a restart takes over at once


@dataclass
class RunnerReport:
    """What the loop has done so far (tests and logs read it)."""

    batches: int = 0
    consumed: int = 0
    committed: int = 0  # inputs handled up to the last commit the group accepted
    emitted: int = 0
    dead_lettered: int = 0
    restored: int = 0
    assignments: int = 0


def oversized(key: str, state: bytes | None,
              outputs: Iterable[tuple[str, bytes, str]]) -> str | None:
    """Why a step's encoded answer cannot be produced, or None: every message (an output, or
    the state under its changelog key) must fit ``MAX_EVENT_BYTES``.

    >>> oversized("k", b"{}", [("k", bytes(10), "out")]) is None
    True
    >>> oversized("k", None, [("k", bytes(MAX_EVENT_BYTES), "out")])
    'output over 983616 bytes (out: 983617 bytes)'
    """
    sizes = [(topic, len(value) + len(out_key.encode())) for out_key, value, topic in outputs]
    if state is not None:
        sizes.append(("state", len(state) + len(key.encode())))
    over = [f"{what}: {size} bytes" for what, size in sizes if size > MAX_EVENT_BYTES]
    return f"output over {MAX_EVENT_BYTES} bytes ({'; '.join(over)})" if over else None


class StageRunner:
    """Executes ``stages`` in one consumer group; ``run`` until ``stop`` is set."""

    def __init__(self, settings: Settings, codec: Codec, stages: Sequence[Stage],
                 config: RunnerConfig) -> None:
        self._settings, self._codec, self._config = settings, codec, config
        self._stages = tuple(stages)
        prefix = settings.topic_prefix
        self._readers: dict[str, list[Stage]] = {}
        for stage in self._stages:
            for spec in stage.sources:
                self._readers.setdefault(full_name(spec, prefix), []).append(stage)
        self._changelogs = {stage.name: stage.changelog(f"{prefix}crowdlog")
                            for stage in self._stages}
        self._deadletter = full_name(DEADLETTER, prefix)
        self._states: dict[str, dict[int, dict[str, State]]] = {s.name: {} for s in self._stages}
        self._next_tick = {s.name: time.monotonic() + s.tick_interval for s in self._stages
                           if s.tick is not None}
        self._producer = EventProducer(settings, codec)
        self._positions: dict[tuple[str, int], int] = {}
        self._next_watch = time.monotonic() + STALL_CHECK
        self._dead_producer = Producer(RUNNER.stage, RUNNER.version, settings.instance)
        self.report = RunnerReport()

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self._stages

    def changelog_topics(self) -> list[TopicRequest]:
        """The compacted topics that keep the stages' states (the worker creates them)."""
        return [TopicRequest(self._changelogs[stage.name], stage.partitions,
                             {"cleanup.policy": "compact"}) for stage in self._stages]

    def states(self, stage: str) -> Iterable[tuple[str, State]]:
        """Every key's state of ``stage`` on the partitions this worker holds."""
        for partition in list(self._states[stage].values()):
            yield from list(partition.items())

    def run(self, stop: threading.Event) -> None:
        """Make the changelogs (``TopicMismatch`` if one has another partition count), then
        process batches until ``stop`` is set."""
        ensure_topics(self._settings, self.changelog_topics())
        consumer = clients.consumer(self._settings, self._config.group_id, {
            "enable.auto.commit": False,
            # partition p of every topic to the same member: co-partitioned state
            "partition.assignment.strategy": "range",
            **clients.session(self._config.session_timeout),
            **({"group.instance.id": self._config.group_instance_id}
               if self._config.group_instance_id else {}),
        })
        consumer.subscribe(list(self._readers), on_assign=self._on_assign)
        try:
            with served_from_env(ready=lambda: bool(consumer.assignment())):
                while not stop.is_set():
                    messages = consumer.consume(self._config.batch_size,
                                                self._config.poll_timeout)
                    if messages:
                        with PROCESSING.labels("worker").time():
                            self._process(consumer, messages)
                    self._tick()
                    self._watch(consumer)
                    CONSUMER_LAG.labels("worker").set(unfetched(consumer))
        finally:
            self._producer.flush()
            consumer.close()  # leaves the group: the others take over without waiting

    def _process(self, consumer: Consumer, messages: list[Message]) -> None:
        positions: dict[tuple[str, int], int] = {}
        changed: _Changed = {}
        for message in messages:
            if checked(message) is not None:
                continue
            topic, partition, offset = coordinates(message)
            self._handle(message, topic, partition, offset, changed)
            positions[(topic, partition)] = offset + 1
            self.report.consumed += 1
        # Each key's latest state only: the changelog is compacted to it anyway, and a restore
        # after a crash before the commit reads the batch again from the state before it.
        for (changelog, partition, key), state in changed.items():
            self._producer.send_encoded(_JSON.encode(key), state, changelog, partition=partition)
        # Waits out a broker that is away for a while; DeliveryFailed if a delivery failed,
        # and then nothing below is committed.
        self._producer.flush()
        self.report.batches += 1
        if positions and self._commit(consumer, positions):
            self.report.committed = self.report.consumed

    def _handle(self, message: Message, topic: str, partition: int, offset: int,
                changed: _Changed) -> None:
        value = message.value()
        try:
            if value is None:
                raise EventFormatError("tombstone (null value) where an event was expected")
            event = self._codec.decode(value)
        except EventFormatError as exc:
            self._dead_letter(message, exc.code, str(exc), self._dead_producer)
            return
        token = handling.set(Handling(event.event_id, topic, partition, offset))
        try:
            for stage in self._readers[topic]:
                self._apply(stage, event, message, partition, changed)
        finally:
            handling.reset(token)

    def _apply(self, stage: Stage, event: Event, message: Message, partition: int,
               changed: _Changed) -> None:
        states = self._states[stage.name].setdefault(partition, {})
        try:
            key = stage.state_key(event)
            state, events = stage.step(key, states.get(key), event)
            outputs = [(o.entity_id, self._codec.encode_for(o, topic), topic)
                       for o in events for topic in (self._producer.topic_of(o),)]
            # Encoded per input, not per batch: an oversized state must be pinned on the input
            # that made it so, before any of that input's outputs are sent.
            encoded = None if state is None else _JSON.encode(state).encode()
        except (RegistryUnavailable, SchemaRefused):
            raise  # operational: nothing is sent or committed, the input is read again
        except Exception:
            self._dead_letter(message, "stage_error", traceback.format_exc(limit=8),
                              stage.producer)
            return
        too_large = oversized(key, encoded, outputs)
        if too_large is not None:
            self._dead_letter(message, "output_too_large", f"{stage.name}: {too_large}",
                              stage.producer)
            return
        if state is not None and encoded is not None:
            states[key] = state
            changed[(self._changelogs[stage.name], partition, key)] = encoded
        for out_key, value, topic in outputs:
            self._producer.send_encoded(out_key, value, topic)
        self.report.emitted += len(outputs)
        EVENTS_IN.labels(stage.name).inc()
        EVENTS_OUT.labels(stage.name).inc(len(outputs))
        CROWD_COST.inc(sum(e.reward_cents for e in events
                           if isinstance(e, AssignmentReviewed) and e.status == "Approved"))

    def _dead_letter(self, message: Message, code: str, reason: str,
                     producer: Producer) -> None:
        topic, partition, offset = coordinates(message)
        letter = dead_letter_message(
            topic=topic, partition=partition, offset=offset, key=as_bytes(message.key()),
            value=as_bytes(message.value()), timestamp=message_time(message),
            error=code, reason=reason,
            producer=Producer(producer.stage, producer.version, self._settings.instance))
        self._producer.send(letter, topic=self._deadletter)
        self.report.dead_lettered += 1
        DEAD_LETTERS.labels(producer.stage, code).inc()
        log.warning("dead-lettered a message", topic=topic, partition=partition, offset=offset,
                    error=code, reason=reason.splitlines()[-1][:500] if reason else "")

    def _commit(self, consumer: Consumer, positions: Mapping[tuple[str, int], int]) -> bool:
        offsets = [TopicPartition(t, p, o) for (t, p), o in positions.items()]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # Partitions moved meanwhile: their new owner re-reads from the last commit, and
            # the repeats are recognised (deterministic ids); never a reason to stop.
            log.warning("commit refused; the batch will be read again", error=str(exc))
            return False
        return True

    def _tick(self) -> None:
        now = time.monotonic()
        for stage in self._stages:
            due = self._next_tick.get(stage.name)
            if stage.tick is None or due is None or now < due:
                continue
            self._next_tick[stage.name] = now + stage.tick_interval
            try:
                stage.tick(self.states(stage.name))
            except Exception:
                log.exception("stage tick failed; it runs again next interval",
                              stage=stage.name)

    def _watch(self, consumer: Consumer) -> None:
        """Log every assigned partition that has input waiting but has not moved since the last
        look: a stall is never silent (under Faust one was, for good)."""
        now = time.monotonic()
        if now < self._next_watch:
            return
        self._next_watch = now + STALL_CHECK
        positions: dict[tuple[str, int], int] = {}
        for tp in _positions(consumer):
            _low, high = consumer.get_watermark_offsets(tp, cached=True)
            position = tp.offset
            key = (tp.topic, tp.partition)
            positions[key] = position
            if high > position and self._positions.get(key) == position:
                log.warning("partition stalled", topic=tp.topic, partition=tp.partition,
                            position=position, behind=high - position, seconds=STALL_CHECK)
        self._positions = positions

    def _on_assign(self, consumer: Consumer, assigned: list[TopicPartition]) -> None:
        """Keep the states of partitions still held, restore the new ones, drop the rest.

        The range assignor is eager: every rebalance revokes all and assigns anew, but a
        partition held before and after was never another worker's in between, so its state
        in memory is current.
        """
        self.report.assignments += 1
        by_topic: dict[str, set[int]] = {}
        for tp in assigned:
            by_topic.setdefault(tp.topic, set()).add(tp.partition)
        wanted: dict[str, set[int]] = {}
        for stage in self._stages:
            held = self._states[stage.name]
            mine = set().union(*(by_topic.get(full_name(s, self._settings.topic_prefix), set())
                                 for s in stage.sources))
            for gone in set(held) - mine:
                del held[gone]
            wanted[stage.name] = mine - set(held)
        started = time.monotonic()
        restored = self._restore(wanted)
        log.info("partitions assigned", partitions=len(assigned), restored_keys=restored,
                 seconds=round(time.monotonic() - started, 2))

    def _restore(self, wanted: Mapping[str, set[int]]) -> int:
        """Read the wanted changelog partitions to their ends; how many states that gave."""
        for name, partitions in wanted.items():
            for partition in partitions:
                self._states[name][partition] = {}
        if not any(wanted.values()):
            return 0
        reader = clients.reader(self._settings)
        try:
            return self._read_changelogs(reader, wanted)
        finally:
            reader.close()

    def _read_changelogs(self, reader: Consumer, wanted: Mapping[str, set[int]]) -> int:
        stage_of = {self._changelogs[name]: name for name in wanted}
        bounds, _missing = watermarks(reader, list(stage_of))
        ends = {(topic, partition): high for (topic, partition), (low, high) in bounds.items()
                if partition in wanted[stage_of[topic]] and high > low}
        reader.assign([TopicPartition(topic, partition, bounds[(topic, partition)][0])
                       for topic, partition in ends])
        restored = 0
        while ends:
            for message in reader.consume(1000, 1.0):
                topic, partition = message.topic() or "", message.partition() or 0
                error = checked(message)
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        ends.pop((topic, partition), None)
                    continue
                offset = message.offset() or 0
                states = self._states[stage_of[topic]][partition]
                key, value = json.loads(message.key() or b"null"), message.value()
                if value is None:
                    states.pop(key, None)
                else:
                    states[key] = json.loads(value)
                    restored += 1
                if offset + 1 >= ends.get((topic, partition), 0):
                    ends.pop((topic, partition), None)
        return restored


def _positions(consumer: Consumer) -> list[TopicPartition]:
    """Where each assigned partition stands: its position, or, before a message was read since
    the assignment (librdkafka then reports no position), the group's committed offset."""
    known: list[TopicPartition] = []
    unknown: list[TopicPartition] = []
    for tp in consumer.position(consumer.assignment()):
        (known if tp.offset >= 0 else unknown).append(tp)
    if unknown:
        with contextlib.suppress(KafkaException):  # the coordinator cannot say now: next look
            known += [tp for tp in consumer.committed(unknown, timeout=5) if tp.offset >= 0]
    return known

