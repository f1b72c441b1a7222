"""The tasks stage on Faust: records, decisions and rejections in, HITs and their fate out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import faust

from streams.events.codec import Codec
from streams.events.model import Event
from streams.lineage.models import EventRetracted
from streams.settings import Settings
from streams.stage_agent import StageAgent
from streams.tasks import core
from streams.tasks.core import GoldItem, TaskConfig, TaskState
from streams.topics import (
    CONSENSUS_RESULTS,
    ENRICHMENT_PROFILES,
    LINEAGE_RETRACTIONS,
    RECORDS_RECEIVED,
)


def attach(app: faust.App, settings: Settings, codec: Codec, config: TaskConfig,
           gold: Sequence[GoldItem]) -> StageAgent:
    def step(_key: str, stored: Mapping[str, Any] | None,
             event: Event) -> tuple[dict[str, Any] | None, list[Event]]:
        if isinstance(event, EventRetracted) and not core.follows(event):
            return None, []  # an answer, grade or profile: no table read or write
        state = TaskState.from_dict(stored)
        outputs = core.handle(state, event, config, gold)
        return state.to_dict(), outputs

    return StageAgent(app, settings, codec, name="tasks",
                      sources=(RECORDS_RECEIVED, CONSENSUS_RESULTS, ENRICHMENT_PROFILES,
                               LINEAGE_RETRACTIONS),
                      step=step, producer=config.producer)
