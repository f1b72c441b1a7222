"""The event index sink: every event into SQL, idempotent by event id.

A batch of consumed events is written in one transaction together with the log position it
reaches, so the database alone says how far it has applied the log: on restart the consumer
starts each partition at the stored position, and a redelivered event is a no-op because rows
are inserted with ON CONFLICT DO NOTHING on the event id.

The same transaction materialises the current views (``sinks.views``): each event that a view
shows adds its version row, and each ``EventRetracted`` adds its ``retractions`` row and marks
the retracted event's rows ``retracted_by``. A retraction and the event it names travel on
different topics, so either may come first: marking looks both ways, and an event that arrives
after its retraction is marked in the transaction that inserts it. Nothing is ever deleted.

The SQL is run by a plain confluent-kafka loop, never inside a Faust agent, so blocking database
calls cannot stall an event loop.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, inspect, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from sinks.projections import retraction_row, version_row
from sinks.tables import (
    RETRACTABLE,
    event_parents,
    events,
    metadata,
    retractions,
    sink_positions,
)
from sinks.views import create_views
from streams.consumer import Batch, Consumed
from streams.lineage.models import EventRetracted

SINK_NAME = "event_index"
_CHUNK = 500  # ids per IN list: far below every SQLite build's bound-parameter limit


def create_schema(engine: Engine) -> None:
    """Create the tables and (re)create the current views; adds ``events.retracted_by`` to an
    index made before retractions existed (its views fill for events applied from then on)."""
    with engine.begin() as connection:
        metadata.create_all(connection)
        known = {c["name"] for c in inspect(connection).get_columns(events.name)}
        if "retracted_by" not in known:
            connection.execute(text("ALTER TABLE events ADD COLUMN retracted_by TEXT"))
        create_views(connection)


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


def _version_rows(batch: Batch) -> dict[Table, list[dict[str, Any]]]:
    """The batch's rows for the version tables behind the current views, by table."""
    rows: dict[Table, list[dict[str, Any]]] = {}
    for consumed in batch.events:
        projected = version_row(consumed.event)
        if projected is not None:
            rows.setdefault(projected[0], []).append(projected[1])
    return rows


def _retraction_rows(batch: Batch) -> list[dict[str, Any]]:
    """The batch's ``retractions`` rows; of two retracting one event, the first, as the table
    keeps the first one stored."""
    first: dict[str, dict[str, Any]] = {}
    for consumed in batch.events:
        if isinstance(consumed.event, EventRetracted):
            first.setdefault(consumed.event.retracted_id, retraction_row(consumed.event))
    return list(first.values())


def _mark_retracted(connection: Connection, event_ids: set[str]) -> None:
    """Mark every row of ``event_ids`` that a stored retraction names, in every table.

    ``event_ids`` holds the batch's events (one may have been retracted before it arrived) and
    the events its retractions name (stored earlier, or in this batch). Already-marked rows keep
    their mark: the first retraction stored for an event is the one that counts.
    """
    ordered = sorted(event_ids)
    marks: list[dict[str, str]] = []
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start:start + _CHUNK]
        marks += [{"b_id": retracted, "b_by": redaction} for retracted, redaction in
                  connection.execute(select(retractions.c.retracted_id,
                                            retractions.c.redaction_id)
                                     .where(retractions.c.retracted_id.in_(chunk)))]
    if not marks:
        return
    for table in RETRACTABLE:
        connection.execute(
            update(table)
            .where(table.c.event_id == bindparam("b_id"), table.c.retracted_by.is_(None))
            .values(retracted_by=bindparam("b_by")),
            marks,
        )


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
        versions = _version_rows(batch)
        retraction_rows = _retraction_rows(batch)
        touched = {c.event.event_id for c in batch.events} | {
            row["retracted_id"] for row in retraction_rows}
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
            for table, rows in versions.items():
                connection.execute(_insert(connection, table).on_conflict_do_nothing(), rows)
            if retraction_rows:
                connection.execute(_insert(connection, retractions).on_conflict_do_nothing(),
                                   retraction_rows)
            _mark_retracted(connection, touched)
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
