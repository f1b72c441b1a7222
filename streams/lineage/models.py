"""Events of the lineage domain: a redaction asked for, and each event it retracted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from streams.events.model import Event


@dataclass(frozen=True, slots=True)
class RedactionRequested(Event):
    """Someone (or a policy) asked to retract a selection of events and all their descendants.

    An event is selected when it matches every criterion given (``None`` or empty means "any"),
    and at least one criterion must be given. ``stage_version_min``/``_max`` bound the producer
    version inclusively, compared component by component (``1.10.0`` > ``1.9.0``); an exact
    version is both bounds. ``worker_id`` selects the worker's assignments. The selection stays
    active: an event that matches it, or descends from a retracted event, is retracted when it
    is seen, however late it reaches the lineage stage.
    """

    schema_name: ClassVar[str] = "crowdlog.lineage.RedactionRequested"

    event_ids: list[str]
    stage: str | None
    stage_version_min: str | None
    stage_version_max: str | None
    worker_id: str | None
    source: str | None
    occurred_from: datetime | None
    occurred_to: datetime | None
    reason: str
    requested_by: str


@dataclass(frozen=True, slots=True)
class EventRetracted(Event):
    """One event withdrawn by a redaction; keyed by the retracted event's entity.

    Parents: the redaction and the retracted event. ``via`` is the retracted parent through
    which the event descends from the selection (``None`` when the redaction selected it).
    The owning stage re-derives what can be re-derived without it.
    """

    schema_name: ClassVar[str] = "crowdlog.lineage.EventRetracted"

    redaction_id: str
    retracted_id: str
    retracted_type: str
    retracted_stage: str
    via: str | None
    reason: str
