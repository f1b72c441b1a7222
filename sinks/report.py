"""Read-only summaries of the event index, for people: what landed, what was rejected."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from sinks.tables import event_parents, events

DEAD_LETTER_TYPE = "crowdlog.deadletter.MessageDeadLettered"
RECORD_TYPE = "crowdlog.records.RecordReceived"


@dataclass(frozen=True)
class IndexSummary:
    by_type: dict[str, int]
    dead_letters_by_error: dict[str, int]
    lineage_edges: int
    latest_records: list[dict[str, Any]]

    def lines(self) -> list[str]:
        out = ["events by type:"]
        out += [f"  {name:<45} {count}" for name, count in sorted(self.by_type.items())]
        out.append("dead letters by error:")
        out += [f"  {error:<45} {count}"
                for error, count in sorted(self.dead_letters_by_error.items())] or ["  none"]
        out.append(f"lineage edges: {self.lineage_edges}")
        out.append("latest records:")
        for record in self.latest_records:
            handles = ", ".join(f"{p}={h}" for p, h in sorted(record["known_handles"].items()))
            out.append(f"  {record['name']:<28} {record['sport']:<18} "
                       f"{record['league'] or '-':<8} {record['country'] or '-':<3} {handles}")
        return out


def summarise(engine: Engine, latest: int = 5) -> IndexSummary:
    with engine.connect() as connection:
        by_type = {kind: count for kind, count in connection.execute(
            select(events.c.event_type, func.count()).group_by(events.c.event_type))}
        letters = connection.execute(
            select(events.c.payload).where(events.c.event_type == DEAD_LETTER_TYPE)
        ).scalars()
        dead: dict[str, int] = {}
        for payload in letters:
            error = json.loads(payload)["error"]
            dead[error] = dead.get(error, 0) + 1
        edges = connection.execute(select(func.count()).select_from(event_parents)).scalar_one()
        records = connection.execute(
            select(events.c.payload).where(events.c.event_type == RECORD_TYPE)
            .order_by(events.c.occurred_at.desc(), events.c.event_id).limit(latest)
        ).scalars()
        return IndexSummary(by_type, dead, edges, [json.loads(p) for p in records])
