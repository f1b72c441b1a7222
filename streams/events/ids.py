"""Deterministic event ids and the metadata builder every stage uses.

An id is a hash of what makes the event what it is: its type, the stage and stage version that
derived it, its parents, and the identity of its payload. The wall clock, the process instance
and the Kafka coordinates are left out, so re-running a stage on the same inputs yields the
same ids and every consumer can drop duplicates by id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from streams.events.model import EventMeta, Producer, Provenance

ID_HEX_CHARS = 32  # 128 bits: collisions are not a practical concern at any log size


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot hash {type(value).__name__} into an event id")


def event_id(event_type: str, stage: str, stage_version: str, parents: Iterable[str],
             identity: Any) -> str:
    """Deterministic id of an event; ``identity`` is any JSON-able value naming its payload."""
    material = json.dumps(
        [event_type, stage, stage_version, list(parents), identity],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:ID_HEX_CHARS]


def new_meta(*, event_type: str, entity_id: str, occurred_at: datetime, producer: Producer,
             provenance: Provenance, parents: Iterable[str] = (), identity: Any) -> EventMeta:
    """Metadata of a new event, its id derived from type, producer, parents and identity."""
    parent_ids = tuple(parents)
    # Avro keeps milliseconds; truncating here makes every event round-trip exactly.
    occurred_at = occurred_at.replace(microsecond=occurred_at.microsecond // 1000 * 1000)
    return EventMeta(
        event_id=event_id(event_type, producer.stage, producer.version, parent_ids, identity),
        event_type=event_type,
        entity_id=entity_id,
        occurred_at=occurred_at,
        producer=producer,
        provenance=provenance,
        parents=parent_ids,
    )
