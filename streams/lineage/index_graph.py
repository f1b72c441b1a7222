"""The lineage state as the event index database knows it, for previews and audits.

Loading the whole graph is one pass over ``events`` and ``event_parents`` (a few hundred bytes
per event), which keeps the preview on exactly the core the lineage stage runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from sinks.tables import event_parents, events, retractions
from streams.lineage.core import LineageState
from streams.lineage.graph import ASSIGNMENT_TYPE, Node

LINEAGE_TYPES = "crowdlog.lineage."


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def load_state(engine: Engine) -> LineageState:
    """Every indexed event as a node, and what the index knows to be retracted already."""
    state = LineageState()
    with engine.connect() as connection:
        parents: dict[str, list[tuple[int, str]]] = {}
        for child, parent, position in connection.execute(
                select(event_parents.c.event_id, event_parents.c.parent_id,
                       event_parents.c.position)):
            parents.setdefault(child, []).append((position, parent))
        rows = connection.execute(select(
            events.c.event_id, events.c.event_type, events.c.entity_id, events.c.stage,
            events.c.stage_version, events.c.provenance_source, events.c.occurred_at,
            events.c.payload).order_by(events.c.event_id))
        for event_id, kind, entity, stage, version, source, occurred_at, payload in rows:
            if kind.startswith(LINEAGE_TYPES):
                continue  # redactions and retractions are not part of the graph they act on
            worker = json.loads(payload).get("worker_id") if kind == ASSIGNMENT_TYPE else None
            ordered = tuple(p for _, p in sorted(parents.get(event_id, [])))
            state.graph.add(Node(event_id, kind, entity, stage, version, source,
                                 _utc(occurred_at), ordered, worker))
        for retracted_id, redaction_id in connection.execute(
                select(retractions.c.retracted_id, retractions.c.redaction_id)):
            state.retracted[retracted_id] = redaction_id
    return state
