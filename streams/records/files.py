"""Provider files as rows: CSV (with a header) or JSON Lines, each row with its raw bytes.

Parsing never raises for a bad row: a row that cannot be parsed comes back as a ``BadRow`` with
its original bytes and the reason, so ingest can dead-letter it and go on. Only a file that
cannot be read at all (missing, unreadable, no usable header) raises ``UnreadableFile``.

Lines end in ``\\n``, ``\\r\\n`` or ``\\r`` (Unix, Windows, classic Mac OS), in any mix. The file
comes in as chunks of any size, and no line is held whole beyond ``KEEP_BYTES``, so a file
without a single line break costs bounded memory. Rows have limits by design, each a rejection
with its own reason when crossed:

- ``row_too_large``: a row of more than ``MAX_ROW_BYTES`` (line endings included) is rejected
  before it is parsed; its dead letter keeps its first ``KEEP_BYTES``, which keeps it well
  inside Kafka's 1,000,000-byte message limit.
- ``nesting_too_deep``: a JSON line nested more than ``MAX_JSON_DEPTH`` levels is rejected
  before it is parsed (Python's parser recurses, and a deep enough line exhausts the stack).
- ``unterminated_quote``: a CSV quote may hold line breaks, but one still open at the end of
  the file, or after ``MAX_ROW_BYTES``, or whose closing quote on a later line makes a row of
  another width than the header, is taken as a stray quote. Its line alone is rejected and
  reading resumes on the next line, so one stray quote costs one row, not the rest of the file.
"""

from __future__ import annotations

import csv
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("csv", "jsonl")
MAX_ROW_BYTES = 64 * 1024
KEEP_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32


class UnreadableFile(Exception):
    """The file cannot be read as a provider file at all."""


@dataclass(frozen=True, slots=True)
class Line:
    """A physical line with its ending: ``data`` is its first ``KEEP_BYTES``, ``size`` all."""

    number: int
    data: bytes
    size: int


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    raw: bytes
    fields: dict[str, object]


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not be parsed; ``truncated_from`` is its size when ``raw`` is cut."""

    line: int
    raw: bytes
    code: str
    message: str
    truncated_from: int | None = None


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise UnreadableFile(f"cannot tell the format of {path.name}: use --format csv|jsonl")


def read_rows(chunks: Iterable[bytes], fmt: str) -> Iterator[Row | BadRow]:
    """Rows of a provider file given as its bytes in chunks of any size (lines, blocks)."""
    if fmt == "csv":
        return _csv_rows(split_lines(chunks))
    if fmt == "jsonl":
        return _jsonl_rows(split_lines(chunks))
    raise UnreadableFile(f"unknown format {fmt!r}; expected one of {FORMATS}")


def split_lines(chunks: Iterable[bytes]) -> Iterator[Line]:
    """The lines ``bytes.splitlines`` finds in the file, whatever its chunks' boundaries.

    A chunk ending in ``\\r`` leaves its line open until the next chunk shows whether a
    ``\\n`` follows (one ``\\r\\n`` ending, not two line breaks).
    """
    partial = _PartialLine()
    after_cr = False
    for chunk in chunks:
        if not chunk:
            continue
        if after_cr and not chunk.startswith(b"\n"):
            yield partial.take()
        pieces = chunk.splitlines(keepends=True)
        for piece in pieces[:-1]:
            yield partial.take(piece)
        last = pieces[-1]
        after_cr = last.endswith(b"\r")
        if last.endswith(b"\n"):
            yield partial.take(last)
        else:
            partial.add(last)
    if partial.size:
        yield partial.take()


class _PartialLine:
    """The line being read: its first ``KEEP_BYTES`` and its size so far."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._number = 0
        self.size = 0

    def add(self, piece: bytes) -> None:
        room = KEEP_BYTES - len(self._head)
        if room > 0:
            self._head += piece[:room]
        self.size += len(piece)

    def take(self, last: bytes = b"") -> Line:
        """The line that ``last`` ends; most lines arrive whole and are not copied."""
        self._number += 1
        if not self.size:
            return Line(self._number, last[:KEEP_BYTES], len(last))
        self.add(last)
        line = Line(self._number, bytes(self._head), self.size)
        self._head.clear()
        self.size = 0
        return line


def _too_large(number: int, data: bytes, size: int) -> BadRow:
    return BadRow(number, data, "row_too_large",
                  f"row is {size} bytes, more than the {MAX_ROW_BYTES} a row may have",
                  truncated_from=size if size > len(data) else None)


def _jsonl_rows(lines: Iterator[Line]) -> Iterator[Row | BadRow]:
    for line in lines:
        if line.size > MAX_ROW_BYTES:
            yield _too_large(line.number, line.data, line.size)
        elif line.data.strip():
            yield _json_row(line)


