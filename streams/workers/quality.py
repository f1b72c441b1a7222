"""Each worker's running quality and the decision to block: the second half of the workers stage.

Grades arrive keyed by worker, so one worker's statistics live on one partition and fold in
order. Each grade adds the answer's soft contribution to the worker's Dawid-Skene-family model
(``streams.consensus.inference.WorkerModel``), replacing the grade it supersedes, which is the
M-step of online expectation-maximisation; consensus reads the models back as its weights.

A worker is blocked when the quality is *confidently* below the bar: the upper end of a
one-sided interval (mean + ``z`` standard deviations) is under ``bar`` after at least
``min_answers`` graded answers. Uncertainty protects new honest workers; the bound on answers
before a spammer is blocked follows from how fast the interval narrows.

Qualification before pay is the same rule mirrored: a worker is granted ``qualification``
(``WorkerQualified``; paid HITs require it) once the quality is *confidently* at or above the
bar, the lower end (mean - ``z`` standard deviations) at least ``bar``, after at least
``qualify_after`` gold answers (9: three gold HITs of three platforms). With the model's
Beta(2, 1) prior that is at most 1 wrong of 9 (8 of 9: 0.83 ± 0.10, lower end 0.66; 7 of 9:
0.55), while 0 right of the first 6 (``min_answers``) blocks (upper end 0.44). A worker in
between takes more gold HITs until the interval clears the bar one way or the other.

Gold answers count and are paid only once the worker passes: grading hands each gold
assignment's review over as a ``ReviewHeld``; it is held in this state until the worker
qualifies, then emitted as the ``AssignmentReviewed`` grading made (paid at the HIT's reward
unless it was wrong throughout), or rejected, reason given, if the worker is blocked first.
Reviews arriving after the decision are released, or rejected, at once.

Retractions of this worker's events arrive keyed like the grades (``worker:<id>``). The state
keeps every grade it counts (answer, truth, weight), so a retracted grade's contribution is
taken out exactly as it went in, and a new estimate is published, derived from the retraction
(lineage does not carry a retraction's taint through it). A retracted ``WorkerBlocked`` lifts
that block, unless the estimate without the withdrawn grades is confidently below the bar
again, which is a new block; a block whose event stays live stays, whatever grades go. A
retracted ``WorkerQualified`` is lifted the same way: granted again if the grades left still
earn it, otherwise withdrawn on the platform too (``QualificationRevoked``). Retracted ids
are remembered so a grade read after its retraction is never counted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.consensus.inference import WorkerModel
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.lineage.models import EventRetracted
from streams.workers.models import (
    QUALIFICATION,
    AnswerGraded,
    AssignmentReviewed,
    QualificationRevoked,
    ReviewHeld,
    WorkerBlocked,
    WorkerQualified,
    WorkerQualityEstimated,
)

STAGE = "workers"
STAGE_VERSION = "1.1.0"  # 1.1.0: a retracted qualification the grades no longer earn is revoked

# The retracted events this core holds something of (all keyed by ``worker:<id>``).
FOLLOWED = frozenset(cls.schema_name for cls in (AnswerGraded, WorkerQualityEstimated,
                                                 WorkerBlocked, WorkerQualified, ReviewHeld))
WORKER_KEY = "worker:"


@dataclass(frozen=True)
class QualityConfig:
    """The blocking and qualifying rules: ``bar`` on estimated accuracy, ``z`` for confidence;
    ``qualification`` None pays gold answers at once and grants nothing.

    ``gold_weight`` is 1: a gold answer is one answer. At 2, nine right gold answers made a
    new, sloppy worker (75-90% right) weigh 0.96 in consensus before any paid answer was
    graded, and on the broker two such workers agreeing on a wrong handle decided three fields
    out of 5,272 wrongly; at 1 the same nine give 0.92, and a third answer is asked for.
    """

    bar: float = 0.6
    z: float = 1.645
    min_answers: int = 6
    gold_weight: float = 1.0
    qualification: str | None = QUALIFICATION
    qualify_after: int = 9
    instance: str = "local"

    @property
    def producer(self) -> Producer:
        return Producer(STAGE, STAGE_VERSION, self.instance)


@dataclass(slots=True)
class WorkerState:
    """One worker's model, the grades it counts (to replace or withdraw them), whether blocked
    or qualified (and by which event), the gold reviews held (by assignment id) and released,
    the latest estimate published, and the ids lineage retracted."""

    worker_id: str
    model: WorkerModel = field(default_factory=lambda: WorkerModel(open_labels=True))
    # id -> [answer, truth, weight, gold]
    grades: dict[str, list[Any]] = field(default_factory=dict)
    gold_answers: int = 0
    blocked: bool = False
    block_id: str | None = None
    estimate_id: str | None = None
    retracted: set[str] = field(default_factory=set)  # grades, blocks, qualifications, reviews
    qualified_id: str | None = None
    held: dict[str, dict[str, Any]] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)

    @property
    def qualified(self) -> bool:
        return self.qualified_id is not None

    def to_dict(self) -> dict[str, Any]:
        return {"worker_id": self.worker_id, "model": self.model.to_dict(),
                "grades": self.grades, "gold_answers": self.gold_answers,
                "blocked": self.blocked, "block_id": self.block_id,
                "estimate_id": self.estimate_id, "retracted": sorted(self.retracted),
                "qualified_id": self.qualified_id, "held": self.held,
                "released": sorted(self.released)}

    @classmethod
    def from_dict(cls, worker_id: str, data: Mapping[str, Any] | None) -> WorkerState:
        """The stored state of ``worker_id``, or a fresh one when there is none."""
        if not data:
            return cls(worker_id)
        return cls(worker_id, WorkerModel.from_dict(data["model"]), dict(data["grades"]),
                   data["gold_answers"], data["blocked"], data.get("block_id"),
                   data.get("estimate_id"), set(data.get("retracted", ())),
                   data.get("qualified_id"), dict(data.get("held", {})),
                   set(data.get("released", ())))


def worker_of(key: str) -> str | None:
    """The worker id of a ``worker:<id>`` key (None for any other entity)."""
    return key[len(WORKER_KEY):] if key.startswith(WORKER_KEY) else None


def follows(retraction: EventRetracted) -> bool:
    """Whether this core holds anything of the retracted event (else its state is not read)."""
    return retraction.retracted_type in FOLLOWED and worker_of(retraction.entity_id) is not None


def handle(state: WorkerState, event: Event, config: QualityConfig) -> list[Event]:
    """Fold one grade (or withdraw one retracted event) into the worker's state; the new
    estimate, and a block if it is due."""
    if isinstance(event, EventRetracted):
        return _on_retraction(state, event, config)
    if isinstance(event, ReviewHeld):
        return _on_review(state, event, config)
    if not isinstance(event, AnswerGraded):
        return []
    grade = event
    if grade.event_id in state.grades or grade.event_id in state.retracted:
        return []  # redelivered (already folded in), or withdrawn before it arrived
    if grade.replaces is not None and grade.replaces in state.grades:
        _withdraw(state, grade.replaces)
    weight = config.gold_weight if grade.gold else 1.0
    state.model.add(grade.answer, grade.truth, weight)
    state.grades[grade.event_id] = [grade.answer, dict(grade.truth), weight, grade.gold]
    state.gold_answers += grade.gold
    return _assessed(state, grade.event_id, grade.meta.occurred_at, config)


def _on_review(state: WorkerState, review: ReviewHeld, config: QualityConfig) -> list[Event]:
    """Hold a gold assignment's review until the worker is qualified or blocked."""
    if review.assignment_id in state.released or review.event_id in state.retracted:
        return []  # redelivered, or withdrawn before it arrived
    state.held[review.assignment_id] = {
        "event_id": review.event_id, "record": review.record, "hit_id": review.hit_id,
        "status": review.status, "reward_cents": review.reward_cents, "agreed": review.agreed,
        "judged": review.judged, "reason": review.reason}
    at = review.meta.occurred_at
    if config.qualification is None or state.qualified:
        return _release(state, state.qualified_id or review.event_id, at, config)
    if state.blocked:
        return _release(state, state.block_id or review.event_id, at, config,
                        failed="the worker is blocked")
    return []


