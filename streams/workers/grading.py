"""Grading answers and reviewing assignments, per record: the first half of the workers stage.

Consensus decides fields; this core compares every worker's answer with what is now believed
true and emits an ``AnswerGraded`` per answer (keyed by worker, so the quality core that folds
them runs where that worker's statistics live), and, once a HIT is settled, an
``AssignmentReviewed`` per assignment: approved and paid, or rejected when it contradicted every
decided platform. Gold HITs are graded against the gold answers straight away.

When consensus supersedes a decision, the answers it covered are graded again; the new grade
names the one it ``replaces`` so the worker's statistics swap one for the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.consensus.answers import NOT_FOUND, answer_label
from streams.consensus.models import HandleAccepted
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.tasks.models import AssignmentSubmitted, HitExpired, HitPublished
from streams.workers.models import AnswerGraded, AssignmentReviewed

STAGE = "workers"
STAGE_VERSION = "1.0.0"


@dataclass(frozen=True)
class GradingConfig:
    """``gold`` maps a gold record's provider ref to its true labels per platform."""

    gold: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    instance: str = "local"

    @property
    def producer(self) -> Producer:
        return Producer(STAGE, STAGE_VERSION, self.instance)


@dataclass(slots=True)
class GradingState:
    """One record's HITs, assignments, accepted beliefs, grades given and reviews done."""

    entity_id: str
    hits: dict[str, dict[str, Any]] = field(default_factory=dict)
    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)  # by its id
    beliefs: dict[str, dict[str, Any]] = field(default_factory=dict)  # "hit/platform" -> belief
    grades: dict[str, str] = field(default_factory=dict)  # "assignment/platform" -> grade id

    def to_dict(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "hits": self.hits,
                "assignments": self.assignments, "beliefs": self.beliefs,
                "grades": self.grades}

    @classmethod
    def from_dict(cls, entity_id: str, data: Mapping[str, Any] | None) -> GradingState:
        """The stored state of ``entity_id``, or a fresh one when there is none."""
        if not data:
            return cls(entity_id)
        return cls(entity_id, dict(data["hits"]), dict(data["assignments"]), dict(data["beliefs"]),
                   dict(data["grades"]))


def handle(state: GradingState, event: Event, config: GradingConfig) -> list[Event]:
    """Grades and reviews that one event of a record makes due."""
    if isinstance(event, HitPublished):
        truth = config.gold.get(event.provider_ref, {}) if event.gold else {}
        state.hits[event.hit_id] = {"reward": event.reward_cents, "gold": event.gold,
                                    "expired": False, "truth": dict(truth)}
        return []
    if isinstance(event, AssignmentSubmitted):
        return _on_assignment(state, event, config)
    if isinstance(event, HandleAccepted):
        return _on_accepted(state, event, config)
    if isinstance(event, HitExpired):
        hit = state.hits.setdefault(event.hit_id, {"reward": 0, "gold": False, "truth": {}})
        hit["expired"] = True
        return [r for a in list(state.assignments.values()) if a["hit_id"] == event.hit_id
                for r in _review(state, a, config, event.meta.occurred_at)]
    return []


def _on_assignment(state: GradingState, event: AssignmentSubmitted,
                   config: GradingConfig) -> list[Event]:
    if event.assignment_id in state.assignments:
        return []
    labels = {p: answer_label(p, raw) for p, raw in sorted(event.answers.items())}
    entry = {"event_id": event.event_id, "assignment_id": event.assignment_id,
             "hit_id": event.hit_id, "worker_id": event.worker_id,
             "labels": labels, "reviewed": False}
    state.assignments[event.assignment_id] = entry
    hit = state.hits.get(event.hit_id, {})
    out: list[Event] = []
    for platform, label in labels.items():
        belief = _belief(state, hit, event.hit_id, platform)
        if belief is not None:
            out.append(_grade(state, entry, platform, given=label, belief=belief,
                              config=config, at=event.submitted_at))
    if hit.get("gold") or hit.get("expired"):
        out.extend(_review(state, entry, config, event.submitted_at))
    return out


