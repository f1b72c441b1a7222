"""`crowdlog ingest` on the real broker: every row accounted for, ids stable across runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from streams.events.codec import Codec
from streams.events.deadletter import MessageDeadLettered
from streams.events.model import Event
from streams.records.files import KEEP_BYTES
from streams.records.models import RecordReceived
from streams.settings import Settings
from streams.topics import DEADLETTER, RECORDS_RECEIVED, TopicSpec
from tests.integration.processes import read_log

SAMPLE = Path(__file__).parents[2] / "examples" / "providers" / "acme_athletes.csv"


def crowdlog(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "CROWDLOG_TOPIC_PREFIX": settings.topic_prefix, "CROWDLOG_LOG_FORMAT": "json"}
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def read_all(settings: Settings, codec: Codec, spec: TopicSpec) -> list[Event]:
    return [event for _where, event in read_log(settings, (spec,), codec)]


def test_ingest_sample_feed_twice(settings: Settings, codec: Codec) -> None:
    first = crowdlog(settings, "ingest", str(SAMPLE), "--provider", "acme")
    assert first.returncode == 0, first.stderr
    assert "read       37" in first.stdout
    assert "accepted   31 (1 repeated row published once)" in first.stdout
    assert "rejected   6" in first.stdout
    for code in ("missing_name", "invalid_country", "invalid_twitter_handle",
                 "invalid_updated_at", "missing_provider_ref", "wrong_column_count"):
        assert code in first.stdout

    records = read_all(settings, codec, RECORDS_RECEIVED)
    letters = read_all(settings, codec, DEADLETTER)
    assert len(records) == 30 and all(isinstance(r, RecordReceived) for r in records)
    assert len(letters) == 6 and all(isinstance(d, MessageDeadLettered) for d in letters)
    raw_lines = SAMPLE.read_bytes().splitlines(keepends=True)
    for letter in letters:
        assert isinstance(letter, MessageDeadLettered)
        assert letter.source_line is not None
        assert letter.original_value == raw_lines[letter.source_line - 1]
        assert letter.source_file == str(SAMPLE)

    second = crowdlog(settings, "ingest", str(SAMPLE), "--provider", "acme")
    assert second.returncode == 0, second.stderr
    records_twice = read_all(settings, codec, RECORDS_RECEIVED)
    letters_twice = read_all(settings, codec, DEADLETTER)
    assert len(records_twice) == 60 and len(letters_twice) == 12
    assert {e.event_id for e in records_twice} == {e.event_id for e in records}
    assert {e.event_id for e in letters_twice} == {e.event_id for e in letters}


def test_ingest_unreadable_file_fails(settings: Settings, tmp_path: Path) -> None:
    missing = crowdlog(settings, "ingest", str(tmp_path / "nope.csv"), "--provider", "acme")
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert crowdlog(settings, "ingest", str(empty), "--provider", "acme").returncode == 2
    odd = tmp_path / "feed.xlsx"
    odd.write_bytes(b"PK\x03\x04")
    result = crowdlog(settings, "ingest", str(odd), "--provider", "acme")
    assert result.returncode == 2 and "--format" in result.stderr
    bad_provider = crowdlog(settings, "ingest", str(SAMPLE), "--provider", "Acme Corp")
    assert bad_provider.returncode == 2


def test_tail_prints_events_as_json_lines(settings: Settings) -> None:
    assert crowdlog(settings, "ingest", str(SAMPLE), "--provider", "acme").returncode == 0
    result = crowdlog(settings, "tail", f"{settings.topic_prefix}records.received",
                      "--from-beginning", "--idle-timeout", "4")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 30
    assert {line["meta"]["event_type"] for line in lines} == {"crowdlog.records.RecordReceived"}
    assert all({"topic", "partition", "offset", "name", "sport"} <= set(line) for line in lines)


def test_ingest_oversized_and_deep_rows(settings: Settings, codec: Codec, tmp_path: Path) -> None:
    """A 10 MB row once stopped ingest with MSG_SIZE_TOO_LARGE and a deep line with
    RecursionError; now they are dead letters that fit in a Kafka message."""
    huge = json.dumps({"id": "big", "name": "x" * 10_000_000, "sport": "golf"}).encode()
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_small = b'{"id": "d", "name": "A B", "sport": "golf", "stats": ' + (
        b"[" * 10_000 + b"]" * 10_000 + b"}")
    good = [json.dumps({"id": str(n), "name": name, "sport": "tennis"}).encode()
            for n, name in enumerate(["Serena Williams", "Roger Federer", "Rafael Nadal"])]
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join([good[0], huge, good[1], deep, deep_small, good[2]]) + b"\n")

    result = crowdlog(settings, "ingest", str(feed), "--provider", "acme")
    assert result.returncode == 0, result.stderr
    assert "read       6" in result.stdout and "accepted   3" in result.stdout
    assert "rejected   3" in result.stdout

    records = [r for r in read_all(settings, codec, RECORDS_RECEIVED)
               if isinstance(r, RecordReceived)]
    assert sorted(r.provider_ref for r in records) == ["0", "1", "2"]
    letters = {d.source_line: d for d in read_all(settings, codec, DEADLETTER)
               if isinstance(d, MessageDeadLettered)}
    assert set(letters) == {2, 4, 5}
    assert letters[2].error == "row_too_large"
    assert letters[2].original_value == huge[:KEEP_BYTES]
    assert f"truncated from {len(huge) + 1} bytes; the whole row is line 2 of {feed}" in (
        letters[2].reason)
    assert (letters[4].error, letters[4].original_value) == ("row_too_large", deep + b"\n")
    assert (letters[5].error, letters[5].original_value) == ("nesting_too_deep",
                                                             deep_small + b"\n")