def _release(state: WorkerState, cause: str, at: datetime, config: QualityConfig, *,
             failed: str | None = None) -> list[Event]:
    """Every held review as an ``AssignmentReviewed``: as grading judged it, or (``failed``:
    the worker was blocked before qualifying) rejected, unpaid, for that reason."""
    out: list[Event] = []
    for assignment_id, held in sorted(state.held.items()):
        meta = new_meta(event_type=AssignmentReviewed.schema_name, entity_id=held["record"],
                        occurred_at=at, producer=config.producer,
                        provenance=Provenance("crowd", assignment_id),
                        parents=tuple(dict.fromkeys((held["event_id"], cause))),
                        identity=[assignment_id])
        status, reward, reason = held["status"], held["reward_cents"], held["reason"]
        if failed is not None:
            status, reward = "Rejected", 0
            reason = f"qualification failed: {failed} (gold answers {reason})"
        out.append(AssignmentReviewed(
            meta=meta, hit_id=held["hit_id"], assignment_id=assignment_id,
            worker_id=state.worker_id, status=status, reward_cents=reward,
            agreed=held["agreed"], judged=held["judged"], reason=reason))
        state.released.add(assignment_id)
    state.held.clear()
    return out


def _withdraw(state: WorkerState, grade_id: str) -> None:
    """Take one counted grade's contribution out, exactly as it went in."""
    entry = state.grades.pop(grade_id)
    answer, truth, weight = entry[0], entry[1], entry[2]
    state.model.add(answer, truth, -weight)
    gold = bool(entry[3]) if len(entry) > 3 else weight != 1.0  # older states: by its weight
    state.gold_answers -= gold


