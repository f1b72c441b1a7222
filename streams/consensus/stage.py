"""The consensus stage: HITs and assignments in, acceptances and failures out.

Worker weights come from a ``WorkerView`` kept current from ``workers.quality`` by
``streams.workers.view.QualityView``; every event of a record also reconsiders its earlier
decisions against the latest weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.consensus import core
from streams.consensus.core import ConsensusConfig, WorkerView
from streams.consensus.state import EntityState
from streams.events.model import Event
from streams.lineage.models import EventRetracted
from streams.stage import Stage, State
from streams.topics import LINEAGE_RETRACTIONS, TASKS_ASSIGNMENTS, TASKS_HITS


def consensus_stage(config: ConsensusConfig, workers: WorkerView) -> Stage:
    def step(key: str, stored: Mapping[str, Any] | None,
             event: Event) -> tuple[State | None, list[Event]]:
        if isinstance(event, EventRetracted) and not core.follows(event):
            return None, []  # a grade, profile or prediction: no state read or write
        state = EntityState.from_dict(key, stored)
        outputs: list[Event] = [*core.handle(state, event, workers, config),
                                *core.reconsider(state, workers, config)]
        return state.to_dict(), outputs

    return Stage("consensus", (TASKS_HITS, TASKS_ASSIGNMENTS, LINEAGE_RETRACTIONS), step,
                 config.producer)
