"""Ingest's pure core: file rows in, events and dead letters out, every row accounted for."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events.deadletter import MessageDeadLettered
from streams.records.files import UnreadableFile, read_rows
from streams.records.ingest import IngestSummary, ingest_events
from streams.records.models import RecordReceived
from tests.factories import PRODUCER, T0

CSV = (
    b"id,name,sport,league,team,country,twitter\n"
    b"1,LeBron James,Basketball,NBA,Lakers,US,@KingJames\n"
    b'2,"Davis, Anthony",Basketball,NBA,"Lakers\nLA",US,\n'
    b"3,,Basketball,NBA,Lakers,US,\n"
    b"4,Bad Bytes \xff,Basketball,NBA,Lakers,US,\n"
    b"5,Too,Many,Cells,Here,US,x,y\n"
    b"\n"
    b"1,LeBron James,Basketball,NBA,Lakers,US,@KingJames\n"
    b"6,Somebody,Tennis,ATP,,Atlantis,\n"
)


def run(data: bytes, fmt: str = "csv") -> tuple[list[object], IngestSummary]:
    summary = IngestSummary()
    events = list(ingest_events(data.splitlines(keepends=True), fmt=fmt, provider="acme",
                                path="feed.csv", received_at=T0, producer=PRODUCER,
                                summary=summary))
    return events, summary


def test_every_row_is_accounted_for() -> None:
    events, summary = run(CSV)
    assert summary.read == 7  # the blank line is not a row
    assert summary.accepted == 3 and summary.duplicates == 1
    assert summary.rejected == {"missing_name": 1, "not_utf8": 1, "wrong_column_count": 1,
                                "invalid_country": 1}
    assert summary.read == summary.accepted + summary.rejected_total
    records = [e for e in events if isinstance(e, RecordReceived)]
    assert [r.provider_ref for r in records] == ["1", "2"]  # the repeat is published once
    assert records[1].team == "Lakers LA"  # a quoted multi-line cell, whitespace folded


def test_dead_letters_keep_the_original_bytes_and_line() -> None:
    events, _ = run(CSV)
    letters = {e.source_line: e for e in events if isinstance(e, MessageDeadLettered)}
    assert letters[6].original_value == b"4,Bad Bytes \xff,Basketball,NBA,Lakers,US,\n"
    assert letters[6].error == "not_utf8"
    assert letters[5].entity_id == "acme:3"
    assert letters[5].reason == "required column 'name' is missing or empty"
    assert all(e.source_file == "feed.csv" for e in letters.values())


def test_same_file_twice_same_ids() -> None:
    first, _ = run(CSV)
    second, _ = run(CSV)
    assert [e.event_id for e in first] == [e.event_id for e in second]  # type: ignore[attr-defined]


def test_json_lines() -> None:
    lines = b"\n".join([
        json.dumps({"id": "1", "name": "Serena Williams", "sport": "tennis"}).encode(),
        b"{broken",
        b"[1, 2]",
        json.dumps({"id": {"nested": 1}, "name": "X Y", "sport": "golf"}).encode(),
        json.dumps({"id": 2, "name": "Lionel Messi", "sport": "soccer",
                    "instagram": "leomessi"}).encode(),
    ])
    events, summary = run(lines, fmt="jsonl")
    assert summary.accepted == 2
    assert summary.rejected == {"invalid_json": 2, "invalid_provider_ref": 1}
    assert [e.provider_ref for e in events if isinstance(e, RecordReceived)] == ["1", "2"]


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xff\xfe,b\n"])
def test_unreadable_csv(data: bytes) -> None:
    with pytest.raises(UnreadableFile):
        list(read_rows(data.splitlines(keepends=True), "csv"))


def test_byte_order_mark_is_ignored() -> None:
    _, summary = run(b"\xef\xbb\xbfid,name,sport\n1,Usain Bolt,athletics\n")
    assert summary.accepted == 1


CELL = st.one_of(st.text(max_size=12), st.sampled_from(["", "US", "@x", "NBA", "Atlantis"]))


@settings(max_examples=60)
@given(st.lists(st.lists(CELL, min_size=3, max_size=5), max_size=20))
def test_accounting_holds_for_any_rows(rows: list[list[str]]) -> None:
    header = "id,name,sport,country,twitter"
    body = "\n".join(",".join(json.dumps(c) for c in row) for row in rows)
    events, summary = run(f"{header}\n{body}\n".encode())
    assert summary.read == summary.accepted + summary.rejected_total
    letters = sum(isinstance(e, MessageDeadLettered) for e in events)
    assert letters == summary.rejected_total
    assert len(events) - letters == summary.accepted - summary.duplicates
