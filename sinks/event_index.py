"""The event index sink: every event into SQL, idempotent by event id.

A batch of consumed events is written in one transaction together with the log position it
reaches, so the database alone says how far it has applied the log: on restart the consumer
starts each partition at the stored position, and a redelivered event is a no-op because rows
are inserted with ON CONFLICT DO NOTHING on the event id.

The SQL is run by a plain confluent-kafka loop, never inside a Faust agent, so blocking database
calls cannot stall an event loop.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from sinks.tables import event_parents, events, metadata, sink_positions
from streams.consumer import Batch, Consumed

SINK_NAME = "event_index"


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def event_row(consumed: Consumed) -> dict[str, Any]:
    """The ``events`` row of a consumed event."""
    meta = consumed.event.meta
    return {
        "event_id": meta.event_id,
        "event_type": meta.event_type,
        "entity_id": meta.entity_id,
        "occurred_at": meta.occurred_at,
        "stage": meta.producer.stage,
        "stage_version": meta.producer.version,
        "instance": meta.producer.instance,
        "provenance_source": meta.provenance.source,
        "provenance_reference": meta.provenance.reference,
        "schema_fingerprint": consumed.schema.fingerprint.hex(),
        "schema_version": consumed.schema.version,
        "topic": consumed.topic,
        "partition": consumed.partition,
        "offset": consumed.offset,
        "payload": json.dumps(consumed.event.payload_to_avro(), sort_keys=True,
                              default=_json_value),
    }


def _insert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both SQLite and PostgreSQL do)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the event index supports SQLite and PostgreSQL, not {dialect}")


class EventIndex:
    """Writes batches of consumed events and reads back the applied positions."""

    def __init__(self, engine: Engine, sink: str = SINK_NAME) -> None:
        self.engine = engine
        self.sink = sink

    def apply(self, batch: Batch) -> int:
        """Write ``batch`` and its end positions in one transaction; return new events stored."""
        if not batch.positions:
            return 0
        event_rows = [event_row(c) for c in batch.events]
        parent_rows = [
            {"event_id": c.event.event_id, "parent_id": parent, "position": i}
            for c in batch.events
            for i, parent in enumerate(c.event.meta.parents)
        ]
        stored = 0
        with self.engine.begin() as connection:
            if event_rows:
                inserted = connection.execute(
                    _insert(connection, events).on_conflict_do_nothing()
                    .returning(events.c.event_id),
                    event_rows,
                )
                stored = len(inserted.fetchall())
            if parent_rows:
                connection.execute(_insert(connection, event_parents).on_conflict_do_nothing(),
                                   parent_rows)
            upsert = _insert(connection, sink_positions)
            connection.execute(
                upsert.on_conflict_do_update(
                    index_elements=["sink", "topic", "partition"],
                    set_={"next_offset": upsert.excluded.next_offset},
                ),
                [{"sink": self.sink, "topic": t, "partition": p, "next_offset": o}
                 for (t, p), o in batch.positions.items()],
            )
        return stored

    def positions(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Where to resume each partition: the stored position, for ``start_offsets``."""
        wanted = set(partitions)
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(sink_positions.c.topic, sink_positions.c.partition,
                       sink_positions.c.next_offset).where(sink_positions.c.sink == self.sink)
            )
            return {(t, p): o for t, p, o in rows if (t, p) in wanted}
