"""Ingest: a provider file in, ``RecordReceived`` events and dead letters out.

``ingest_events`` is pure: it turns the lines of a file into the events to publish and keeps the
summary (read = accepted + rejected, rejections by reason). ``run_ingest`` is the thin I/O shell
the CLI calls: it reads the file, publishes through the producer API and draws a progress bar.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from streams.events.deadletter import MessageDeadLettered, dead_letter_row
from streams.events.model import Producer
from streams.producer import EventProducer
from streams.records.core import STAGE, STAGE_VERSION, Rejection, normalise_row, pick
from streams.records.files import BadRow, UnreadableFile, read_rows
from streams.records.models import RecordReceived


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


def ingest_events(lines: Iterable[bytes], *, fmt: str, provider: str, path: str,
                  received_at: datetime, producer: Producer,
                  summary: IngestSummary) -> Iterator[RecordReceived | MessageDeadLettered]:
    """Events for the rows of a provider file, updating ``summary`` as rows are consumed.

    A row repeated within the file yields the same event id and is published once.
    """
    seen: set[str] = set()
    source = f"provider:{provider}"
    for row in read_rows(lines, fmt):
        summary.read += 1
        if isinstance(row, BadRow):
            outcome: RecordReceived | Rejection = Rejection(row.code, row.message)
            fields: dict[str, object] = {}
        else:
            fields = row.fields
            outcome = normalise_row(fields, provider=provider, received_at=received_at,
                                    producer=producer)
        if isinstance(outcome, Rejection):
            summary.rejected[outcome.code] += 1
            ref = pick(fields, "provider_ref") if fields else None
            yield dead_letter_row(
                source=source, path=path, line=row.line, raw=row.raw,
                entity_id=f"{provider}:{ref}" if ref else None, occurred_at=received_at,
                error=outcome.code, reason=outcome.message, producer=producer,
            )
            continue
        summary.accepted += 1
        if outcome.event_id in seen:
            summary.duplicates += 1
            continue
        seen.add(outcome.event_id)
        yield outcome


def file_received_at(path: Path) -> datetime:
    """Event time for rows without their own timestamp: the file's modification time."""
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def records_producer(instance: str) -> Producer:
    return Producer(stage=STAGE, version=STAGE_VERSION, instance=instance)


def run_ingest(path: Path, *, provider: str, fmt: str, producer: EventProducer,
               instance: str, progress: bool = True) -> IngestSummary:
    """Publish a provider file's events; raises ``UnreadableFile`` if it cannot be read."""
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise UnreadableFile(f"cannot read {path}: {exc.strerror or exc}") from exc
    summary = IngestSummary()
    with handle, tqdm(total=size, unit="B", unit_scale=True, disable=not progress,
                      desc=f"ingest {path.name}") as bar:
        def lines() -> Iterator[bytes]:
            for line in handle:
                bar.update(len(line))
                yield line

        for event in ingest_events(lines(), fmt=fmt, provider=provider, path=str(path),
                                   received_at=file_received_at(path),
                                   producer=records_producer(instance), summary=summary):
            producer.send(event)
    producer.flush()
    return summary