def _on_retraction(state: WorkerState, retraction: EventRetracted,
                   config: QualityConfig) -> list[Event]:
    gone, at = retraction.retracted_id, retraction.meta.occurred_at
    if retraction.retracted_type == WorkerQualityEstimated.schema_name:
        if gone != state.estimate_id:
            return []  # superseded already (by the estimate its grade's retraction brought)
        # The latest estimate was withdrawn (selected itself): publish the current one anew.
        return [_estimate(state, retraction.event_id, at, config)]
    if gone in state.retracted:
        return []  # redelivered
    state.retracted.add(gone)
    if retraction.retracted_type == AnswerGraded.schema_name:
        if gone not in state.grades:
            return []  # never counted, or already replaced by a later grade
        _withdraw(state, gone)
        return _assessed(state, retraction.event_id, at, config)
    if retraction.retracted_type == WorkerBlocked.schema_name:
        if not state.blocked or state.block_id not in (None, gone):
            return []  # not the block in force
        state.blocked, state.block_id = False, None
        return _block_if_due(state, retraction.event_id, at, config)
    if retraction.retracted_type == WorkerQualified.schema_name:
        if state.qualified_id != gone:
            return []  # not the qualification in force
        state.qualified_id = None
        return (_qualify_if_due(state, retraction.event_id, at, config)
                or _revoke(state, retraction, config))
    if retraction.retracted_type == ReviewHeld.schema_name:
        state.held = {a: h for a, h in state.held.items() if h["event_id"] != gone}
    return []


def _assessed(state: WorkerState, cause: str, at: datetime,
              config: QualityConfig) -> list[Event]:
    """The estimate after a change caused by event ``cause``, and a block or a qualification
    if one is now due."""
    return [_estimate(state, cause, at, config), *_block_if_due(state, cause, at, config),
            *_qualify_if_due(state, cause, at, config)]


def _estimate(state: WorkerState, cause: str, at: datetime,
              config: QualityConfig) -> WorkerQualityEstimated:
    accuracy, sd = state.model.accuracy()
    meta = new_meta(event_type=WorkerQualityEstimated.schema_name,
                    entity_id=f"{WORKER_KEY}{state.worker_id}", occurred_at=at,
                    producer=config.producer, provenance=Provenance("crowd", state.worker_id),
                    parents=(cause,), identity=[state.worker_id])
    state.estimate_id = meta.event_id
    return WorkerQualityEstimated(
        meta=meta, worker_id=state.worker_id, accuracy=accuracy, uncertainty=sd,
        answers=state.model.answers(), gold_answers=state.gold_answers,
        model=json.dumps(state.model.to_dict(), sort_keys=True))


