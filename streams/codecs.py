"""The process-wide codec: the schema store plus every event class in the topic catalogue."""

from __future__ import annotations

from pathlib import Path

from streams.events.codec import Codec
from streams.events.schema_store import SchemaStore
from streams.topics import event_types


def default_codec(schema_dir: Path | None = None) -> Codec:
    return Codec(SchemaStore.load(schema_dir), event_types())
