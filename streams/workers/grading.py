"""Grading answers and reviewing assignments, per record: the first half of the workers stage.

Consensus decides fields; this core compares every worker's answer with what is now believed
true and emits an ``AnswerGraded`` per answer (keyed by worker, so the quality core that folds
them runs where that worker's statistics live), and, once a HIT is settled, an
``AssignmentReviewed`` per assignment: approved and paid, or rejected when it contradicted every
decided platform. Gold HITs are graded against the gold answers straight away.

Gold HITs are qualification HITs: their answers are paid only once the worker qualifies. Whether
a worker has qualified is known where their grades are folded (the quality core, keyed by worker),
not here (keyed by record), so a gold assignment's review is not emitted but handed over as a
``ReviewHeld`` keyed by the worker, after its grades; the quality core emits it as the
``AssignmentReviewed`` when the worker qualifies (or at once if they had), or rejects it when
they are blocked first.

When enrichment rejects an accepted handle as a namesake's (``HandleRejected``, keyed by the
record on ``enrichment.profiles``), the workers who gave it are graded again: the new grade
``replaces`` the one that called it correct, against a truth that is "another account"
(``ANOTHER_ACCOUNT``: which one is not known yet, only that it is not this one). Late answers
giving the rejected handle are graded that way too; payment stands (the HIT was settled).

When consensus supersedes a decision, the answers it covered are graded again; the new grade
names the one it ``replaces`` so the worker's statistics swap one for the other.

Retractions (``EventRetracted``, keyed by the record like every input here) make the state
forget what lineage withdrew: a retracted acceptance is no longer believed (the next acceptance
of that field is graded afresh; its grades name the withdrawn ones they replace, so the quality
step ends up with one grade per answer whichever of the new grade and the old grade's retraction
it reads first), a retracted assignment is neither graded nor reviewed again, a withdrawn HIT
takes no more answers. Lineage retracts every descendant too, so the reviews that named a
withdrawn decision are forgotten at once, with the HIT's expiry when tasks re-opens the HIT;
they are made again when the HIT is settled again (at once if it still is). Retracted ids are
remembered, so an input read after its retraction (a replay reads topics in no joint order) is
ignored, as is an input derived from one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.consensus.answers import NOT_FOUND, answer_label
from streams.consensus.models import HandleAccepted
from streams.enrichment.models import HandleRejected
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.lineage.models import EventRetracted
from streams.tasks.models import AssignmentSubmitted, HitExpired, HitPublished
from streams.workers.models import AnswerGraded, AssignmentReviewed, ReviewHeld

STAGE = "workers"
STAGE_VERSION = "1.0.0"

# The retracted events this core holds something of (all keyed by the record).
FOLLOWED = frozenset(cls.schema_name for cls in (HitPublished, HitExpired, AssignmentSubmitted,
                                                 HandleAccepted, AssignmentReviewed,
                                                 HandleRejected))
# The events of a record this core reacts to (besides retractions).
HEARD = (HitPublished, AssignmentSubmitted, HandleAccepted, HitExpired, HandleRejected)
# The truth an answer giving a rejected handle is graded against: some other account (or none).
ANOTHER_ACCOUNT = "<another-account>"


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
    """One record's HITs, assignments, accepted beliefs, grades given, reviews done, and the
    ids lineage retracted (with what this state derived from them)."""

    entity_id: str
    hits: dict[str, dict[str, Any]] = field(default_factory=dict)
    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)  # by its id
    beliefs: dict[str, dict[str, Any]] = field(default_factory=dict)  # "hit/platform" -> belief
    grades: dict[str, str] = field(default_factory=dict)  # "assignment/platform" -> grade id
    retracted: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "hits": self.hits,
                "assignments": self.assignments, "beliefs": self.beliefs,
                "grades": self.grades, "retracted": sorted(self.retracted)}

    @classmethod
    def from_dict(cls, entity_id: str, data: Mapping[str, Any] | None) -> GradingState:
        """The stored state of ``entity_id``, or a fresh one when there is none."""
        if not data:
            return cls(entity_id)
        return cls(entity_id, dict(data["hits"]), dict(data["assignments"]), dict(data["beliefs"]),
                   dict(data["grades"]), set(data.get("retracted", ())))


def follows(retraction: EventRetracted) -> bool:
    """Whether this core holds anything of the retracted event (else its state is not read)."""
    return retraction.retracted_type in FOLLOWED


def handle(state: GradingState, event: Event, config: GradingConfig) -> list[Event]:
    """Grades and reviews that one event of a record makes due."""
    if isinstance(event, EventRetracted):
        return _on_retraction(state, event, config)
    if isinstance(event, HEARD) and _withdrawn(state, event):
        return []
    if isinstance(event, HitPublished):
        truth = config.gold.get(event.provider_ref, {}) if event.gold else {}
        state.hits[event.hit_id] = {"reward": event.reward_cents, "gold": event.gold,
                                    "expired": False, "truth": dict(truth),
                                    "event_id": event.event_id, "expiries": {}}
        return []
    if isinstance(event, AssignmentSubmitted):
        return _on_assignment(state, event, config)
    if isinstance(event, HandleAccepted):
        return _on_accepted(state, event, config)
    if isinstance(event, HandleRejected):
        return _on_rejected(state, event, config)
    if isinstance(event, HitExpired):
        hit = state.hits.setdefault(event.hit_id, {"reward": 0, "gold": False, "truth": {}})
        if hit.get("withdrawn"):
            return []
        hit.setdefault("expiries", {})[event.event_id] = list(event.meta.parents)
        hit["expired"] = True
        return [r for a in list(state.assignments.values()) if a["hit_id"] == event.hit_id
                for r in _review(state, a, config, event.meta.occurred_at)]
    return []


def _withdrawn(state: GradingState, event: Event) -> bool:
    """Retracted, or derived from a retracted event (lineage retracts it too): ignore it."""
    if event.event_id in state.retracted:
        return True
    if any(parent in state.retracted for parent in event.meta.parents):
        state.retracted.add(event.event_id)
        return True
    return False


def _on_assignment(state: GradingState, event: AssignmentSubmitted,
                   config: GradingConfig) -> list[Event]:
    if event.assignment_id in state.assignments:
        return []
    hit = state.hits.get(event.hit_id, {})
    if hit.get("withdrawn"):
        return []
    labels = {p: answer_label(p, raw) for p, raw in sorted(event.answers.items())}
    entry = {"event_id": event.event_id, "assignment_id": event.assignment_id,
             "hit_id": event.hit_id, "worker_id": event.worker_id,
             "labels": labels, "reviewed": False}
    state.assignments[event.assignment_id] = entry
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


def _on_rejected(state: GradingState, event: HandleRejected,
                 config: GradingConfig) -> list[Event]:
    """Grade again, as wrong, the answers that gave the handle enrichment rejected."""
    belief = state.beliefs.get(f"{event.hit_id}/{event.platform}")
    if belief is None or belief.get("rejection_id") == event.event_id:
        return []  # not a decision of this state's, or redelivered
    belief["rejected"], belief["rejection_id"] = event.handle, event.event_id
    return _regrade(state, event.hit_id, event.platform, event.handle, belief=belief,
                    config=config, at=event.meta.occurred_at)


def _regrade(state: GradingState, hit_id: str, platform: str, given: str, *,
             belief: Mapping[str, Any], config: GradingConfig, at: datetime) -> list[Event]:
    """New grades, against ``belief``, for the answers to ``hit_id`` that gave ``given``."""
    return [_grade(state, entry, platform, given=given, belief=belief, config=config, at=at)
            for _, entry in sorted(state.assignments.items())
            if entry["hit_id"] == hit_id and entry["labels"].get(platform) == given]


def _on_retraction(state: GradingState, retraction: EventRetracted,
                   config: GradingConfig) -> list[Event]:
    """Forget the retracted event and what was derived from it; review again what can be.

    Whether a HIT is still settled mirrors the tasks stage: withdrawing a field's current
    acceptance re-opens the HIT (tasks expires it anew once the field is decided again, and the
    HIT is reviewed then); withdrawing an acceptance already superseded does not, so reviews
    that named it are made again at once against the current beliefs.
    """
    gone = retraction.retracted_id
    if gone in state.retracted:
        return []  # redelivered, or already forgotten with its parent
    state.retracted.add(gone)
    out: list[Event] = []
    for key, belief in list(state.beliefs.items()):
        if belief.get("decision_id") == gone:
            del state.beliefs[key]  # undecided until consensus accepts again
            _unsettle(state.hits.get(key.split("/", 1)[0], {}))
        elif belief.get("rejection_id") == gone:  # the handle stands again: so do its grades
            given = belief.pop("rejected")
            del belief["rejection_id"]
            hit_id, platform = key.split("/", 1)
            out.extend(_regrade(state, hit_id, platform, given, belief=belief, config=config,
                                at=retraction.meta.occurred_at))
    for assignment_id, entry in list(state.assignments.items()):
        if entry["event_id"] == gone:
            del state.assignments[assignment_id]
            for key in [k for k in state.grades if k.startswith(f"{assignment_id}/")]:
                del state.grades[key]
    for hit in state.hits.values():
        if hit.get("event_id") == gone:
            hit["withdrawn"] = True
            _unsettle(hit)
        parents = hit.get("expiries", {}).get(gone)
        if parents is not None and not state.retracted.intersection(parents):
            # withdrawn for a reason of its own (not a superseded acceptance): unsettled
            del hit["expiries"][gone]
            hit["expired"] = bool(hit["expiries"])
    for entry in list(state.assignments.values()):
        review_id = entry.get("review_id")
        if review_id is None or (review_id != gone and gone not in entry["review_parents"]):
            continue
        state.retracted.add(review_id)  # lineage retracts it with its parent
        entry["reviewed"], entry["review_id"], entry["review_parents"] = False, None, []
        hit = state.hits.get(entry["hit_id"], {})
        if hit.get("gold") or hit.get("expired"):  # still settled: judge it again now
            out.extend(_review(state, entry, config, retraction.meta.occurred_at))
    return out


def _unsettle(hit: dict[str, Any]) -> None:
    """The HIT is open again: it is reviewed when tasks expires it anew."""
    hit["expired"], hit["expiries"] = False, {}


def _grade(state: GradingState, entry: Mapping[str, Any], platform: str, *, given: str,
           belief: Mapping[str, Any], config: GradingConfig, at: datetime) -> AnswerGraded:
    assignment_id = entry["assignment_id"]
    key = f"{assignment_id}/{platform}"
    replaces = state.grades.get(key)
    truth = belief["truth"]
    rejection = belief.get("rejection_id") if given == belief.get("rejected") else None
    if rejection:
        truth = {ANOTHER_ACCOUNT: 1.0}
    parents = tuple(p for p in (entry["event_id"], belief["decision_id"], rejection) if p)
    meta = new_meta(event_type=AnswerGraded.schema_name, entity_id=f"worker:{entry['worker_id']}",
                    occurred_at=at, producer=config.producer,
                    provenance=Provenance("crowd", assignment_id), parents=parents,
                    identity=[assignment_id, platform, replaces])
    state.grades[key] = meta.event_id
    return AnswerGraded(meta=meta, worker_id=entry["worker_id"], assignment_id=assignment_id,
                        platform=platform, answer=given, truth=dict(truth),
                        gold=belief["gold"], replaces=replaces)


def _review(state: GradingState, entry: dict[str, Any], config: GradingConfig,
            at: datetime) -> list[Event]:
    """Approve an assignment unless it contradicted every platform that has a verdict.

    Rejection is for answers that are wrong throughout (spam), not for an honest miss: one
    platform right is enough to be paid. A gold assignment's review is held with its worker
    (``ReviewHeld``, see the module).
    """
    if entry["reviewed"]:
        return []
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
    kind = ReviewHeld if hit.get("gold") else AssignmentReviewed
    meta = new_meta(event_type=kind.schema_name,
                    entity_id=f"worker:{entry['worker_id']}" if hit.get("gold")
                    else state.entity_id, occurred_at=at,
                    producer=config.producer, provenance=Provenance("crowd", assignment_id),
                    parents=tuple(parents), identity=[assignment_id])
    if meta.event_id in state.retracted:
        return []  # the very review lineage withdrew: nothing new to say
    entry["reviewed"], entry["review_id"], entry["review_parents"] = True, meta.event_id, parents
    reward = int(hit.get("reward", 0)) if approved else 0
    if kind is ReviewHeld:
        return [ReviewHeld(meta=meta, record=state.entity_id, hit_id=entry["hit_id"],
                           assignment_id=assignment_id, worker_id=entry["worker_id"],
                           status=status, reward_cents=reward, agreed=agreed, judged=judged,
                           reason=reason)]
    return [AssignmentReviewed(meta=meta, hit_id=entry["hit_id"], assignment_id=assignment_id,
                               worker_id=entry["worker_id"], status=status, reward_cents=reward,
                               agreed=agreed, judged=judged, reason=reason)]
