"""The workers stage on Faust: grading per record, then quality and blocks per worker.

Grades are re-keyed by worker (``worker:<id>``) on ``workers.grades``, so the quality agent's
table holds each worker's statistics on the partition that worker's grades arrive on.

Both agents also read ``lineage.retractions``, keyed by the retracted event's entity: a
retracted HIT, assignment, acceptance, expiry or review reaches the grading state of its record,
and a retracted grade, estimate or block (all keyed ``worker:<id>``) the quality state of its
worker. Each step leaves its table alone for the retractions the other one follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust

from streams.events.codec import Codec
from streams.events.model import Event
from streams.lineage.models import EventRetracted
from streams.settings import Settings
from streams.stage_agent import StageAgent
from streams.topics import (
    CONSENSUS_RESULTS,
    LINEAGE_RETRACTIONS,
    TASKS_ASSIGNMENTS,
    TASKS_HITS,
    WORKERS_GRADES,
)
from streams.workers import grading, quality
from streams.workers.grading import GradingConfig, GradingState
from streams.workers.models import AnswerGraded
from streams.workers.quality import QualityConfig, WorkerState


def grade(key: str, stored: Mapping[str, Any] | None, event: Event,
          config: GradingConfig) -> tuple[dict[str, Any] | None, list[Event]]:
    """The grading step for one event of record ``key``."""
    if isinstance(event, EventRetracted) and not grading.follows(event):
        return None, []
    state = GradingState.from_dict(key, stored)
    outputs = grading.handle(state, event, config)
    return state.to_dict(), outputs


def assess(key: str, stored: Mapping[str, Any] | None, event: Event,
           config: QualityConfig) -> tuple[dict[str, Any] | None, list[Event]]:
    """The quality step for one event of worker ``key`` (``worker:<id>``)."""
    if isinstance(event, AnswerGraded):
        worker_id = event.worker_id
    elif isinstance(event, EventRetracted) and quality.follows(event):
        worker_id = quality.worker_of(key) or ""
    else:
        return None, []
    state = WorkerState.from_dict(worker_id, stored)
    outputs = quality.handle(state, event, config)
    return state.to_dict(), outputs


def attach(app: faust.App, settings: Settings, codec: Codec, grading_config: GradingConfig,
           quality_config: QualityConfig) -> tuple[StageAgent, StageAgent]:
    return (
        StageAgent(app, settings, codec, name="grading",
                   sources=(TASKS_HITS, TASKS_ASSIGNMENTS, CONSENSUS_RESULTS,
                            LINEAGE_RETRACTIONS),
                   step=lambda key, stored, event: grade(key, stored, event, grading_config),
                   producer=grading_config.producer),
        StageAgent(app, settings, codec, name="quality",
                   sources=(WORKERS_GRADES, LINEAGE_RETRACTIONS),
                   step=lambda key, stored, event: assess(key, stored, event, quality_config),
                   producer=quality_config.producer),
    )
