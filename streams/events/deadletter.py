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

# A dead letter must itself fit in one Kafka message (the producer's limit is 1,000,000 bytes,
# ``streams.producer.MAX_MESSAGE_BYTES``): a message near that limit could not be dead-lettered
# whole with its envelope. Original bytes are kept whole up to these sizes; beyond them the
# first bytes are kept and the reason says so, with the coordinates that find the original.
MAX_ORIGINAL_VALUE = 768 * 1024
MAX_ORIGINAL_KEY = 16 * 1024
MAX_REASON = 16 * 1024


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
    where, digest = f"{topic}/{partition}@{offset}", _digest(value)
    key, key_note = truncated(key, MAX_ORIGINAL_KEY, "key", where)
    value, value_note = truncated(value, MAX_ORIGINAL_VALUE, "value", where)
    reason = _bounded(reason) + key_note + value_note
    meta = new_meta(
        event_type=MessageDeadLettered.schema_name,
        entity_id=entity,
        occurred_at=timestamp,
        producer=producer,
        provenance=Provenance(source=f"kafka:{topic}", reference=f"{partition}@{offset}"),
        identity=[topic, partition, offset, digest],
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


def truncated(data: bytes | None, limit: int, what: str,
              where: str) -> tuple[bytes | None, str]:
    """``data`` cut to ``limit`` bytes, and the note that says so (empty when nothing was cut).

    >>> truncated(b"abcdef", 4, "value", "t/0@7")
    (b'abcd', ' [original value truncated from 6 to 4 bytes; the whole message stays at t/0@7]')
    >>> truncated(b"ab", 4, "value", "t/0@7")
    (b'ab', '')
    """
    if data is None or len(data) <= limit:
        return data, ""
    return data[:limit], (f" [original {what} truncated from {len(data)} to {limit} bytes; "
                          f"the whole message stays at {where}]")


def _bounded(reason: str) -> str:
    """A reason short enough for any dead letter (a traceback of a deep recursion is not)."""
    if len(reason) <= MAX_REASON:
        return reason
    return f"{reason[:MAX_REASON]} [reason cut from {len(reason)} characters]"


def _entity_from_key(key: bytes | None) -> str | None:
    """The key as an entity id when it is printable text; the key itself is kept either way."""
    if not key or len(key) > 1024:
        return None
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None
