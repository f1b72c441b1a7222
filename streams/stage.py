"""A stage, declared once: what it reads, how it keys its state, its pure step, what it emits.

A declaration holds no Kafka client and imports no runner: ``streams.runner`` executes any set
of them on the broker, and anything that can feed events in order (a test, an in-process run)
can call ``step`` directly. The step is the stage's pure core seen from outside:

    step(key, stored_state_or_None, event) -> (new_state_or_None, events_to_emit)

``None`` as the new state leaves the stored state untouched (most retractions are about events
the stage keeps nothing of, so neither a read nor a write is needed). States are plain JSON
values: the runner keeps them in a compacted changelog topic, keyed like the input, so a
restarted or rebalanced worker restores exactly the state of the partitions it is given.

A stage whose work goes on between events (enrichment re-issues lost fetches and refreshes old
profiles) declares a ``tick``: the runner calls it every ``tick_interval`` seconds with the
states of the partitions it holds.

A ``whole_log`` stage (lineage) follows events across entities and topics: one process reads
its sources whole, so they need not be co-partitioned, and it keeps its state itself (rebuilt
from the log when it starts, as ``streams.lineage.service`` does), its step returning ``None``
as the state. A partitioned runner cannot run it: ``partitions`` refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streams.events.model import Event, Producer
from streams.topics import TopicSpec

State = dict[str, Any]
Step = Callable[[str, Mapping[str, Any] | None, Event], tuple[State | None, Sequence[Event]]]
Tick = Callable[[Iterable[tuple[str, Mapping[str, Any]]]], None]


def by_entity(event: Event) -> str:
    """The default state key: the event's entity, which is also its Kafka key."""
    return event.entity_id


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline, as every runner reads it.

    ``sources`` must be co-partitioned (the same partition count, keyed alike): the state of a
    key lives on the partition its events arrive on, in every source. Unless ``whole_log``.
    """

    name: str
    sources: tuple[TopicSpec, ...]
    step: Step
    producer: Producer
    state_key: Callable[[Event], str] = by_entity
    tick: Tick | None = None
    tick_interval: float = 10.0
    whole_log: bool = False

    def __post_init__(self) -> None:
        if self.whole_log:
            return
        counts = {spec.partitions for spec in self.sources}
        if len(counts) != 1:
            raise ValueError(f"{self.name}: sources must be co-partitioned, got {counts}")

    @property
    def partitions(self) -> int:
        if self.whole_log:
            raise ValueError(f"{self.name} reads the whole log in one process: it has no "
                             "partitions to spread over a group")
        return self.sources[0].partitions

    def changelog(self, app_id: str) -> str:
        """The compacted topic the stage's state is kept in (the name Faust gave it before)."""
        return f"{app_id}-{self.name}-state-changelog"
