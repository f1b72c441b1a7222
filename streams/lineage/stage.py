"""The lineage stage, declared: every topic of the log in, retractions and redactions out.

Lineage is global (a redaction reaches across entities, stages and topics), so its state is
the whole graph: one state for the whole log. Written out after every event, as a changelog
would, it would cost more than all the stages' work; so the declaration keeps the state itself,
as ``streams.lineage.service`` does (which rebuilds it from the log on every start). It is a
``whole_log`` stage: one process reads every partition, and the step returns no state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.events.model import Event
from streams.lineage.core import LineageConfig, LineageState, observe
from streams.stage import Stage, State
from streams.topics import CATALOGUE, DEADLETTER, TopicSpec

# Dead letters are not events of the pipeline: nothing derives from them.
SOURCES: tuple[TopicSpec, ...] = tuple(spec for spec in CATALOGUE if spec is not DEADLETTER)


def lineage_stage(config: LineageConfig) -> Stage:
    """A lineage stage with a graph of its own, empty: feed it the log from the beginning."""
    state = LineageState()

    def step(_key: str, _stored: Mapping[str, Any] | None,
             event: Event) -> tuple[State | None, list[Event]]:
        return None, observe(state, event, config)

    return Stage("lineage", SOURCES, step, config.producer, state_key=lambda _event: "lineage",
                 whole_log=True)
