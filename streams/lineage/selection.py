"""Which events a redaction selects: its criteria as a predicate over lineage nodes.

Versions are compared component by component, numbers as numbers (``1.10.0`` after ``1.9.0``),
so a range like "every consensus version from 1.0.0 to 1.2.x" means what an operator expects.
A local version label after ``+`` (``1.0.0+quorum-5of10``) takes part as text after the
release, so an exact version with its label selects only that build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from streams.lineage.graph import Node
from streams.lineage.models import RedactionRequested

_PART = re.compile(r"\d+|[^\d.+\-]+")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key for versions: numbers compare numerically, and sort before text."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _PART.findall(version))


@dataclass(frozen=True)
class Selection:
    """The criteria of a redaction; an event is selected when it matches all those given."""

    event_ids: frozenset[str] = frozenset()
    stage: str | None = None
    version_min: str | None = None
    version_max: str | None = None
    worker_id: str | None = None
    source: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    def __post_init__(self) -> None:
        if self.empty:
            raise ValueError("a redaction must select something: give at least one criterion")

    @classmethod
    def of(cls, request: RedactionRequested) -> Selection:
        return cls(frozenset(request.event_ids), request.stage, request.stage_version_min,
                   request.stage_version_max, request.worker_id, request.source,
                   request.occurred_from, request.occurred_to)

    @property
    def empty(self) -> bool:
        return not (self.event_ids or self.stage or self.version_min or self.version_max
                    or self.worker_id or self.source or self.occurred_from or self.occurred_to)

    def matches(self, node: Node) -> bool:
        if self.event_ids and node.event_id not in self.event_ids:
            return False
        if self.stage is not None and node.stage != self.stage:
            return False
        key = version_key(node.version)
        if self.version_min is not None and key < version_key(self.version_min):
            return False
        if self.version_max is not None and key > version_key(self.version_max):
            return False
        if self.worker_id is not None and node.worker_id != self.worker_id:
            return False
        if self.source is not None and node.source != self.source:
            return False
        if self.occurred_from is not None and node.occurred_at < self.occurred_from:
            return False
        return self.occurred_to is None or node.occurred_at < self.occurred_to
