"""SQL tables of the event index: every event, its lineage edges, and the applied log position.

Text columns are unbounded on purpose: a length limit would turn one long value into an error
that stops the sink on the same message forever.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, Table, Text

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("entity_id", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("stage", Text, nullable=False),
    Column("stage_version", Text, nullable=False),
    Column("instance", Text, nullable=False),
    Column("provenance_source", Text, nullable=False),
    Column("provenance_reference", Text, nullable=False),
    Column("schema_fingerprint", Text, nullable=False, comment="CRC-64-AVRO, hex"),
    Column("schema_version", Integer, nullable=False),
    Column("topic", Text, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("payload", Text, nullable=False, comment="the event without meta, as JSON"),
    Index("ix_events_entity", "entity_id"),
    Index("ix_events_stage", "stage", "stage_version"),
    Index("ix_events_source", "provenance_source"),
    Index("ix_events_occurred", "occurred_at"),
)

event_parents = Table(
    "event_parents",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("parent_id", Text, primary_key=True),
    Column("position", Integer, nullable=False, comment="order of the parent in the event"),
    Index("ix_event_parents_parent", "parent_id"),
)

sink_positions = Table(
    "sink_positions",
    metadata,
    Column("sink", Text, primary_key=True),
    Column("topic", Text, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)
