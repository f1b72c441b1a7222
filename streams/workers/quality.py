"""Each worker's running quality and the decision to block: the second half of the workers stage.

Grades arrive keyed by worker, so one worker's statistics live on one partition and fold in
order. Each grade adds the answer's soft contribution to the worker's Dawid-Skene-family model
(``streams.consensus.inference.WorkerModel``), replacing the grade it supersedes, which is the
M-step of online expectation-maximisation; consensus reads the models back as its weights.

A worker is blocked when the quality is *confidently* below the bar: the upper end of a
one-sided interval (mean + ``z`` standard deviations) is under ``bar`` after at least
``min_answers`` graded answers. Uncertainty protects new honest workers; the bound on answers
before a spammer is blocked follows from how fast the interval narrows.

Retractions of this worker's events arrive keyed like the grades (``worker:<id>``). The state
keeps every grade it counts (answer, truth, weight), so a retracted grade's contribution is
taken out exactly as it went in, and a new estimate is published, derived from the retraction
(lineage does not carry a retraction's taint through it). A retracted ``WorkerBlocked`` lifts
that block, unless the estimate without the withdrawn grades is confidently below the bar
again, which is a new block; a block whose event stays live stays, whatever grades go. Retracted
ids are remembered so a grade read after its retraction is never counted.
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
from streams.workers.models import AnswerGraded, WorkerBlocked, WorkerQualityEstimated

STAGE = "workers"
STAGE_VERSION = "1.0.0"

# The retracted events this core holds something of (all keyed by ``worker:<id>``).
FOLLOWED = frozenset(cls.schema_name for cls in (AnswerGraded, WorkerQualityEstimated,
                                                 WorkerBlocked))
WORKER_KEY = "worker:"


@dataclass(frozen=True)
class QualityConfig:
    """The blocking rule: ``bar`` on estimated accuracy, ``z`` for confidence."""

    bar: float = 0.6
    z: float = 1.645
    min_answers: int = 6
    gold_weight: float = 2.0
    instance: str = "local"

    @property
    def producer(self) -> Producer:
        return Producer(STAGE, STAGE_VERSION, self.instance)


@dataclass(slots=True)
class WorkerState:
    """One worker's model, the grades it counts (to replace or withdraw them), whether blocked
    (and by which event), the latest estimate published, and the ids lineage retracted."""

    worker_id: str
    model: WorkerModel = field(default_factory=lambda: WorkerModel(open_labels=True))
    # id -> [answer, truth, weight, gold]
    grades: dict[str, list[Any]] = field(default_factory=dict)
    gold_answers: int = 0
    blocked: bool = False
    block_id: str | None = None
    estimate_id: str | None = None
    retracted: set[str] = field(default_factory=set)  # grades and blocks

    def to_dict(self) -> dict[str, Any]:
        return {"worker_id": self.worker_id, "model": self.model.to_dict(),
                "grades": self.grades, "gold_answers": self.gold_answers,
                "blocked": self.blocked, "block_id": self.block_id,
                "estimate_id": self.estimate_id, "retracted": sorted(self.retracted)}

    @classmethod
    def from_dict(cls, worker_id: str, data: Mapping[str, Any] | None) -> WorkerState:
        """The stored state of ``worker_id``, or a fresh one when there is none."""
        if not data:
            return cls(worker_id)
        return cls(worker_id, WorkerModel.from_dict(data["model"]), dict(data["grades"]),
                   data["gold_answers"], data["blocked"], data.get("block_id"),
                   data.get("estimate_id"), set(data.get("retracted", ())))


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
    return []


def _assessed(state: WorkerState, cause: str, at: datetime,
              config: QualityConfig) -> list[Event]:
    """The estimate after a change caused by event ``cause``, and a block if it is now due."""
    return [_estimate(state, cause, at, config), *_block_if_due(state, cause, at, config)]


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
    return [WorkerBlocked(
        meta=meta, worker_id=state.worker_id, accuracy=accuracy, uncertainty=sd,
        answers=answers, threshold=config.bar,
        reason=f"estimated accuracy {accuracy:.2f} ± {sd:.2f} after {answers:.0f} graded "
               f"answers is confidently below {config.bar:.2f}")]


def should_block(accuracy: float, sd: float, answers: float, config: QualityConfig) -> bool:
    """Confidently below the bar: even the optimistic end of the interval is under it."""
    return answers >= config.min_answers and accuracy + config.z * sd < config.bar