def _json_row(line: Line) -> Row | BadRow:
    number, raw = line.number, line.data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return BadRow(number, raw, "not_utf8", "line is not valid UTF-8")
    if number == 1:
        text = text.removeprefix("\ufeff")
    if _nests_too_deep(text):
        return BadRow(number, raw, "nesting_too_deep",
                      f"line nests JSON deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text)
    except ValueError as exc:
        return BadRow(number, raw, "invalid_json", f"line is not valid JSON: {exc}")
    if not isinstance(value, dict):
        return BadRow(number, raw, "invalid_json", "line is JSON but not an object")
    return Row(number, raw, value)


# An escape (so that \" does not end a string), a quote, or a bracket.
_JSON_TOKEN = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def _nests_too_deep(text: str) -> bool:
    """Whether brackets outside strings open more than ``MAX_JSON_DEPTH`` levels.

    One pass over the tokens that matter, in linear time whatever the text.
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False  # it cannot nest deeper than it has brackets
    depth, in_string = 0, False
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token == '"':
            in_string = not in_string
        elif in_string or token.startswith("\\"):
            continue
        elif token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _csv_rows(lines: Iterator[Line]) -> Iterator[Row | BadRow]:
    source = _CsvLines(lines)
    reader = csv.reader(source)
    header = _csv_header(reader, source)
    while True:
        source.start_row()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _RowTooLarge:
            first = source.taken[0]
            yield _too_large(first.number, first.data, first.size)
            continue
        except _OpenQuote as open_quote:
            yield source.unterminated(str(open_quote))
            continue
        except csv.Error as exc:  # none known within MAX_ROW_BYTES; a row, not the run, fails
            yield BadRow(source.first_line, source.raw(), "invalid_csv", f"bad CSV: {exc}")
            continue
        row = _csv_row(source, header, cells)
        if row is not None:
            yield row


def _csv_header(reader: Iterator[list[str]], source: _CsvLines) -> list[str]:
    source.start_row()
    try:
        cells = next(reader)
    except StopIteration:
        raise UnreadableFile("the CSV file is empty: expected a header row") from None
    except _RowTooLarge:
        raise UnreadableFile(f"the CSV header is longer than {MAX_ROW_BYTES} bytes") from None
    except _OpenQuote as open_quote:
        raise UnreadableFile(f"the CSV header has an unterminated quote: {open_quote}") from None
    except csv.Error as exc:
        raise UnreadableFile(f"the CSV header cannot be parsed: {exc}") from None
    if source.not_utf8:
        raise UnreadableFile("the CSV header is not valid UTF-8")
    header = [column.strip().lstrip("\ufeff").lower() for column in cells]
    if not any(header):
        raise UnreadableFile("the CSV header row is empty")
    return header


def _csv_row(source: _CsvLines, header: list[str], cells: list[str]) -> Row | BadRow | None:
    """The record csv.reader made of the lines taken; None for a blank line."""
    if len(source.taken) > 1 and len(cells) != len(header):
        return source.unterminated(
            f"the quote closing it on line {source.taken[-1].number} makes a row of"
            f" {len(cells)} cells, the header has {len(header)}")
    if source.not_utf8:
        return BadRow(source.first_line, source.raw(), "not_utf8", "row is not valid UTF-8")
    if not any(cell.strip() for cell in cells):
        return None
    if len(cells) != len(header):
        return BadRow(source.first_line, source.raw(), "wrong_column_count",
                      f"row has {len(cells)} cells, the header has {len(header)}")
    return Row(source.first_line, source.raw(), dict(zip(header, cells, strict=True)))


class _OpenQuote(Exception):
    """The record's quote cannot be closed within the limits; the message says why."""


class _RowTooLarge(Exception):
    pass


class _CsvLines:
    """Feeds ``csv.reader`` the lines of one record at a time and remembers them.

    ``csv.reader`` asks for another line within a record only while a quoted cell is open.
    A record may not grow past ``MAX_ROW_BYTES`` nor past the end of the file: the line is
    then kept back and ``_OpenQuote`` raised, and ``unterminated`` queues the record's later
    lines to be read again as rows of their own. Lines that are not UTF-8 are decoded with
    their bad bytes escaped, so that they still end records where they should, and the record
    is marked ``not_utf8``.
    """

    def __init__(self, lines: Iterator[Line]) -> None:
        self._lines = lines
        self._again: deque[Line] = deque()
        self._bytes = 0
        self.taken: list[Line] = []
        self.not_utf8 = False

    def start_row(self) -> None:
        self.taken = []
        self._bytes = 0
        self.not_utf8 = False

    @property
    def first_line(self) -> int:
        return self.taken[0].number

    def raw(self) -> bytes:
        return b"".join(line.data for line in self.taken)

    def unterminated(self, why: str) -> BadRow:
        """Reject the record's first line alone; its other lines will be read again."""
        first, later = self.taken[0], self.taken[1:]
        self._again.extendleft(reversed(later))
        return BadRow(first.number, first.data, "unterminated_quote",
                      f"the quote opened on line {first.number} is taken as unterminated ({why});"
                      f" line {first.number} is rejected alone and reading resumes on line"
                      f" {first.number + 1}")

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        line = self._next_line()
        if self.taken and self._bytes + line.size > MAX_ROW_BYTES:
            self._again.appendleft(line)
            raise _OpenQuote(f"it is still open after {MAX_ROW_BYTES} bytes")
        self.taken.append(line)
        self._bytes += line.size
        if line.size > MAX_ROW_BYTES:
            raise _RowTooLarge
        try:
            return line.data.decode("utf-8")
        except UnicodeDecodeError:
            self.not_utf8 = True
            return line.data.decode("utf-8", errors="surrogateescape")

    def _next_line(self) -> Line:
        if self._again:
            return self._again.popleft()
        try:
            return next(self._lines)
        except StopIteration:
            if self.taken:
                raise _OpenQuote("the file ends before it closes") from None
            raise
