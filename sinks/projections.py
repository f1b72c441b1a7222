"""What each event contributes to the version tables behind the current views: pure mapping.

An event maps to at most one row of one table, keyed by its event id, so applying the same event
twice is harmless (the sink inserts with ON CONFLICT DO NOTHING). Rows are built from the typed
event, not from the ``events`` payload JSON, so a column holds the event's own value and type.
Events that no current view shows (HITs, assignments, grades...) map to nothing; they are still
in ``events``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table

from sinks.tables import (
    handle_decisions,
    handle_rejections,
    prediction_versions,
    profile_versions,
    record_versions,
    worker_quality_versions,
)
from streams.consensus.models import ConsensusFailed, Decision, HandleAccepted
from streams.enrichment.models import HandleRejected, ProfileEnriched
from streams.events.model import Event
from streams.lineage.models import EventRetracted
from streams.prediction.models import PageViewsPredicted
from streams.records.models import RecordReceived
from streams.workers.models import WorkerQualityEstimated

RETRACTION_TYPE = EventRetracted.schema_name


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _base(event: Event) -> dict[str, Any]:
    return {"event_id": event.event_id, "entity_id": event.entity_id,
            "occurred_at": event.meta.occurred_at}


def _first_parent(event: Event) -> str | None:
    """The acceptance an enrichment event is about: its first parent (None if it names none)."""
    return event.meta.parents[0] if event.meta.parents else None


def _record(event: RecordReceived) -> dict[str, Any]:
    return {**_base(event), "name": event.name, "sport": event.sport, "league": event.league,
            "team": event.team, "country": event.country, "provider": event.provider,
            "provider_ref": event.provider_ref, "known_handles": _json(event.known_handles)}


def _decision(event: Decision) -> dict[str, Any]:
    accepted = isinstance(event, HandleAccepted)
    return {**_base(event), "hit_id": event.hit_id, "platform": event.platform,
            "outcome": "accepted" if accepted else "failed",
            "handle": event.handle if isinstance(event, HandleAccepted) else None,
            "leading_answer": event.leading if isinstance(event, ConsensusFailed) else None,
            "revision": event.revision, "supersedes": event.supersedes,
            "agreement": event.agreement, "confidence": event.confidence,
            "method": event.method, "votes": len(event.votes)}


def _rejection(event: HandleRejected) -> dict[str, Any]:
    return {**_base(event), "acceptance_id": _first_parent(event), "hit_id": event.hit_id,
            "platform": event.platform, "handle": event.handle, "score": event.score}


def _profile(event: ProfileEnriched) -> dict[str, Any]:
    return {**_base(event), "acceptance_id": _first_parent(event), "platform": event.platform,
            "handle": event.handle, "followers": event.followers, "following": event.following,
            "posts": event.posts, "avg_engagement": event.avg_engagement,
            "verified": event.verified, "category": event.category, "bio": event.bio,
            "fetch_number": event.fetch, "supersedes": event.supersedes}


def _prediction(event: PageViewsPredicted) -> dict[str, Any]:
    return {**_base(event), "page_views": event.page_views, "low": event.low,
            "high": event.high, "model": event.model, "model_outcomes": event.model_outcomes,
            "features": _json(event.features)}


def _worker_quality(event: WorkerQualityEstimated) -> dict[str, Any]:
    return {**_base(event), "worker_id": event.worker_id, "accuracy": event.accuracy,
            "uncertainty": event.uncertainty, "answers": event.answers,
            "gold_answers": event.gold_answers}


def version_row(event: Event) -> tuple[Table, dict[str, Any]] | None:
    """The version-table row of ``event``, or None when no current view shows its type."""
    if isinstance(event, RecordReceived):
        return record_versions, _record(event)
    if isinstance(event, HandleAccepted | ConsensusFailed):
        return handle_decisions, _decision(event)
    if isinstance(event, HandleRejected):
        return handle_rejections, _rejection(event)
    if isinstance(event, ProfileEnriched):
        return profile_versions, _profile(event)
    if isinstance(event, PageViewsPredicted):
        return prediction_versions, _prediction(event)
    if isinstance(event, WorkerQualityEstimated):
        return worker_quality_versions, _worker_quality(event)
    return None


def retraction_row(event: EventRetracted) -> dict[str, Any]:
    """The ``retractions`` row of a retraction event."""
    return {"retracted_id": event.retracted_id, "redaction_id": event.redaction_id,
            "retraction_id": event.event_id, "via": event.via, "reason": event.reason}
