"""SQL tables of the event index: every event, its lineage edges, retractions, and the log position.

Text columns are unbounded on purpose: a length limit would turn one long value into an error
that stops the sink on the same message forever.

The ``*_versions`` tables (and ``handle_decisions``, ``handle_rejections``) hold every version
of what the current views show, keyed by event id, each row marked ``retracted_by`` (the
redaction id) once a retraction names it. The views in ``sinks.views`` pick the live, latest
rows; keeping every version is what lets a retraction bring the previous one back.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)

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
    Column("retracted_by", Text, nullable=True, comment="the redaction that retracted it"),
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

retractions = Table(
    "retractions",
    metadata,
    Column("retracted_id", Text, primary_key=True, comment="the event withdrawn"),
    Column("redaction_id", Text, nullable=False, comment="the RedactionRequested that did it"),
    Column("retraction_id", Text, nullable=False, comment="the EventRetracted event"),
    Column("via", Text, nullable=True, comment="retracted parent it descends through"),
    Column("reason", Text, nullable=False),
    Index("ix_retractions_redaction", "redaction_id"),
)

sink_positions = Table(
    "sink_positions",
    metadata,
    Column("sink", Text, primary_key=True),
    Column("topic", Text, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)


def _retracted_by() -> Column[str]:
    return Column("retracted_by", Text, nullable=True,
                  comment="the redaction that retracted it (NULL: live)")


record_versions = Table(
    "record_versions",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("entity_id", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("sport", Text, nullable=False),
    Column("league", Text),
    Column("team", Text),
    Column("country", Text),
    Column("provider", Text, nullable=False),
    Column("provider_ref", Text, nullable=False),
    Column("known_handles", Text, nullable=False, comment="platform -> handle, as JSON"),
    _retracted_by(),
    Index("ix_record_versions_entity", "entity_id"),
)

handle_decisions = Table(
    "handle_decisions",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("entity_id", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("hit_id", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("outcome", Text, nullable=False, comment="accepted or failed"),
    Column("handle", Text, comment="accepted handle; NULL when accepted means no account"),
    Column("leading_answer", Text, comment="the best answer of a failed decision"),
    Column("revision", Integer, nullable=False),
    Column("supersedes", Text),
    Column("agreement", Float, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("method", Text, nullable=False),
    Column("votes", Integer, nullable=False, comment="how many votes were counted"),
    _retracted_by(),
    Index("ix_handle_decisions_field", "hit_id", "platform"),
    Index("ix_handle_decisions_entity", "entity_id", "platform"),
)

handle_rejections = Table(
    "handle_rejections",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("entity_id", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("acceptance_id", Text, comment="the HandleAccepted rejected (first parent)"),
    Column("hit_id", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("handle", Text, nullable=False),
    Column("score", Float, nullable=False),
    _retracted_by(),
    Index("ix_handle_rejections_acceptance", "acceptance_id"),
)

profile_versions = Table(
    "profile_versions",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("entity_id", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("acceptance_id", Text, comment="the HandleAccepted fetched (first parent)"),
    Column("platform", Text, nullable=False),
    Column("handle", Text, nullable=False),
    Column("followers", BigInteger, nullable=False),
    Column("following", BigInteger, nullable=False),
    Column("posts", BigInteger, nullable=False),
    Column("avg_engagement", Float, nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("category", Text, nullable=False),
    Column("bio", Text, nullable=False),
    Column("fetch_number", Integer, nullable=False,
           comment="0 for the first fetch of the acceptance, then one more per refresh"),
    Column("supersedes", Text),
    _retracted_by(),
    Index("ix_profile_versions_acceptance", "acceptance_id"),
)

prediction_versions = Table(
    "prediction_versions",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("entity_id", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("page_views", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("model", Text, nullable=False),
    Column("model_outcomes", BigInteger, nullable=False),
    Column("features", Text, nullable=False, comment="feature -> value, as JSON"),
    _retracted_by(),
    Index("ix_prediction_versions_entity", "entity_id"),
)

worker_quality_versions = Table(
    "worker_quality_versions",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("entity_id", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("worker_id", Text, nullable=False),
    Column("accuracy", Float, nullable=False),
    Column("uncertainty", Float, nullable=False),
    Column("answers", Float, nullable=False),
    Column("gold_answers", Integer, nullable=False),
    _retracted_by(),
    Index("ix_worker_quality_versions_worker", "worker_id"),
)

# Every table with a ``retracted_by`` column, keyed by ``event_id``: what a retraction marks.
RETRACTABLE: tuple[Table, ...] = (
    events, record_versions, handle_decisions, handle_rejections, profile_versions,
    prediction_versions, worker_quality_versions,
)
