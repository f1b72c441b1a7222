"""Each worker's running quality and the decision to block: the second half of the workers stage.

Grades arrive keyed by worker, so one worker's statistics live on one partition and fold in
order. Each grade adds the answer's soft contribution to the worker's Dawid-Skene-family model
(``streams.consensus.inference.WorkerModel``), replacing the grade it supersedes, which is the
M-step of online expectation-maximisation; consensus reads the models back as its weights.

A worker is blocked when the quality is *confidently* below the bar: the upper end of a
one-sided interval (mean + ``z`` standard deviations) is under ``bar`` after at least
``min_answers`` graded answers. Uncertainty protects new honest workers; the bound on answers
before a spammer is blocked follows from how fast the interval narrows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.consensus.inference import WorkerModel
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.workers.models import AnswerGraded, WorkerBlocked, WorkerQualityEstimated

STAGE = "workers"
STAGE_VERSION = "1.0.0"


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
    """One worker's model, the grades it holds (to replace them), and whether blocked."""

    worker_id: str
    model: WorkerModel = field(default_factory=lambda: WorkerModel(open_labels=True))
    grades: dict[str, list[Any]] = field(default_factory=dict)  # id -> [answer, truth, weight]
    gold_answers: int = 0
    blocked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"worker_id": self.worker_id, "model": self.model.to_dict(),
                "grades": self.grades, "gold_answers": self.gold_answers,
                "blocked": self.blocked}

    @classmethod
    def from_dict(cls, worker_id: str, data: Mapping[str, Any] | None) -> WorkerState:
        """The stored state of ``worker_id``, or a fresh one when there is none."""
        if not data:
            return cls(worker_id)
        return cls(worker_id, WorkerModel.from_dict(data["model"]), dict(data["grades"]),
                   data["gold_answers"], data["blocked"])


def handle(state: WorkerState, grade: AnswerGraded, config: QualityConfig) -> list[Event]:
    """Fold one grade into the worker's model; the new estimate, and a block if it is due."""
    if grade.event_id in state.grades:
        return []  # redelivered: already folded in
    if grade.replaces is not None and grade.replaces in state.grades:
        answer, truth, weight = state.grades.pop(grade.replaces)
        state.model.add(answer, truth, -weight)
    weight = config.gold_weight if grade.gold else 1.0
    state.model.add(grade.answer, grade.truth, weight)
    state.grades[grade.event_id] = [grade.answer, dict(grade.truth), weight]
    state.gold_answers += grade.gold
    accuracy, sd = state.model.accuracy()
    answers = state.model.answers()
    entity = f"worker:{state.worker_id}"
    meta = new_meta(event_type=WorkerQualityEstimated.schema_name, entity_id=entity,
                    occurred_at=grade.meta.occurred_at, producer=config.producer,
                    provenance=Provenance("crowd", state.worker_id), parents=(grade.event_id,),
                    identity=[state.worker_id])
    out: list[Event] = [WorkerQualityEstimated(
        meta=meta, worker_id=state.worker_id, accuracy=accuracy, uncertainty=sd,
        answers=answers, gold_answers=state.gold_answers,
        model=json.dumps(state.model.to_dict(), sort_keys=True))]
    if not state.blocked and should_block(accuracy, sd, answers, config):
        state.blocked = True
        meta = new_meta(event_type=WorkerBlocked.schema_name, entity_id=entity,
                        occurred_at=grade.meta.occurred_at, producer=config.producer,
                        provenance=Provenance("crowd", state.worker_id),
                        parents=(grade.event_id,), identity=[state.worker_id])
        out.append(WorkerBlocked(
            meta=meta, worker_id=state.worker_id, accuracy=accuracy, uncertainty=sd,
            answers=answers, threshold=config.bar,
            reason=f"estimated accuracy {accuracy:.2f} ± {sd:.2f} after {answers:.0f} graded "
                   f"answers is confidently below {config.bar:.2f}"))
    return out


def should_block(accuracy: float, sd: float, answers: float, config: QualityConfig) -> bool:
    """Confidently below the bar: even the optimistic end of the interval is under it."""
    return answers >= config.min_answers and accuracy + config.z * sd < config.bar