def _belief(state: GradingState, hit: Mapping[str, Any], hit_id: str,
            platform: str) -> dict[str, Any] | None:
    if hit.get("gold"):
        truth = hit["truth"].get(platform)
        if truth is None:
            return None
        return {"truth": {truth: 1.0}, "label": truth, "decision_id": None, "gold": True}
    return state.beliefs.get(f"{hit_id}/{platform}")


def _on_accepted(state: GradingState, event: HandleAccepted,
                 config: GradingConfig) -> list[Event]:
    key = f"{event.hit_id}/{event.platform}"
    if state.beliefs.get(key, {}).get("decision_id") == event.event_id:
        return []  # redelivered: its grades were given
    label = event.handle if event.handle is not None else NOT_FOUND
    truth = dict(event.posterior) or {label: event.confidence}
    belief = {"truth": truth, "label": label, "decision_id": event.event_id, "gold": False}
    state.beliefs[key] = belief
    out: list[Event] = []
    for assignment_id in sorted(state.assignments):
        entry = state.assignments[assignment_id]
        given = entry["labels"].get(event.platform)
        if entry["hit_id"] == event.hit_id and given is not None:
            out.append(_grade(state, entry, event.platform, given=given, belief=belief,
                              config=config, at=event.meta.occurred_at))
    return out


def _grade(state: GradingState, entry: Mapping[str, Any], platform: str, *, given: str,
           belief: Mapping[str, Any], config: GradingConfig, at: datetime) -> AnswerGraded:
    assignment_id = entry["assignment_id"]
    key = f"{assignment_id}/{platform}"
    replaces = state.grades.get(key)
    parents = tuple(p for p in (entry["event_id"], belief["decision_id"]) if p)
    meta = new_meta(event_type=AnswerGraded.schema_name, entity_id=f"worker:{entry['worker_id']}",
                    occurred_at=at, producer=config.producer,
                    provenance=Provenance("crowd", assignment_id), parents=parents,
                    identity=[assignment_id, platform, replaces])
    state.grades[key] = meta.event_id
    return AnswerGraded(meta=meta, worker_id=entry["worker_id"], assignment_id=assignment_id,
                        platform=platform, answer=given, truth=dict(belief["truth"]),
                        gold=belief["gold"], replaces=replaces)


def _review(state: GradingState, entry: dict[str, Any], config: GradingConfig,
            at: datetime) -> list[Event]:
    """Approve an assignment unless it contradicted every platform that has a verdict.

    Rejection is for answers that are wrong throughout (spam), not for an honest miss: one
    platform right is enough to be paid.
    """
    if entry["reviewed"]:
        return []
    entry["reviewed"] = True
    hit = state.hits.get(entry["hit_id"], {})
    parents = [entry["event_id"]]
    judged = agreed = 0
    for platform, given in entry["labels"].items():
        belief = _belief(state, hit, entry["hit_id"], platform)
        if belief is None:
            continue
        judged += 1
        agreed += given == belief["label"]
        if belief["decision_id"]:
            parents.append(belief["decision_id"])
    approved = judged == 0 or agreed > 0
    status = "Approved" if approved else "Rejected"
    reason = (f"agreed with {agreed} of {judged} decided platforms" if judged
              else "no platform could be judged")
    assignment_id = entry["assignment_id"]
    meta = new_meta(event_type=AssignmentReviewed.schema_name,
                    entity_id=state.entity_id, occurred_at=at,
                    producer=config.producer, provenance=Provenance("crowd", assignment_id),
                    parents=tuple(parents), identity=[assignment_id])
    return [AssignmentReviewed(
        meta=meta, hit_id=entry["hit_id"], assignment_id=assignment_id,
        worker_id=entry["worker_id"], status=status,
        reward_cents=int(hit.get("reward", 0)) if approved else 0, agreed=agreed, judged=judged,
        reason=reason)]
