"""Builders for lineage tests: redaction requests and the retractions a stage receives."""

from __future__ import annotations

from datetime import datetime

from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.lineage.core import LineageConfig, retraction
from streams.lineage.graph import Node
from streams.lineage.models import EventRetracted, RedactionRequested
from tests.factories import T0


def redaction(*, event_ids: tuple[str, ...] = (), stage: str | None = None,
              version_min: str | None = None, version_max: str | None = None,
              worker_id: str | None = None, source: str | None = None,
              occurred_from: datetime | None = None, parents: tuple[str, ...] = (),
              reason: str = "test") -> RedactionRequested:
    meta = new_meta(event_type=RedactionRequested.schema_name, entity_id="lineage",
                    occurred_at=T0, producer=Producer("lineage", "1.0.0", "test"),
                    provenance=Provenance("operator", "tester"), parents=parents,
                    identity=[event_ids, stage, version_min, version_max, worker_id, source,
                              occurred_from, reason])
    return RedactionRequested(meta=meta, event_ids=list(event_ids), stage=stage,
                              stage_version_min=version_min, stage_version_max=version_max,
                              worker_id=worker_id, source=source, occurred_from=occurred_from,
                              occurred_to=None, reason=reason, requested_by="tester")


def retracted(event: Event, by: RedactionRequested | None = None) -> EventRetracted:
    """The retraction a stage would receive for ``event``."""
    return retraction(by or redaction(event_ids=(event.event_id,)), Node.of(event), via=None,
                      producer=LineageConfig(instance="test").producer)
