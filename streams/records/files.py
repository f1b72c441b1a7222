"""Provider files as rows: CSV (with a header) or JSON Lines, each row with its raw bytes.

Parsing never raises for a bad row: a row that cannot be parsed comes back as a ``BadRow`` with
its original bytes and the reason, so ingest can dead-letter it and go on. Only a file that
cannot be read at all (missing, unreadable, no header) raises ``UnreadableFile``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("csv", "jsonl")


class UnreadableFile(Exception):
    """The file cannot be read as a provider file at all."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    raw: bytes
    fields: dict[str, object]


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    raw: bytes
    code: str
    message: str


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise UnreadableFile(f"cannot tell the format of {path.name}: use --format csv|jsonl")


def read_rows(lines: Iterable[bytes], fmt: str) -> Iterator[Row | BadRow]:
    """Rows of a provider file given as raw lines (each ending in its newline, if any)."""
    if fmt == "csv":
        return _csv_rows(lines)
    if fmt == "jsonl":
        return _jsonl_rows(lines)
    raise UnreadableFile(f"unknown format {fmt!r}; expected one of {FORMATS}")


def _jsonl_rows(lines: Iterable[bytes]) -> Iterator[Row | BadRow]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except UnicodeDecodeError:
            yield BadRow(number, raw, "not_utf8", "line is not valid UTF-8")
            continue
        except ValueError as exc:
            yield BadRow(number, raw, "invalid_json", f"line is not valid JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield BadRow(number, raw, "invalid_json", "line is JSON but not an object")
            continue
        yield Row(number, raw, value)


def _csv_rows(lines: Iterable[bytes]) -> Iterator[Row | BadRow]:
    source = _TrackedLines(lines)
    reader = csv.reader(source)
    try:
        header = [column.strip().lstrip("\ufeff").lower() for column in next(reader)]
    except StopIteration:
        raise UnreadableFile("the CSV file is empty: expected a header row") from None
    except _NotUtf8:
        raise UnreadableFile("the CSV header is not valid UTF-8") from None
    if not any(header):
        raise UnreadableFile("the CSV header row is empty")
    while True:
        source.start_row()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _NotUtf8:
            yield BadRow(source.first_line, source.raw(), "not_utf8", "row is not valid UTF-8")
            continue
        except csv.Error as exc:
            yield BadRow(source.first_line, source.raw(), "invalid_csv", f"bad CSV: {exc}")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield BadRow(source.first_line, source.raw(), "wrong_column_count",
                         f"row has {len(cells)} cells, the header has {len(header)}")
            continue
        yield Row(source.first_line, source.raw(), dict(zip(header, cells, strict=True)))


class _NotUtf8(Exception):
    pass


class _TrackedLines:
    """Feeds decoded lines to ``csv.reader`` and remembers the raw bytes of the current row."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self._lines = iter(lines)
        self._number = 0
        self._raw: list[bytes] = []
        self.first_line = 1

    def start_row(self) -> None:
        self._raw = []
        self.first_line = self._number + 1

    def raw(self) -> bytes:
        return b"".join(self._raw)

    def __iter__(self) -> _TrackedLines:
        return self

    def __next__(self) -> str:
        raw = next(self._lines)
        self._number += 1
        self._raw.append(raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotUtf8 from None
