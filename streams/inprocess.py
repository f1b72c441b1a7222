"""Runs stage declarations in one process over an in-memory log: the reference run and tests.

Why: the in-process run is the baseline the broker runs are compared with, so it must route
events exactly as the broker does. It reads the same declarations (``streams.stage.Stage``) as
``streams.runner``, never a wiring of its own, so a routing change moves both or neither.

* Routing: an event goes to every stage whose ``sources`` hold its topic, found as the producer
  finds it (``topics.spec_for``), in the order the stages were given. ``lineage.retractions``
  is a topic like any other: with the lineage stage among the stages, a ``RedactionRequested``
  fed in retracts and the stages re-derive as on the broker.
* State: keyed by ``stage.state_key``, kept as the JSON value the step returned, as the Kafka
  runner keeps it between restores. With ``through_json`` each new state goes through JSON
  first, as through the changelog, so every step runs on a state as a restarted worker would
  restore it; that doubles the cost of a crowd run, so tests ask for it.
* Order: first in, first out. ``feed`` returns once its event and everything it caused are
  handled, so an event fully propagates before the next external input.
* Events a stage produces beside its step (``send``; a fetch's outcome) are logged right after
  that step's outputs.
* Time is event time: ``now`` is the time of the event in hand (or the last one), so a stage's
  clock in process gives the same run every time.
* Ticks run only when the caller calls ``tick``: when time passes is the caller's to say (the
  reference run calls none, see ``streams.simulation.local``).
* A step that raises stops the run: no dead letters here, a test wants to see the error.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import datetime

from streams.events.model import Event
from streams.stage import Stage, State
from streams.topics import spec_for


class InProcessRunner:
    """Executes ``stages`` over an in-memory log; ``log`` is every event, in order."""

    def __init__(self, stages: Sequence[Stage], *, through_json: bool = False) -> None:
        self._stages = tuple(stages)
        self._through_json = through_json
        self._readers: dict[str, list[Stage]] = {}
        for stage in self._stages:
            for spec in stage.sources:
                self._readers.setdefault(spec.name, []).append(stage)
        self._routes: dict[type[Event], list[Stage]] = {}
        self._states: dict[str, dict[str, State]] = {stage.name: {} for stage in self._stages}
        self._queue: deque[Event] = deque()
        self._beside: list[Event] = []
        self._now: datetime | None = None
        self.log: list[Event] = []

    def feed(self, event: Event) -> list[Event]:
        """Handle an external input and all it causes; the events this logged, in order."""
        self._queue.append(event)
        return self._drain()

    def send(self, event: Event) -> None:
        """An event produced beside a step: logged after the outputs of the step in hand, or,
        between steps, by the next ``feed`` or ``tick``."""
        self._beside.append(event)

    def tick(self) -> list[Event]:
        """Call every stage's tick once with its states; the events that caused."""
        for stage in self._stages:
            if stage.tick is not None:
                stage.tick(list(self.states(stage.name).items()))
        return self._drain()

    def now(self) -> datetime:
        """The time of the event in hand, or of the last one handled."""
        if self._now is None:
            raise LookupError("no event handled yet: in process, time is event time")
        return self._now

    def states(self, stage: str) -> Mapping[str, State]:
        """Every key's state of ``stage``, live: a key's value is replaced (never changed in
        place) each time its state changes."""
        return self._states[stage]

    def _drain(self) -> list[Event]:
        start = len(self.log)
        self._queue.extend(self._beside)
        self._beside.clear()
        while self._queue:
            event = self._queue.popleft()
            self.log.append(event)
            self._now = event.meta.occurred_at
            for stage in self._route(event):
                self._step(stage, event)
        return self.log[start:]

    def _route(self, event: Event) -> list[Stage]:
        kind = type(event)
        if kind not in self._routes:
            self._routes[kind] = self._readers.get(spec_for(kind).name, [])
        return self._routes[kind]

    def _step(self, stage: Stage, event: Event) -> None:
        states = self._states[stage.name]
        key = stage.state_key(event)
        state, outputs = stage.step(key, states.get(key), event)
        if state is not None:
            states[key] = json.loads(json.dumps(state)) if self._through_json else state
        self._queue.extend(outputs)
        self._queue.extend(self._beside)
        self._beside.clear()
