"""The tasks stage: records, decisions and rejections in, HITs and their fate out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from streams.events.model import Event
from streams.lineage.models import EventRetracted
from streams.stage import Stage, State
from streams.tasks import core
from streams.tasks.core import GoldItem, TaskConfig, TaskState
from streams.topics import (
    CONSENSUS_RESULTS,
    ENRICHMENT_PROFILES,
    LINEAGE_RETRACTIONS,
    RECORDS_RECEIVED,
)


def tasks_stage(config: TaskConfig, gold: Sequence[GoldItem]) -> Stage:
    def step(_key: str, stored: Mapping[str, Any] | None,
             event: Event) -> tuple[State | None, list[Event]]:
        if isinstance(event, EventRetracted) and not core.follows(event):
            return None, []  # an answer, grade or profile: no state read or write
        state = TaskState.from_dict(stored)
        outputs = core.handle(state, event, config, gold)
        return state.to_dict(), outputs

    return Stage("tasks", (RECORDS_RECEIVED, CONSENSUS_RESULTS, ENRICHMENT_PROFILES,
                           LINEAGE_RETRACTIONS), step, config.producer)
