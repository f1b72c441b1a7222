"""A digest of what an event index says, equal across databases that say the same thing.

Two indexes built from the same log (the live sink's, a replay into SQLite, a replay into
PostgreSQL) must give the same digest, and any difference in content must change it. So the
digest covers the log's content as indexed (``events`` with every column, ``event_parents``,
``retractions``) and every current view; it leaves out ``sink_positions`` (where one consumer
got to, not content) and the version tables (the views and ``events`` already cover them).

Rows are sorted in Python by their key, not by the database, whose collation may differ; values
are normalised so that both dialects encode them alike: datetimes as UTC ISO with milliseconds
(SQLite hands back naive ones, which the sink wrote in UTC), floats by ``repr``, booleans as
booleans, NULL as JSON null (never the empty string).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from sinks.tables import event_parents, events, retractions
from sinks.views import CURRENT_VIEWS

# (relation, its key columns), in the order they enter the digest.
COVERED: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (events, ("event_id",)),
    (event_parents, ("event_id", "parent_id")),
    (retractions, ("retracted_id",)),
    *((view, ("event_id",)) for view in CURRENT_VIEWS),
)


def normalise(value: Any) -> Any:
    """A JSON value that encodes ``value`` alike whichever database returned it."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return {"at": aware.astimezone(UTC).isoformat(timespec="milliseconds")}
    raise TypeError(f"no checksum encoding for {type(value).__name__}")


def _lines(connection: Connection, table: Table, key: tuple[str, ...]) -> Iterable[bytes]:
    names = [c.name for c in table.columns]
    yield json.dumps({"relation": table.name, "columns": names}).encode() + b"\n"
    at = [names.index(k) for k in key]
    rows = [[normalise(v) for v in row] for row in connection.execute(select(table))]
    rows.sort(key=lambda row: [row[i] for i in at])
    for row in rows:
        yield json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def checksum(engine: Engine) -> str:
    """SHA-256 (hex) over the index's content and current views.

    On PostgreSQL everything is read from one snapshot, so a sink writing meanwhile cannot make
    the digest mix two states.
    """
    digest = hashlib.sha256()
    snapshot = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" \
        else {}
    with engine.connect().execution_options(**snapshot) as connection, connection.begin():
        for table, key in COVERED:
            for line in _lines(connection, table, key):
                digest.update(line)
    return digest.hexdigest()
