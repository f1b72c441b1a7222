"""The stage runner's batch, without a broker: what it sends, in which order, before it commits.

The broker suites (tests/integration/test_faults.py, test_worker_group.py,
test_hostile_messages.py) run the runner on Kafka; this one pins the order of one batch's
work, which the broker cannot show: each key's latest state written once, after the outputs,
all before the flush, and the commit after the flush.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from streams.events.codec import Codec
from streams.events.deadletter import MessageDeadLettered
from streams.events.model import Event
from streams.events.model import Producer as StageProducer
from streams.producer import MAX_EVENT_BYTES
from streams.records.models import RecordReceived
from streams.runner import RunnerConfig, StageRunner
from streams.settings import Settings
from streams.stage import Stage, State
from streams.topics import DEADLETTER, RECORDS_RECEIVED, full_name
from tests.factories import record

PREFIX = "unit."
SOURCE = full_name(RECORDS_RECEIVED, PREFIX)
CHANGELOG = f"{PREFIX}crowdlog-seen-state-changelog"


@dataclass
class Message:
    """The part of a confluent-kafka ``Message`` the runner reads."""

    _topic: str
    _partition: int
    _offset: int
    _value: bytes | None
    _key: bytes = b"k"

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes:
        return self._key

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000)


@dataclass
class Journal:
    """Everything the runner asked of the producer and the consumer, in order."""

    entries: list[tuple[Any, ...]] = field(default_factory=list)

    def topic_of(self, _event: Event) -> str:
        return "out"

    def send_encoded(self, key: str, value: bytes, topic: str,
                     partition: int | None = None) -> None:
        self.entries.append(("send", topic, key, value, partition))

    def send(self, event: Event, *, topic: str) -> None:
        self.entries.append(("send", topic, event.entity_id, event, None))

    def flush(self) -> None:
        self.entries.append(("flush",))

    def commit(self, *, offsets: list[TopicPartition], asynchronous: bool) -> None:
        assert not asynchronous
        self.entries.append(("commit", sorted((tp.partition, tp.offset) for tp in offsets)))

    def sent(self, topic: str) -> list[tuple[Any, ...]]:
        return [entry for entry in self.entries if entry[0] == "send" and entry[1] == topic]


def seen(_key: str, stored: Mapping[str, Any] | None,
         event: Event) -> tuple[State | None, list[Event]]:
    """Keeps the names seen per record and forwards each record; one name raises, one makes the
    state too large for a Kafka message."""
    assert isinstance(event, RecordReceived)
    if event.name == "Boom":
        raise RuntimeError("the core failed")
    names = [*(stored or {}).get("names", []), event.name]
    if event.name == "Huge":
        names.append("x" * MAX_EVENT_BYTES)
    return {"names": names}, [event]


@pytest.fixture
def batch(codec: Codec) -> tuple[StageRunner, Journal]:
    stage = Stage("seen", (RECORDS_RECEIVED,), seen, StageProducer("seen", "1.0.0", "unit"))
    runner = StageRunner(Settings(bootstrap_servers="127.0.0.1:9", topic_prefix=PREFIX,
                                  instance="unit"), codec, [stage], RunnerConfig("unit"))
    journal = Journal()
    runner._producer = journal  # type: ignore[assignment]

    def message(partition: int, offset: int, ref: str, name: str) -> Message:
        return Message(SOURCE, partition, offset, codec.encode(record(ref=ref, name=name)))

    runner._process(journal, [  # type: ignore[arg-type]
        message(0, 10, "a", "Ann"), message(1, 5, "b", "Bob"), message(0, 11, "a", "Amy"),
        message(0, 12, "a", "Boom"), message(0, 13, "a", "Huge"), message(0, 14, "a", "Ada"),
        Message(SOURCE, 1, 6, None),  # a tombstone
    ])
    return runner, journal


def test_each_key_s_latest_state_is_written_once_after_the_outputs(
        batch: tuple[StageRunner, Journal]) -> None:
    runner, journal = batch
    changelog = journal.sent(CHANGELOG)
    assert [(key, partition) for _, _, key, _, partition in changelog] == [
        ('"acme:a"', 0), ('"acme:b"', 1)]
    assert json.loads(changelog[0][3]) == {"names": ["Ann", "Amy", "Ada"]}
    assert json.loads(changelog[1][3]) == {"names": ["Bob"]}
    assert dict(runner.states("seen")) == {"acme:a": {"names": ["Ann", "Amy", "Ada"]},
                                           "acme:b": {"names": ["Bob"]}}
    last_output = max(i for i, entry in enumerate(journal.entries) if entry[1:2] == ("out",))
    assert journal.entries.index(changelog[0]) > last_output


def test_nothing_is_committed_before_the_flush_and_the_commit_covers_the_batch(
        batch: tuple[StageRunner, Journal]) -> None:
    runner, journal = batch
    assert journal.entries[-2:] == [("flush",), ("commit", [(0, 15), (1, 7)])]
    assert (runner.report.consumed, runner.report.committed, runner.report.batches) == (7, 7, 1)


def test_a_failing_step_an_oversized_state_and_a_tombstone_are_dead_lettered_alone(
        batch: tuple[StageRunner, Journal], codec: Codec) -> None:
    runner, journal = batch
    letters = [entry[3] for entry in journal.sent(full_name(DEADLETTER, PREFIX))]
    assert all(isinstance(letter, MessageDeadLettered) for letter in letters)
    assert [(letter.source_offset, letter.error) for letter in letters] == [
        (12, "stage_error"), (13, "output_too_large"), (6, "event_format_error")]
    forwarded = [codec.decode(entry[3]) for entry in journal.sent("out")]
    assert [event.name for event in forwarded if isinstance(event, RecordReceived)] == [
        "Ann", "Bob", "Amy", "Ada"]
    assert (runner.report.emitted, runner.report.dead_lettered) == (4, 3)
