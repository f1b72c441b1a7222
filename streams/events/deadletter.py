"""Dead letters: input that could not be used, kept with its original bytes and the reason.

Nothing is dropped silently. A Kafka message that cannot be decoded and a provider row that
fails validation both become a ``MessageDeadLettered`` event on the ``deadletter`` topic, with
deterministic ids so that re-reading the same input does not multiply them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance


@dataclass(frozen=True, slots=True)
class MessageDeadLettered(Event):
    """Input rejected by a stage, byte for byte, with where it came from and why."""

    schema_name: ClassVar[str] = "crowdlog.deadletter.MessageDeadLettered"

    reason: str
    error: str
    original_key: bytes | None = None
    original_value: bytes | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    source_file: str | None = None
    source_line: int | None = None


def _digest(data: bytes | None) -> str:
    return hashlib.sha256(data or b"").hexdigest()


def dead_letter_message(*, topic: str, partition: int, offset: int, key: bytes | None,
                        value: bytes | None, timestamp: datetime, error: str, reason: str,
                        producer: Producer) -> MessageDeadLettered:
    """A Kafka message that a consumer could not decode."""
    entity = _entity_from_key(key) or f"{topic}/{partition}@{offset}"
    meta = new_meta(
        event_type=MessageDeadLettered.schema_name,
        entity_id=entity,
        occurred_at=timestamp,
        producer=producer,
        provenance=Provenance(source=f"kafka:{topic}", reference=f"{partition}@{offset}"),
        identity=[topic, partition, offset, _digest(value)],
    )
    return MessageDeadLettered(
        meta=meta, reason=reason, error=error, original_key=key, original_value=value,
        source_topic=topic, source_partition=partition, source_offset=offset,
    )


def dead_letter_row(*, source: str, path: str, line: int, raw: bytes, entity_id: str | None,
                    occurred_at: datetime, error: str, reason: str,
                    producer: Producer) -> MessageDeadLettered:
    """A row of an input file that failed validation; ``source`` names the feed (provenance)."""
    meta = new_meta(
        event_type=MessageDeadLettered.schema_name,
        entity_id=entity_id or f"{source}#{line}",
        occurred_at=occurred_at,
        producer=producer,
        provenance=Provenance(source=source, reference=f"line {line}"),
        identity=[source, line, _digest(raw)],
    )
    return MessageDeadLettered(
        meta=meta, reason=reason, error=error, original_value=raw,
        source_file=path, source_line=line,
    )


def _entity_from_key(key: bytes | None) -> str | None:
    """The key as an entity id when it is printable text; the key itself is kept either way."""
    if not key:
        return None
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None
