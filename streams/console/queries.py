"""Read-only queries over the event index for the console's pages.

Every query is SQLAlchemy Core over the sink's own tables and views (``sinks.tables``,
``sinks.views``), so whatever a person types reaches the database as a bound parameter and
never as SQL text; a name search escapes LIKE's wildcards too. Payloads are JSON text in the
index; the few figures the pages need from them (a review's reward, a decision's votes) are read
in Python, which keeps the SQL the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, select

from sinks.tables import event_parents, events, retractions, sink_positions, worker_quality_versions
from sinks.views import (
    current_handles,
    current_predictions,
    current_profiles,
    current_records,
)
from streams.consensus.models import HandleAccepted
from streams.events.deadletter import MessageDeadLettered
from streams.events.model import EventMeta, Producer, Provenance
from streams.lineage.models import RedactionRequested
from streams.prediction.models import ModelEvaluated
from streams.tasks.models import HitPublished
from streams.workers.models import AssignmentReviewed, WorkerBlocked
from streams.workers.quality import WORKER_KEY

MAX_SEARCH = 50  # rows per kind of search result


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the sink wrote them in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Freshness:
    """How fresh the index is: its size, its newest event time, how far the sink got."""

    events: int
    latest: datetime | None
    positions: int  # messages applied, over every partition the sink stored a position for


@dataclass(frozen=True)
class SearchResults:
    athletes: list[RowMapping] = field(default_factory=list)
    events: list[RowMapping] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.athletes or self.events or self.workers)


@dataclass(frozen=True)
class EventDetail:
    row: RowMapping
    payload: dict[str, Any]
    parents: list[tuple[str, str | None]]  # (id, its type; None when not in the index)
    children: list[tuple[str, str]]
    retraction: RowMapping | None


@dataclass(frozen=True)
class CrowdSummary:
    reviewed: int
    approved: int
    paid_cents: int
    accepted_fields: int
    hits: int
    blocked: list[dict[str, Any]]
    by_platform: dict[str, int]  # accepted fields per platform

    @property
    def per_field(self) -> float:
        """Paid assignments per accepted field (the crowd's cost measure)."""
        return self.approved / self.accepted_fields if self.accepted_fields else 0.0


class IndexReader:
    """The console's window on the index; it only ever reads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def connect(self) -> Connection:
        return self.engine.connect()

    # ---- freshness and health ------------------------------------------------------------

    def freshness(self) -> Freshness:
        with self.connect() as c:
            count, latest = c.execute(select(func.count(), func.max(events.c.occurred_at))).one()
            applied = c.execute(select(func.coalesce(func.sum(sink_positions.c.next_offset), 0))
                                ).scalar_one()
        return Freshness(int(count), utc(latest), int(applied))

    def stages(self) -> list[dict[str, Any]]:
        """Per stage and version: events, the newest event time, the topics they are on."""
        query = (select(events.c.stage, events.c.stage_version, func.count().label("events"),
                        func.max(events.c.occurred_at).label("latest"))
                 .group_by(events.c.stage, events.c.stage_version)
                 .order_by(events.c.stage, events.c.stage_version))
        with self.connect() as c:
            return [{**row._mapping, "latest": utc(row.latest)} for row in c.execute(query)]

    def positions(self) -> list[RowMapping]:
        query = (select(sink_positions.c.topic, func.count().label("partitions"),
                        func.sum(sink_positions.c.next_offset).label("applied"))
                 .group_by(sink_positions.c.topic).order_by(sink_positions.c.topic))
        with self.connect() as c:
            return list(c.execute(query).mappings())

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every dead letter, newest first, with its error, reason and where it came from."""
        query = (select(events.c.event_id, events.c.occurred_at, events.c.stage,
                        events.c.provenance_source, events.c.provenance_reference,
                        events.c.payload)
                 .where(events.c.event_type == MessageDeadLettered.schema_name)
                 .order_by(events.c.occurred_at.desc(), events.c.event_id))
        with self.connect() as c:
            rows = c.execute(query).all()
        out = []
        for row in rows:
            payload = json.loads(row.payload)
            out.append({"event_id": row.event_id, "occurred_at": utc(row.occurred_at),
                        "stage": row.stage, "source": row.provenance_source,
                        "reference": row.provenance_reference, "error": payload["error"],
                        "reason": payload["reason"],
                        "has_original": payload.get("original_value") is not None})
        return out

    def dead_letter_original(self, event_id: str) -> bytes | None:
        """The original bytes a dead letter keeps; None when it is no dead letter or has none."""
        with self.connect() as c:
            payload = c.execute(select(events.c.payload).where(
                events.c.event_id == event_id,
                events.c.event_type == MessageDeadLettered.schema_name)).scalar_one_or_none()
        if payload is None:
            return None
        value = json.loads(payload).get("original_value")
        return None if value is None else base64.b64decode(value["base64"])

    # ---- search ----------------------------------------------------------------------------

    def search(self, text: str) -> SearchResults:
        """Athletes by name (contains, any case) or provider reference, an event by id, a
        worker by id."""
        name = func.lower(current_records.c.name).contains(text.lower(), autoescape=True)
        athletes = (select(current_records.c.entity_id, current_records.c.name,
                           current_records.c.sport, current_records.c.team,
                           current_records.c.provider_ref)
                    .where(name | (current_records.c.provider_ref == text)
                           | (current_records.c.entity_id == text))
                    .order_by(current_records.c.name, current_records.c.entity_id)
                    .limit(MAX_SEARCH))
        found_events = (select(events.c.event_id, events.c.event_type, events.c.entity_id)
                        .where(events.c.event_id == text))
        worker = (select(events.c.entity_id).where(events.c.entity_id == WORKER_KEY + text)
                  .limit(1))
        with self.connect() as c:
            return SearchResults(list(c.execute(athletes).mappings()),
                                 list(c.execute(found_events).mappings()),
                                 [text] if c.execute(worker).first() else [])

    # ---- athletes and events ---------------------------------------------------------------

    def entity_known(self, entity_id: str) -> bool:
        with self.connect() as c:
            return c.execute(select(events.c.event_id).where(events.c.entity_id == entity_id)
                             .limit(1)).first() is not None

    def athlete(self, entity_id: str) -> dict[str, Any]:
        """The current record, handles (with their votes), profiles and prediction."""
        def current(view: Any) -> Any:
            return select(view).where(view.c.entity_id == entity_id)

        with self.connect() as c:
            record = c.execute(current(current_records)).mappings().first()
            handles = list(c.execute(current(current_handles)
                                     .order_by(current_handles.c.platform)).mappings())
            profiles = list(c.execute(current(current_profiles)
                                      .order_by(current_profiles.c.platform)).mappings())
            prediction = c.execute(current(current_predictions)).mappings().first()
            votes = self._votes(c, [h["event_id"] for h in handles])
        return {"record": record, "handles": [{**h, "tally": votes.get(h["event_id"], [])}
                                              for h in handles],
                "known_handles": json.loads(record["known_handles"]) if record else {},
                "profiles": profiles, "prediction": prediction}

    @staticmethod
    def _votes(c: Connection, decision_ids: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
        """Per decision: each answer and how many votes it got, most first."""
        rows = c.execute(select(events.c.event_id, events.c.payload).where(
            events.c.event_id.in_(decision_ids),
            events.c.event_type == HandleAccepted.schema_name))
        out = {}
        for event_id, payload in rows:
            tally = Counter(vote["answer"] for vote in json.loads(payload)["votes"])
            out[event_id] = sorted(tally.items(), key=lambda item: (-item[1], item[0]))
        return out

    def event(self, event_id: str) -> EventDetail | None:
        with self.connect() as c:
            row = c.execute(select(events).where(events.c.event_id == event_id)).mappings().first()
            if row is None:
                return None
            parents = c.execute(
                select(event_parents.c.parent_id, events.c.event_type)
                .select_from(event_parents.outerjoin(
                    events, events.c.event_id == event_parents.c.parent_id))
                .where(event_parents.c.event_id == event_id)
                .order_by(event_parents.c.position)).all()
            children = c.execute(
                select(event_parents.c.event_id, events.c.event_type)
                .join(events, events.c.event_id == event_parents.c.event_id)
                .where(event_parents.c.parent_id == event_id)
                .order_by(events.c.occurred_at, event_parents.c.event_id)).all()
            retraction = c.execute(select(retractions).where(
                retractions.c.retracted_id == event_id)).mappings().first()
        return EventDetail(row, json.loads(row["payload"]), [(p, t) for p, t in parents],
                           [(ch, t) for ch, t in children], retraction)

    # ---- redactions ------------------------------------------------------------------------

    def redactions(self) -> list[dict[str, Any]]:
        """Every redaction requested, newest first, with what it retracted by event type."""
        with self.connect() as c:
            asked = c.execute(select(events.c.event_id, events.c.occurred_at, events.c.payload)
                              .where(events.c.event_type == RedactionRequested.schema_name)
                              .order_by(events.c.occurred_at.desc(), events.c.event_id)).all()
            impact = c.execute(
                select(retractions.c.redaction_id, events.c.event_type,
                       func.count().label("n"),
                       func.count(func.distinct(events.c.entity_id)).label("entities"))
                .join(events, events.c.event_id == retractions.c.retracted_id)
                .group_by(retractions.c.redaction_id, events.c.event_type)).all()
        by_redaction: dict[str, dict[str, int]] = {}
        for redaction_id, kind, n, _entities in impact:
            by_redaction.setdefault(redaction_id, {})[kind.rsplit(".", 1)[-1]] = n
        out = []
        for event_id, occurred_at, payload in asked:
            request = json.loads(payload)
            criteria = {k: v for k, v in request.items()
                        if k not in ("reason", "requested_by") and v not in (None, [])}
            kinds = by_redaction.get(event_id, {})
            out.append({"event_id": event_id, "occurred_at": utc(occurred_at),
                        "reason": request["reason"], "by": request["requested_by"],
                        "criteria": criteria, "retracted": sum(kinds.values()),
                        "by_type": dict(sorted(kinds.items()))})
        return out

    # ---- the crowd -------------------------------------------------------------------------

    def crowd(self) -> CrowdSummary:
        with self.connect() as c:
            reviews = c.execute(select(events.c.payload).where(
                events.c.event_type == AssignmentReviewed.schema_name,
                events.c.retracted_by.is_(None))).scalars().all()
            by_platform: dict[str, int] = dict(c.execute(
                select(current_handles.c.platform, func.count())
                .group_by(current_handles.c.platform).order_by(current_handles.c.platform)
            ).all())
            hits = c.execute(select(func.count()).where(
                events.c.event_type == HitPublished.schema_name)).scalar_one()
            blocked = c.execute(select(events.c.event_id, events.c.occurred_at,
                                       events.c.payload, events.c.retracted_by)
                                .where(events.c.event_type == WorkerBlocked.schema_name)
                                .order_by(events.c.occurred_at, events.c.event_id)).all()
        decoded = [json.loads(p) for p in reviews]
        approved = [r for r in decoded if r["status"] == "Approved"]
        return CrowdSummary(
            reviewed=len(decoded), approved=len(approved),
            paid_cents=sum(r["reward_cents"] for r in decoded),
            accepted_fields=sum(by_platform.values()), hits=int(hits),
            blocked=[{"event_id": e, "occurred_at": utc(at), "retracted_by": by,
                      **json.loads(p)} for e, at, p, by in blocked],
            by_platform=by_platform)

    def worker(self, worker_id: str) -> dict[str, Any] | None:
        """A worker's quality estimates over time, blocks and graded answers; None if unknown."""
        entity = WORKER_KEY + worker_id
        with self.connect() as c:
            kinds: dict[str, int] = dict(c.execute(select(events.c.event_type, func.count())
                                                   .where(events.c.entity_id == entity)
                                                   .group_by(events.c.event_type)).all())
            if not kinds:
                return None
            quality = list(c.execute(
                select(worker_quality_versions)
                .where(worker_quality_versions.c.worker_id == worker_id)
                .order_by(worker_quality_versions.c.occurred_at,
                          worker_quality_versions.c.answers)).mappings())
            blocked = c.execute(select(events.c.event_id, events.c.payload).where(
                events.c.entity_id == entity,
                events.c.event_type == WorkerBlocked.schema_name)).all()
        return {"worker_id": worker_id, "quality": quality,
                "counts": {k.rsplit(".", 1)[-1]: v for k, v in sorted(kinds.items())},
                "blocked": [{"event_id": e, **json.loads(p)} for e, p in blocked]}

    # ---- the model -------------------------------------------------------------------------

    def evaluations(self) -> list[ModelEvaluated]:
        """The model evaluations in log order (their topic has one partition), rebuilt as
        events for ``streams.prediction.plot.error_curve``."""
        with self.connect() as c:
            rows = c.execute(select(events).where(
                events.c.event_type == ModelEvaluated.schema_name)
                .order_by(events.c.partition, events.c.offset, events.c.event_id)).mappings()
            return [ModelEvaluated(meta=_meta(row), **ModelEvaluated.payload_from_avro(
                json.loads(row["payload"]))) for row in rows]

    def ranking(self, top: int) -> list[RowMapping]:
        query = (select(current_predictions.c.entity_id, current_predictions.c.event_id,
                        current_predictions.c.page_views, current_predictions.c.low,
                        current_predictions.c.high, current_predictions.c.model,
                        current_predictions.c.model_outcomes, current_records.c.name,
                        current_records.c.sport, current_records.c.team)
                 .select_from(current_predictions.outerjoin(
                     current_records,
                     current_records.c.entity_id == current_predictions.c.entity_id))
                 .order_by(current_predictions.c.page_views.desc(),
                           current_predictions.c.entity_id)
                 .limit(top))
        with self.connect() as c:
            return list(c.execute(query).mappings())


def _meta(row: RowMapping) -> EventMeta:
    """An ``events`` row's metadata (without parents, which live in ``event_parents``)."""
    return EventMeta(row["event_id"], row["event_type"], row["entity_id"],
                     utc(row["occurred_at"]) or datetime.min,
                     Producer(row["stage"], row["stage_version"], row["instance"]),
                     Provenance(row["provenance_source"], row["provenance_reference"]))
