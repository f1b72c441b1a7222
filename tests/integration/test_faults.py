"""The fault suite: hostile input and a crashing stage against the stage runner, on the broker.

Each test asserts exact counts: inputs, live outputs, duplicates, dead letters. Waiting is on
conditions (the group's committed offsets, events on the log), bounded by generous timeouts.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from streams.events.codec import Codec
from streams.events.deadletter import MAX_ORIGINAL_VALUE, MessageDeadLettered
from streams.events.model import Event
from streams.producer import MAX_EVENT_BYTES, EventProducer
from streams.runner import StageRunner
from streams.settings import Settings
from streams.simulation.service import PipelineProgress
from streams.tasks.core import TaskConfig
from streams.tasks.models import HitPublished
from streams.tasks.stage import tasks_stage
from streams.topics import DEADLETTER, RECORDS_RECEIVED, TASKS_HITS, full_name
from streams.worker import runner_config
from tests.factories import record
from tests.integration.processes import ROOT, read_log


def _read(settings: Settings, codec: Codec) -> list[Event]:
    """HITs and dead letters on the log now (not records.received: its poison is the input)."""
    return [event for _where, event in read_log(settings, (TASKS_HITS, DEADLETTER), codec)]


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(1.0)
    return False


def _caught_up(settings: Settings) -> bool:
    progress = PipelineProgress(settings, f"{settings.topic_prefix}crowdlog",
                                specs=(RECORDS_RECEIVED,))
    try:
        return progress.lag() == 0
    finally:
        progress.close()


@contextmanager
def _tasks_running(settings: Settings, codec: Codec) -> Iterator[StageRunner]:
    runner = StageRunner(settings, codec, [tasks_stage(TaskConfig(instance="pytest"), ())],
                         runner_config(settings))
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        stop.set()
        thread.join(60)


def test_every_hostile_message_is_dead_lettered_and_the_partition_moves_on(
        settings: Settings, codec: Codec) -> None:
    valid_before = [record(ref=f"b{i}") for i in range(30)]
    valid_after = [record(ref=f"a{i}") for i in range(30)]
    keyless = record(ref="keyless")
    huge_team = dataclasses.replace(record(ref="huge"), team="x" * 700_000)
    encoded = codec.encode(record(ref="cut"))
    at_limit = b"\x01not an event" + bytes(range(256)) * ((MAX_EVENT_BYTES - 4096) // 256)
    poison = {  # key -> (value, the dead letter's error)
        "acme:null": (None, "event_format_error"),
        "acme:random": (bytes(range(7, 200, 3)), "corrupt_event"),
        "acme:unknown": (b"\xc3\x01" + b"\x00" * 8 + b"body", "unknown_fingerprint"),
        "acme:cut": (encoded[: len(encoded) // 2], "corrupt_event"),
        "acme:at-limit": (at_limit, "corrupt_event"),
        huge_team.entity_id: (codec.encode(huge_team), "output_too_large"),
    }
    topic = full_name(RECORDS_RECEIVED, settings.topic_prefix)
    producer = EventProducer(settings, codec)
    for event in valid_before:
        producer.send(event)
    for key, (value, _error) in poison.items():
        producer._producer.produce(topic, key=key, value=value)
    producer.send_encoded("", codec.encode(keyless), topic)
    for event in valid_after:
        producer.send(event)
    producer.flush()
    valid = {e.entity_id for e in [*valid_before, *valid_after, keyless]}

    def hits_and_letters() -> tuple[dict[str, set[str]], dict[str, MessageDeadLettered]]:
        hits: dict[str, set[str]] = {}
        letters: dict[str, MessageDeadLettered] = {}
        for event in _read(settings, codec):
            if isinstance(event, HitPublished):
                hits.setdefault(event.entity_id, set()).add(event.event_id)
            elif isinstance(event, MessageDeadLettered):
                letters[event.event_id] = event
        return hits, letters

    with _tasks_running(settings, codec) as runner:
        assert _wait_for(lambda: _caught_up(settings), 120), runner.report
    hits, letters = hits_and_letters()
    assert set(hits) == valid, sorted(set(hits) ^ valid)[:5]
    assert all(len(ids) == 1 for ids in hits.values())  # one HIT per record, never two
    by_key = {(letter.original_key or b"").decode(): letter for letter in letters.values()}
    assert set(by_key) == set(poison)
    for key, (value, error) in poison.items():
        letter = by_key[key]
        assert letter.error == error, (key, letter.reason)
        assert letter.source_topic == topic
        if value is not None and len(value) > MAX_ORIGINAL_VALUE:
            assert letter.original_value == value[:MAX_ORIGINAL_VALUE]
            assert f"truncated from {len(value)} to {MAX_ORIGINAL_VALUE} bytes" in letter.reason
        else:
            assert letter.original_value == value
    assert runner.report.dead_lettered == len(poison)


def test_a_stage_killed_mid_batch_commits_nothing_past_it_and_loses_nothing(
        settings: Settings, codec: Codec, tmp_path: Path) -> None:
    records = [record(ref=f"r{i}") for i in range(40)]
    records[17] = record(ref="crash")  # the stage's process kills itself on this one, once
    with EventProducer(settings, codec) as producer:
        for event in records:
            producer.send(event)
    marker = tmp_path / "crashed"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "CROWDLOG_TOPIC_PREFIX": settings.topic_prefix, "CROWDLOG_LOG_LEVEL": "warning"}
    command = [sys.executable, "-m", "tests.integration.crashing_stage", str(marker)]
    first = subprocess.run(command, cwd=ROOT, env=env, timeout=120, check=False,
                           capture_output=True)
    assert first.returncode == -9 and marker.exists(), first.stderr[-2000:]

    crash = next(r for r in records if r.provider_ref == "crash")
    partition, offset = _positions(settings, codec)[crash.event_id]
    committed = _committed(settings, partition)
    assert committed is None or committed <= offset  # never past the input being handled

    second = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: _caught_up(settings), 120)
    finally:
        second.terminate()
        _out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err[-2000:]
    hits: dict[str, set[str]] = {}
    for read in _read(settings, codec):
        if isinstance(read, HitPublished):
            hits.setdefault(read.entity_id, set()).add(read.event_id)
    assert set(hits) == {r.entity_id for r in records}
    assert all(len(ids) == 1 for ids in hits.values())


def _positions(settings: Settings, codec: Codec) -> dict[str, tuple[int, int]]:
    """Event id -> (partition, offset) of every record on ``records.received``."""
    return {event.event_id: (where.partition, where.offset)
            for where, event in read_log(settings, (RECORDS_RECEIVED,), codec)}


def _committed(settings: Settings, partition: int) -> int | None:
    """The stage group's committed offset on a partition of ``records.received``."""
    topic = full_name(RECORDS_RECEIVED, settings.topic_prefix)
    consumer = Consumer({**settings.kafka_config(),
                         "group.id": f"{settings.topic_prefix}crowdlog"})
    try:
        [tp] = consumer.committed([TopicPartition(topic, partition)], timeout=10)
        return tp.offset if tp.offset >= 0 else None
    finally:
        consumer.close()
