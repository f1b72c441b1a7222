"""Ingest's pure core: file rows in, events and dead letters out, every row accounted for."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events.codec import Codec
from streams.events.deadletter import MessageDeadLettered
from streams.records.files import (
    KEEP_BYTES,
    MAX_JSON_DEPTH,
    MAX_ROW_BYTES,
    UnreadableFile,
    read_rows,
    split_lines,
)
from streams.records.ingest import CHUNK_BYTES, IngestSummary, ingest_events
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


# --- line endings: \n, \r\n and \r (classic Mac OS), in any mix and any chunking -------------

FEED = [
    b"id,name,sport,team",
    b"1,Usain Bolt,athletics,",
    b'2,Serena Williams,tennis,"Team{eol}USA"',
    b"3,,golf,",
    b"4,Lionel Messi,soccer,Inter Miami",
]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_reads_the_same(eol: bytes) -> None:
    data = eol.join(line.replace(b"{eol}", eol) for line in FEED) + eol
    events, summary = run(data)
    assert (summary.read, summary.accepted, summary.rejected) == (4, 3, {"missing_name": 1})
    records = [e for e in events if isinstance(e, RecordReceived)]
    assert [r.team for r in records] == [None, "Team USA", "Inter Miami"]
    letters = [e for e in events if isinstance(e, MessageDeadLettered)]
    assert [(d.source_line, d.original_value) for d in letters] == [(5, b"3,,golf," + eol)]


def test_mixed_line_endings() -> None:
    events, summary = run(b"id,name,sport\r\n1,Usain Bolt,athletics\r2,Yao Ming,basketball\n"
                          b"3,Pele,soccer\r\n")
    assert (summary.read, summary.accepted) == (3, 3)
    assert [e.name for e in events if isinstance(e, RecordReceived)] == [
        "Usain Bolt", "Yao Ming", "Pele"]


LINE_BYTES = st.lists(st.sampled_from([b"a", b"1", b",", b'"', b"\r", b"\n", b"\r\n", b"\xff",
                                       b"{", b"[", b" "]), max_size=60).map(b"".join)


@settings(max_examples=200)
@given(LINE_BYTES, st.lists(st.integers(min_value=0, max_value=60), max_size=8))
def test_lines_do_not_depend_on_chunk_boundaries(data: bytes, cuts: list[int]) -> None:
    bounds = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    lines = list(split_lines(chunks))
    assert [line.data for line in lines] == data.splitlines(keepends=True)
    assert [line.number for line in lines] == list(range(1, len(lines) + 1))
    assert all(line.size == len(line.data) for line in lines)


# --- size limits: rows, dead letters -------------------------------------------------------

def test_a_10_mb_row_is_rejected_and_its_dead_letter_truncated(codec: Codec) -> None:
    huge = b"9,Huge Name," + b"x" * 10_000_000 + b"\n"
    data = b"id,name,sport\n1,Usain Bolt,athletics\n" + huge + b"2,Yao Ming,basketball\n"
    chunks = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
    summary = IngestSummary()
    events = list(ingest_events(chunks, fmt="csv", provider="acme", path="feed.csv",
                                received_at=T0, producer=PRODUCER, summary=summary))
    assert (summary.read, summary.accepted, summary.rejected) == (3, 2, {"row_too_large": 1})
    (letter,) = [e for e in events if isinstance(e, MessageDeadLettered)]
    assert (letter.source_line, letter.error) == (3, "row_too_large")
    assert letter.original_value == huge[:KEEP_BYTES]
    assert letter.reason == (
        f"row is {len(huge)} bytes, more than the {MAX_ROW_BYTES} a row may have; original_value"
        f" holds its first {KEEP_BYTES} bytes, truncated from {len(huge)} bytes; the whole row"
        " is line 3 of feed.csv")
    assert len(codec.encode(letter)) < 1_000_000  # the producer's message limit


@pytest.mark.parametrize(("extra", "code"), [
    (MAX_ROW_BYTES, None),  # exactly the limit, its line ending included
    (MAX_ROW_BYTES + 1, "row_too_large"),
    (100_000, "row_too_large"),  # above the limit, within what a dead letter keeps whole
])
def test_row_size_limit(extra: int, code: str | None) -> None:
    start = b"1,Usain Bolt,athletics,"
    row = start + b"n" * (extra - len(start) - 1) + b"\n"
    assert len(row) == extra
    events, summary = run(b"id,name,sport,notes\n" + row)
    assert summary.read == 1
    assert summary.rejected == ({code: 1} if code else {})
    if code:
        (letter,) = events
        assert isinstance(letter, MessageDeadLettered)
        assert letter.original_value == row and "truncated" not in letter.reason


def test_a_10_mb_json_line() -> None:
    lines = [json.dumps({"id": "1", "name": "Usain Bolt", "sport": "athletics"}).encode(),
             json.dumps({"id": "2", "name": "x" * 10_000_000, "sport": "golf"}).encode(),
             json.dumps({"id": "3", "name": "Yao Ming", "sport": "basketball"}).encode()]
    events, summary = run(b"\n".join(lines), fmt="jsonl")
    assert (summary.read, summary.accepted, summary.rejected) == (3, 2, {"row_too_large": 1})
    (letter,) = [e for e in events if isinstance(e, MessageDeadLettered)]
    assert letter.source_line == 2 and letter.original_value == lines[1][:KEEP_BYTES]
    assert letter.entity_id == "provider:acme#2"  # the row was never parsed


# --- JSON nesting ---------------------------------------------------------------------------

def nested(ref: int, depth: int) -> bytes:
    """A good row whose extra column nests ``depth`` arrays inside the row's object."""
    arrays = "[" * depth + "]" * depth
    return f'{{"id": "{ref}", "name": "A B", "sport": "golf", "stats": {arrays}}}'.encode()


