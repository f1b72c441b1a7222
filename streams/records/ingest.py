"""Ingest: a provider file in, ``RecordReceived`` events and dead letters out.

``ingest_events`` is pure: it turns the bytes of a file into the events to publish and keeps the
summary (read = accepted + rejected, rejections by reason). ``run_ingest`` is the thin I/O shell
the CLI calls: it reads the file in chunks, publishes through the producer API and draws a
progress bar. Every row, whatever its bytes, ends as a record or a dead letter small enough for
Kafka (see ``files`` for the row limits and ``core`` for the field limits).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from streams.events.deadletter import MessageDeadLettered, dead_letter_row
from streams.events.model import Producer
from streams.producer import EventProducer
from streams.records.core import STAGE, STAGE_VERSION, normalise_row, row_entity_id
from streams.records.files import BadRow, Row, UnreadableFile, read_rows
from streams.records.models import RecordReceived

CHUNK_BYTES = 64 * 1024


@dataclass
class IngestSummary:
    """What happened to every row: ``read == accepted + rejected`` always holds."""

    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def lines(self) -> list[str]:
        out = [
            f"read       {self.read}",
            f"accepted   {self.accepted}" + (
                f" ({self.duplicates} repeated row{'s' * (self.duplicates != 1)} published once)"
                if self.duplicates else ""),
            f"rejected   {self.rejected_total}",
        ]
        out += [f"  {code:<28} {count}" for code, count in sorted(self.rejected.items())]
        return out


def ingest_events(data: Iterable[bytes], *, fmt: str, provider: str, path: str,
                  received_at: datetime, producer: Producer,
                  summary: IngestSummary) -> Iterator[RecordReceived | MessageDeadLettered]:
    """Events for the rows of a provider file given as its bytes in chunks of any size
    (lines, blocks), updating ``summary`` as rows are consumed.

    A row repeated within the file yields the same event id and is published once.
    """
    seen: set[str] = set()
    for row in read_rows(data, fmt):
        summary.read += 1
        outcome = _outcome(row, provider=provider, path=path, received_at=received_at,
                           producer=producer)
        if isinstance(outcome, MessageDeadLettered):
            summary.rejected[outcome.error] += 1
            yield outcome
            continue
        summary.accepted += 1
        if outcome.event_id in seen:
            summary.duplicates += 1
            continue
        seen.add(outcome.event_id)
        yield outcome


def _outcome(row: Row | BadRow, *, provider: str, path: str, received_at: datetime,
             producer: Producer) -> RecordReceived | MessageDeadLettered:
    """The row's record, or its dead letter with the original bytes, line and reason."""
    if isinstance(row, BadRow):
        error, reason, entity_id = row.code, _reason(row, path), None
    else:
        outcome = normalise_row(row.fields, provider=provider, received_at=received_at,
                                producer=producer)
        if isinstance(outcome, RecordReceived):
            return outcome
        error, reason = outcome.code, outcome.message
        entity_id = row_entity_id(row.fields, provider)
    return dead_letter_row(source=f"provider:{provider}", path=path, line=row.line,
                           raw=row.raw, entity_id=entity_id, occurred_at=received_at,
                           error=error, reason=reason, producer=producer)


def _reason(row: BadRow, path: str) -> str:
    """The message, saying so when the dead letter holds only the start of the row."""
    if row.truncated_from is None:
        return row.message
    return (f"{row.message}; original_value holds its first {len(row.raw)} bytes, truncated"
            f" from {row.truncated_from} bytes; the whole row is line {row.line} of {path}")


def file_received_at(path: Path) -> datetime:
    """Event time for rows without their own timestamp: the file's modification time."""
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def records_producer(instance: str) -> Producer:
    return Producer(stage=STAGE, version=STAGE_VERSION, instance=instance)


def run_ingest(path: Path, *, provider: str, fmt: str, producer: EventProducer,
               instance: str, progress: bool = True) -> IngestSummary:
    """Publish a provider file's events; raises ``UnreadableFile`` if it cannot be read.

    The file is read in ``CHUNK_BYTES`` blocks, so memory stays bounded whatever its lines.
    """
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise UnreadableFile(f"cannot read {path}: {exc.strerror or exc}") from exc
    summary = IngestSummary()
    with handle, tqdm(total=size, unit="B", unit_scale=True, disable=not progress,
                      desc=f"ingest {path.name}") as bar:
        def chunks() -> Iterator[bytes]:
            while chunk := _read(handle, path):
                bar.update(len(chunk))
                yield chunk

        for event in ingest_events(chunks(), fmt=fmt, provider=provider, path=str(path),
                                   received_at=file_received_at(path),
                                   producer=records_producer(instance), summary=summary):
            producer.send(event)
    producer.flush()
    return summary


def _read(handle: BinaryIO, path: Path) -> bytes:
    """The next chunk; a read that fails part-way (a disk or network error) is an unreadable
    file too, and ingesting it again later publishes the same ids."""
    try:
        return handle.read(CHUNK_BYTES)
    except OSError as exc:
        raise UnreadableFile(f"reading {path} failed part-way: {exc.strerror or exc}") from exc
