"""The current views: SQL VIEWs over the version tables that show only live, latest data.

Each view keeps one row per key (an entity, an entity and platform, a worker). "Live" means no
retraction names the row (``retracted_by IS NULL``), so retracting the latest version makes the
previous one current again without any rewrite. "Latest" is decided by fields of the events
(revision, fetch number, event time) and then the event id, never by Kafka offsets or insertion
order, so a replay into any database shows the same rows as the live sink did.

The SQL is plain (window functions, CTEs, NOT EXISTS) and runs on SQLite and PostgreSQL; only
the event-id tie-break is made byte-wise on PostgreSQL (``COLLATE "C"``) so that a database
collation cannot change which row wins. The ``Table`` objects below describe the views'
columns for readers (``select(current_handles)``); they live in their own ``MetaData`` so that
``create_all`` never makes tables of them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)

view_metadata = MetaData()


def _at() -> Column[object]:
    return Column("occurred_at", DateTime(timezone=True), comment="event time of the version")


current_records = Table(
    "current_records", view_metadata,
    Column("entity_id", Text, primary_key=True),
    Column("event_id", Text),
    Column("name", Text),
    Column("sport", Text),
    Column("league", Text),
    Column("team", Text),
    Column("country", Text),
    Column("provider", Text),
    Column("provider_ref", Text),
    Column("known_handles", Text, comment="platform -> handle, as JSON"),
    _at(),
)

current_handles = Table(
    "current_handles", view_metadata,
    Column("entity_id", Text, primary_key=True),
    Column("platform", Text, primary_key=True),
    Column("event_id", Text, comment="the HandleAccepted"),
    Column("handle", Text, comment="NULL: the crowd agreed there is no account"),
    Column("hit_id", Text),
    Column("revision", Integer),
    Column("agreement", Float),
    Column("confidence", Float),
    Column("method", Text),
    Column("votes", Integer),
    _at(),
)

current_profiles = Table(
    "current_profiles", view_metadata,
    Column("entity_id", Text, primary_key=True),
    Column("platform", Text, primary_key=True),
    Column("event_id", Text, comment="the ProfileEnriched"),
    Column("handle", Text),
    Column("followers", BigInteger),
    Column("following", BigInteger),
    Column("posts", BigInteger),
    Column("avg_engagement", Float),
    Column("verified", Boolean),
    Column("category", Text),
    Column("bio", Text),
    Column("fetch_number", Integer),
    Column("acceptance_id", Text, comment="the current handle's HandleAccepted"),
    _at(),
)

current_predictions = Table(
    "current_predictions", view_metadata,
    Column("entity_id", Text, primary_key=True),
    Column("event_id", Text, comment="the PageViewsPredicted"),
    Column("page_views", Float, comment="predicted page views per post"),
    Column("low", Float, comment="~80% interval"),
    Column("high", Float),
    Column("model", Text),
    Column("model_outcomes", BigInteger, comment="outcomes the model had learned from"),
    Column("features", Text, comment="feature -> value, as JSON"),
    _at(),
)

current_worker_quality = Table(
    "current_worker_quality", view_metadata,
    Column("worker_id", Text, primary_key=True),
    Column("event_id", Text, comment="the WorkerQualityEstimated"),
    Column("accuracy", Float),
    Column("uncertainty", Float),
    Column("answers", Float),
    Column("gold_answers", Integer),
    _at(),
)

# {columns}: the view's columns, in its Table's order; {by_id}: event_id, compared byte-wise.
_BODIES: dict[str, str] = {
    "current_records": """
SELECT {columns} FROM (
  SELECT v.*, ROW_NUMBER() OVER (
    PARTITION BY v.entity_id ORDER BY v.occurred_at DESC, {by_id} DESC) AS latest
  FROM record_versions v WHERE v.retracted_by IS NULL
) ranked WHERE latest = 1""",
    # A field (hit + platform) stands at its live decision of highest revision; an acceptance
    # standing there counts unless enrichment's live HandleRejected contradicts it. Of several
    # HITs about the same entity and platform (one sent back after a rejection), the newest.
    "current_handles": """
WITH standing AS (
  SELECT d.*, ROW_NUMBER() OVER (
    PARTITION BY d.hit_id, d.platform ORDER BY d.revision DESC, {by_id} DESC) AS latest
  FROM handle_decisions d WHERE d.retracted_by IS NULL
), accepted AS (
  SELECT s.*, ROW_NUMBER() OVER (
    PARTITION BY s.entity_id, s.platform
    ORDER BY s.occurred_at DESC, s.revision DESC, {by_id} DESC) AS newest
  FROM standing s
  WHERE s.latest = 1 AND s.outcome = 'accepted' AND NOT EXISTS (
    SELECT 1 FROM handle_rejections r
    WHERE r.acceptance_id = s.event_id AND r.retracted_by IS NULL)
)
SELECT {columns} FROM accepted WHERE newest = 1""",
    # The profile of the current handle: the latest live fetch of the current acceptance, so a
    # profile of a superseded, failed or rejected handle is never shown as the athlete's.
    "current_profiles": """
SELECT {columns} FROM (
  SELECT v.*, ROW_NUMBER() OVER (
    PARTITION BY v.entity_id, v.platform
    ORDER BY v.fetch_number DESC, v.occurred_at DESC, {by_id} DESC) AS latest
  FROM profile_versions v
  WHERE v.retracted_by IS NULL
    AND v.acceptance_id IN (SELECT h.event_id FROM current_handles h)
) ranked WHERE latest = 1""",
    "current_predictions": """
SELECT {columns} FROM (
  SELECT v.*, ROW_NUMBER() OVER (
    PARTITION BY v.entity_id
    ORDER BY v.occurred_at DESC, v.model_outcomes DESC, {by_id} DESC) AS latest
  FROM prediction_versions v WHERE v.retracted_by IS NULL
) ranked WHERE latest = 1""",
    "current_worker_quality": """
SELECT {columns} FROM (
  SELECT v.*, ROW_NUMBER() OVER (
    PARTITION BY v.worker_id ORDER BY v.occurred_at DESC, v.answers DESC, {by_id} DESC) AS latest
  FROM worker_quality_versions v WHERE v.retracted_by IS NULL
) ranked WHERE latest = 1""",
}

# In dependency order: current_profiles reads current_handles.
CURRENT_VIEWS: tuple[Table, ...] = (
    current_records, current_handles, current_profiles, current_predictions,
    current_worker_quality,
)


def view_sql(view: Table, dialect: str) -> str:
    """The SELECT behind ``view`` for ``dialect`` ("sqlite" or "postgresql")."""
    by_id = 'event_id COLLATE "C"' if dialect == "postgresql" else "event_id"
    return _BODIES[view.name].format(columns=", ".join(c.name for c in view.columns),
                                     by_id=by_id).strip()


def create_views(connection: Connection) -> None:
    """(Re)create every current view, so a changed definition replaces the old one."""
    dialect = connection.dialect.name
    for view in reversed(CURRENT_VIEWS):
        connection.execute(text(f"DROP VIEW IF EXISTS {view.name}"))
    for view in CURRENT_VIEWS:
        connection.execute(text(f"CREATE VIEW {view.name} AS {view_sql(view, dialect)}"))