def _block_if_due(state: WorkerState, cause: str, at: datetime,
                  config: QualityConfig) -> list[Event]:
    accuracy, sd = state.model.accuracy()
    answers = state.model.answers()
    if state.blocked or not should_block(accuracy, sd, answers, config):
        return []
    meta = new_meta(event_type=WorkerBlocked.schema_name,
                    entity_id=f"{WORKER_KEY}{state.worker_id}", occurred_at=at,
                    producer=config.producer, provenance=Provenance("crowd", state.worker_id),
                    parents=(cause,), identity=[state.worker_id])
    if meta.event_id in state.retracted:
        return []  # this very block was withdrawn: it does not come back
    state.blocked, state.block_id = True, meta.event_id
    reason = (f"estimated accuracy {accuracy:.2f} ± {sd:.2f} after {answers:.0f} graded "
              f"answers is confidently below {config.bar:.2f}")
    blocked = WorkerBlocked(meta=meta, worker_id=state.worker_id, accuracy=accuracy,
                            uncertainty=sd, answers=answers, threshold=config.bar, reason=reason)
    if state.qualified:
        return [blocked]
    return [blocked, *_release(state, meta.event_id, at, config, failed=reason)]


def _qualify_if_due(state: WorkerState, cause: str, at: datetime,
                    config: QualityConfig) -> list[Event]:
    accuracy, sd = state.model.accuracy()
    if (config.qualification is None or state.qualified or state.blocked
            or not should_qualify(accuracy, sd, state.gold_answers, config)):
        return []
    meta = new_meta(event_type=WorkerQualified.schema_name,
                    entity_id=f"{WORKER_KEY}{state.worker_id}", occurred_at=at,
                    producer=config.producer, provenance=Provenance("crowd", state.worker_id),
                    parents=(cause,), identity=[state.worker_id, config.qualification])
    if meta.event_id in state.retracted:
        return []  # this very qualification was withdrawn: it does not come back
    state.qualified_id = meta.event_id
    qualified = WorkerQualified(
        meta=meta, worker_id=state.worker_id, qualification=config.qualification,
        accuracy=accuracy, uncertainty=sd, gold_answers=state.gold_answers,
        threshold=config.bar,
        reason=f"estimated accuracy {accuracy:.2f} ± {sd:.2f} after {state.gold_answers} "
               f"gold answers is confidently at least {config.bar:.2f}")
    return [qualified, *_release(state, meta.event_id, at, config)]


def _revoke(state: WorkerState, retraction: EventRetracted,
            config: QualityConfig) -> list[Event]:
    """The platform's grant withdrawn: the qualification's event was retracted and the grades
    left do not earn it again."""
    if config.qualification is None:
        return []
    accuracy, sd = state.model.accuracy()
    meta = new_meta(event_type=QualificationRevoked.schema_name,
                    entity_id=f"{WORKER_KEY}{state.worker_id}",
                    occurred_at=retraction.meta.occurred_at, producer=config.producer,
                    provenance=Provenance("crowd", state.worker_id),
                    parents=(retraction.event_id,), identity=[state.worker_id, "revoked"])
    return [QualificationRevoked(
        meta=meta, worker_id=state.worker_id, qualification=config.qualification,
        reason=f"the qualification was withdrawn ({retraction.reason}); estimated accuracy "
               f"{accuracy:.2f} ± {sd:.2f} after {state.gold_answers} gold answers does not "
               f"earn it again")]


def should_block(accuracy: float, sd: float, answers: float, config: QualityConfig) -> bool:
    """Confidently below the bar: even the optimistic end of the interval is under it."""
    return answers >= config.min_answers and accuracy + config.z * sd < config.bar


def should_qualify(accuracy: float, sd: float, gold_answers: int, config: QualityConfig) -> bool:
    """Confidently at or above the bar on enough gold: even the pessimistic end clears it.

    >>> config = QualityConfig()
    >>> should_qualify(0.76, 0.09, 9, config), should_qualify(0.67, 0.10, 9, config)
    (True, False)
    >>> should_qualify(0.95, 0.05, 6, config)  # too few gold answers yet
    False
    """
    return gold_answers >= config.qualify_after and accuracy - config.z * sd >= config.bar
