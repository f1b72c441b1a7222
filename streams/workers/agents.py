"""The workers stage on Faust: grading per record, then quality and blocks per worker.

Grades are re-keyed by worker (``worker:<id>``) on ``workers.grades``, so the quality agent's
table holds each worker's statistics on the partition that worker's grades arrive on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust

from streams.events.codec import Codec
from streams.events.model import Event
from streams.settings import Settings
from streams.stage_agent import StageAgent
from streams.topics import CONSENSUS_RESULTS, TASKS_ASSIGNMENTS, TASKS_HITS, WORKERS_GRADES
from streams.workers import grading, quality
from streams.workers.grading import GradingConfig, GradingState
from streams.workers.models import AnswerGraded
from streams.workers.quality import QualityConfig, WorkerState


def attach(app: faust.App, settings: Settings, codec: Codec, grading_config: GradingConfig,
           quality_config: QualityConfig) -> tuple[StageAgent, StageAgent]:
    def grade(key: str, stored: Mapping[str, Any] | None,
              event: Event) -> tuple[dict[str, Any], list[Event]]:
        state = GradingState.from_dict(key, stored)
        outputs = grading.handle(state, event, grading_config)
        return state.to_dict(), outputs

    def assess(key: str, stored: Mapping[str, Any] | None,
               event: Event) -> tuple[dict[str, Any] | None, list[Event]]:
        if not isinstance(event, AnswerGraded):
            return None, []
        state = WorkerState.from_dict(event.worker_id, stored)
        outputs = quality.handle(state, event, quality_config)
        return state.to_dict(), outputs

    return (
        StageAgent(app, settings, codec, name="grading",
                   sources=(TASKS_HITS, TASKS_ASSIGNMENTS, CONSENSUS_RESULTS), step=grade,
                   producer=grading_config.producer),
        StageAgent(app, settings, codec, name="quality", sources=(WORKERS_GRADES,),
                   step=assess, producer=quality_config.producer),
    )
