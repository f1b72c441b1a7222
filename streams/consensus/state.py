"""What the consensus stage remembers about one record: its HITs, their answers and decisions.

The state of one entity (one record) is a plain mutable structure that the core updates and
returns; the adapters keep it in a changelog-backed table as the JSON of ``to_dict``, so a
restarted worker resumes with exactly the answers and decisions it had.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class CountedAnswer:
    """One worker's answer for one platform, as it entered the state."""

    event_id: str
    assignment_id: str
    worker_id: str
    label: str
    raw: str | None
    counted: bool  # False when the worker was blocked on arrival: kept for audit, never counted
    at_ms: int  # when it was submitted (event time), for the decisions' occurred_at

    def to_list(self) -> list[Any]:
        return [self.event_id, self.assignment_id, self.worker_id, self.label, self.raw,
                self.counted, self.at_ms]

    @classmethod
    def from_list(cls, data: list[Any]) -> CountedAnswer:
        return cls(*data)


@dataclass(slots=True)
class FieldState:
    """Answers and the current decision for one platform of one HIT."""

    answers: list[CountedAnswer] = field(default_factory=list)
    outcome: str | None = None  # "accepted" | "failed" | None while open
    label: str | None = None
    decision_id: str | None = None
    revision: int = -1
    decision: dict[str, Any] | None = None  # the last decision event, JSON, to re-emit as is
    budget: int = 0  # the HIT's MaxAssignments when last decided: an extension re-opens a failure

    def to_dict(self) -> dict[str, Any]:
        return {"answers": [a.to_list() for a in self.answers], "outcome": self.outcome,
                "label": self.label, "decision_id": self.decision_id, "revision": self.revision,
                "decision": self.decision, "budget": self.budget}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldState:
        return cls([CountedAnswer.from_list(a) for a in data["answers"]], data["outcome"],
                   data["label"], data["decision_id"], data["revision"], data["decision"],
                   data["budget"])


@dataclass(slots=True)
class HitState:
    """One HIT of the record: its budget, the assignments seen, and a field per platform.

    ``published`` is False while answers have arrived before the HIT itself (the two come on
    different topics); nothing is decided until the HIT's budget is known.
    """

    hit_id: str
    published: bool = False
    max_assignments: int = 0
    hit_event_id: str | None = None
    published_at_ms: int = 0
    assignments: list[str] = field(default_factory=list)  # AssignmentSubmitted event ids
    fields: dict[str, FieldState] = field(default_factory=dict)
    expired: bool = False
    retracted: list[str] = field(default_factory=list)  # ids of its events a redaction withdrew

    def to_dict(self) -> dict[str, Any]:
        return {"hit_id": self.hit_id, "published": self.published,
                "max_assignments": self.max_assignments, "hit_event_id": self.hit_event_id,
                "published_at_ms": self.published_at_ms,
                "assignments": list(self.assignments), "expired": self.expired,
                "fields": {p: f.to_dict() for p, f in self.fields.items()},
                "retracted": list(self.retracted)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HitState:
        return cls(data["hit_id"], data["published"], data["max_assignments"],
                   data["hit_event_id"], data["published_at_ms"], list(data["assignments"]),
                   {p: FieldState.from_dict(f) for p, f in data["fields"].items()},
                   data["expired"], list(data.get("retracted", [])))


@dataclass(slots=True)
class EntityState:
    """Every HIT of one record, by HIT id."""

    entity_id: str
    hits: dict[str, HitState] = field(default_factory=dict)

    def hit(self, hit_id: str) -> HitState:
        if hit_id not in self.hits:
            self.hits[hit_id] = HitState(hit_id)
        return self.hits[hit_id]

    def to_dict(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id,
                "hits": {h: s.to_dict() for h, s in self.hits.items()}}

    @classmethod
    def from_dict(cls, entity_id: str, data: Mapping[str, Any] | None) -> EntityState:
        """The stored state of ``entity_id``, or a fresh one when there is none."""
        if not data:
            return cls(entity_id)
        return cls(entity_id, {h: HitState.from_dict(s) for h, s in data["hits"].items()})
