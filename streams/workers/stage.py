"""The workers stages: grading per record, then quality and blocks per worker.

Grades are re-keyed by worker (``worker:<id>``) on ``workers.grades``, so the quality agent's
state holds each worker's statistics on the partition that worker's grades arrive on; so are
the held reviews of gold assignments (``ReviewHeld``), which quality pays once the worker
qualifies.

Grading also reads ``enrichment.profiles`` (keyed by record, like its other inputs) for
``HandleRejected``: the answers that gave a rejected handle are graded again.

Both agents also read ``lineage.retractions``, keyed by the retracted event's entity: a
retracted HIT, assignment, acceptance, expiry or review reaches the grading state of its record,
and a retracted grade, estimate or block (all keyed ``worker:<id>``) the quality state of its
worker. Each step leaves its state alone for the retractions the other one follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.events.model import Event
from streams.lineage.models import EventRetracted
from streams.stage import Stage, State
from streams.topics import (
    CONSENSUS_RESULTS,
    ENRICHMENT_PROFILES,
    LINEAGE_RETRACTIONS,
    TASKS_ASSIGNMENTS,
    TASKS_HITS,
    WORKERS_GRADES,
)
from streams.workers import grading, quality
from streams.workers.grading import GradingConfig, GradingState
from streams.workers.models import AnswerGraded, ReviewHeld
from streams.workers.quality import QualityConfig, WorkerState


def grade(key: str, stored: Mapping[str, Any] | None, event: Event,
          config: GradingConfig) -> tuple[State | None, list[Event]]:
    """The grading step for one event of record ``key``."""
    if isinstance(event, EventRetracted):
        if not grading.follows(event):
            return None, []
    elif not isinstance(event, grading.HEARD):  # a profile: nothing to grade
        return None, []
    state = GradingState.from_dict(key, stored)
    outputs = grading.handle(state, event, config)
    return state.to_dict(), outputs


def assess(key: str, stored: Mapping[str, Any] | None, event: Event,
           config: QualityConfig) -> tuple[State | None, list[Event]]:
    """The quality step for one event of worker ``key`` (``worker:<id>``)."""
    if isinstance(event, (AnswerGraded, ReviewHeld)):
        worker_id = event.worker_id
    elif isinstance(event, EventRetracted) and quality.follows(event):
        worker_id = quality.worker_of(key) or ""
    else:
        return None, []
    state = WorkerState.from_dict(worker_id, stored)
    outputs = quality.handle(state, event, config)
    return state.to_dict(), outputs


def grading_stage(config: GradingConfig) -> Stage:
    return Stage("grading", (TASKS_HITS, TASKS_ASSIGNMENTS, CONSENSUS_RESULTS,
                             ENRICHMENT_PROFILES, LINEAGE_RETRACTIONS),
                 lambda key, stored, event: grade(key, stored, event, config), config.producer)


def quality_stage(config: QualityConfig) -> Stage:
    return Stage("quality", (WORKERS_GRADES, LINEAGE_RETRACTIONS),
                 lambda key, stored, event: assess(key, stored, event, config), config.producer)
