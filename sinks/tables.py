"""SQL tables of the event index: every event, its lineage edges, and the applied log position."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("event_type", String(200), nullable=False),
    Column("entity_id", String(300), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("stage", String(100), nullable=False),
    Column("stage_version", String(50), nullable=False),
    Column("instance", String(200), nullable=False),
    Column("provenance_source", String(300), nullable=False),
    Column("provenance_reference", String(300), nullable=False),
    Column("schema_fingerprint", String(16), nullable=False, comment="CRC-64-AVRO, hex"),
    Column("schema_version", Integer, nullable=False),
    Column("topic", String(249), nullable=False),
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
    Column("event_id", String(64), primary_key=True),
    Column("parent_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False, comment="order of the parent in the event"),
    Index("ix_event_parents_parent", "parent_id"),
)

sink_positions = Table(
    "sink_positions",
    metadata,
    Column("sink", String(100), primary_key=True),
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)