def test_deep_json_is_rejected_before_parsing() -> None:
    lines = [
        b"[" * 100_000 + b"]" * 100_000,  # 100,000 deep takes 200,000 bytes: too large
        b"[" * 100_000,  # unclosed
        nested(2, 20_000),
        nested(3, MAX_JSON_DEPTH),  # with the object around them, one level too deep
        nested(4, MAX_JSON_DEPTH - 1),
        json.dumps({"id": "5", "name": "A B", "sport": "golf", "stats": '\\"' + "[" * 99})
        .encode(),  # brackets in a string, after an escaped quote, do not count
        json.dumps({"id": "6", "name": "Usain Bolt", "sport": "athletics"}).encode(),
    ]
    events, summary = run(b"\n".join(lines), fmt="jsonl")
    assert summary.read == 7 and summary.accepted == 3
    assert summary.rejected == {"row_too_large": 2, "nesting_too_deep": 2}
    letters = {e.source_line: e.error for e in events if isinstance(e, MessageDeadLettered)}
    assert letters == {1: "row_too_large", 2: "row_too_large", 3: "nesting_too_deep",
                       4: "nesting_too_deep"}


# --- unterminated quotes ----------------------------------------------------------------------

def stray_quote_then(rows: int) -> bytes:
    good = b"".join(f"{n},Good Name,soccer\n".encode() for n in range(2, rows + 2))
    return b'id,name,sport\n1,"Bad Name,soccer\n' + good


@pytest.mark.parametrize("rows", [2_998, 5_000])  # the file ends; 64 KiB are read first
def test_an_unterminated_quote_costs_its_own_line(rows: int) -> None:
    assert (len(stray_quote_then(rows)) > MAX_ROW_BYTES) == (rows == 5_000)
    events, summary = run(stray_quote_then(rows))
    assert (summary.read, summary.accepted) == (rows + 1, rows)
    assert summary.rejected == {"unterminated_quote": 1}
    letter = events[0]
    assert isinstance(letter, MessageDeadLettered)
    assert (letter.source_line, letter.original_value) == (2, b'1,"Bad Name,soccer\n')
    assert letter.reason.startswith("the quote opened on line 2 is taken as unterminated (")
    assert [e.provider_ref for e in events[1:3]] == ["2", "3"]  # type: ignore[attr-defined]


def test_a_quote_closed_rows_later_is_still_a_stray_quote() -> None:
    data = (b'id,name,sport\n1,"Bad Name,soccer\n2,Good Name,soccer\n3,Fine Name,"golf"\n'
            b"4,Last Name,tennis\n")
    events, summary = run(data)
    assert (summary.read, summary.accepted) == (4, 3)
    assert summary.rejected == {"unterminated_quote": 1}
    assert [e.provider_ref for e in events[1:]] == ["2", "3", "4"]  # type: ignore[attr-defined]
    letter = events[0]
    assert isinstance(letter, MessageDeadLettered) and letter.source_line == 2
    assert "closing it on line 4 makes a row of 2 cells, the header has 3" in letter.reason


def test_bad_bytes_inside_a_quoted_cell_reject_the_whole_row() -> None:
    _, summary = run(b'id,name,sport,team\n1,Usain Bolt,athletics,"A\n\xff B"\n2,Yao Ming,x,\n')
    assert (summary.read, summary.accepted, summary.rejected) == (2, 1, {"not_utf8": 1})


@pytest.mark.parametrize(("data", "message"), [
    (b'id,"name,sport\n1,x,y\n', "the CSV header has an unterminated quote"),
    (b"id,name," + b"x" * MAX_ROW_BYTES + b"\n1,x,y\n", "the CSV header is longer than"),
])
def test_unusable_csv_header(data: bytes, message: str) -> None:
    with pytest.raises(UnreadableFile, match=message):
        run(data)


# --- whatever the bytes: every row accounted for, every event fits in a Kafka message ---------

ANY_BYTES = st.lists(st.one_of(st.sampled_from([b'"', b",", b"\r", b"\n", b"{", b"}", b"[",
                                                b"]", b":", b"\\", b"\xff", b"\x00"]),
                               st.binary(max_size=8), st.text(max_size=8).map(str.encode)),
                     max_size=80).map(b"".join)


@settings(max_examples=300)
@given(ANY_BYTES, st.sampled_from(["csv", "jsonl"]))
def test_any_bytes_end_as_rows_or_rejections(codec: Codec, body: bytes, fmt: str) -> None:
    data = b"id,name,sport,twitter\n" + body if fmt == "csv" else body
    events, summary = run(data, fmt=fmt)
    assert summary.read == summary.accepted + summary.rejected_total
    assert sum(isinstance(e, MessageDeadLettered) for e in events) == summary.rejected_total
    assert all(len(codec.encode(e)) < 1_000_000 for e in events)  # type: ignore[arg-type]
