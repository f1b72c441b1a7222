"""The prediction stage, declared: records, profiles, outcomes and retractions in; predictions
and model evaluations out.

The model is global (every outcome teaches it about every athlete, in one order:
``prediction.outcomes`` has one partition), so, like lineage, this is a ``whole_log`` stage:
one process reads every partition, and the declaration holds its state itself, the
``PredictionState`` the caller hands it. The in-process runner executes the declaration as it
executes the crowd stages; ``crowdlog predict`` (``streams.prediction.service``) reads the same
declaration in a loop of its own, because its state is a River model kept as signed snapshots
and rebuilt without retracted outcomes, not a changelog of keyed states.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.events.model import Event
from streams.prediction.core import STAGE, PredictionConfig, PredictionState, handle
from streams.stage import Stage, State
from streams.topics import (
    ENRICHMENT_PROFILES,
    LINEAGE_RETRACTIONS,
    PREDICTION_OUTCOMES,
    RECORDS_RECEIVED,
    TopicSpec,
)

SOURCES: tuple[TopicSpec, ...] = (RECORDS_RECEIVED, ENRICHMENT_PROFILES, PREDICTION_OUTCOMES,
                                  LINEAGE_RETRACTIONS)


def prediction_stage(state: PredictionState, config: PredictionConfig) -> Stage:
    """The stage over ``state`` (fresh, or restored from a snapshot): feed it the log from the
    position the state reflects."""

    def step(_key: str, _stored: Mapping[str, Any] | None,
             event: Event) -> tuple[State | None, list[Event]]:
        return None, handle(state, event, config)

    return Stage(STAGE, SOURCES, step, config.producer, state_key=lambda _event: STAGE,
                 whole_log=True)
