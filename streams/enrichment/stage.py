"""The enrichment stage: acceptances in, profiles, unavailable accounts and rejections out.

The stage reads records, consensus results, its own ``enrichment.profiles`` (the state learns a
profile when it reads it back) and ``lineage.retractions`` (keyed by the retracted event's
entity, so co-partitioned with the rest). Fetches run on a ``Fetcher`` on its own asyncio loop
(``FetchLoop``), never in the stage's loop: a slow platform holds no partition. The stage's
tick re-issues lost fetches and refreshes stale profiles; a retraction cancels the fetches in
flight that it makes void.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from streams.enrichment import core
from streams.enrichment.core import EnrichmentConfig, EnrichmentState, FetchRequest
from streams.enrichment.fetcher import Fetcher
from streams.enrichment.resilient import ResilientClient
from streams.events.model import Event
from streams.lineage.models import EventRetracted
from streams.stage import Stage, State
from streams.topics import (
    CONSENSUS_RESULTS,
    ENRICHMENT_PROFILES,
    LINEAGE_RETRACTIONS,
    RECORDS_RECEIVED,
)


class Fetches(Protocol):
    """Where the step's fetch requests go, and what time it is for the stage."""

    def submit(self, request: FetchRequest) -> None: ...

    def cancel(self, entity_id: str, retracted_id: str) -> None: ...

    def forget_sent(self, before: datetime) -> None: ...

    def now(self) -> datetime: ...


class FetchLoop:
    """A ``Fetcher`` on an asyncio loop of its own thread; ``call`` hands it work from any
    thread. Each fetch's outcome is passed to ``send`` (on the loop's thread)."""

    def __init__(self, clients: Mapping[str, ResilientClient], config: EnrichmentConfig,
                 send: Callable[[Event], None], *, concurrency: int = 64) -> None:
        async def send_async(event: Event) -> None:
            send(event)

        self.fetcher = Fetcher(clients, send_async, config, concurrency=concurrency)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="enrichment-fetches")

    def call(self, function: Callable[..., Any], *args: Any) -> None:
        self._loop.call_soon_threadsafe(function, *args)

    def submit(self, request: FetchRequest) -> None:
        self.call(self.fetcher.submit, request)

    def cancel(self, entity_id: str, retracted_id: str) -> None:
        self.call(self.fetcher.cancel, entity_id, retracted_id)

    def forget_sent(self, before: datetime) -> None:
        self.call(self.fetcher.forget_sent, before)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __enter__(self) -> FetchLoop:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        """Let the fetches in flight finish (a lost one is re-issued by the next worker's
        tick anyway), then stop the loop."""
        done = asyncio.run_coroutine_threadsafe(self.fetcher.drain(), self._loop)
        try:
            done.result(timeout=10)
        except TimeoutError:
            done.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def enrichment_stage(config: EnrichmentConfig, fetches: Fetches) -> Stage:
    def step(key: str, stored: Mapping[str, Any] | None,
             event: Event) -> tuple[State | None, list[Event]]:
        if isinstance(event, EventRetracted):
            if not core.follows(event):
                return None, []  # most retractions (HITs, answers, workers) are not ours
            fetches.cancel(key, event.retracted_id)
        state = EnrichmentState.from_dict(stored)
        outputs, requests = core.handle(state, event, config, fetches.now())
        for request in requests:
            fetches.submit(request)
        return state.to_dict(), outputs

    def sweep(states: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Re-issue lost fetches and refresh profiles older than ``max_age``."""
        now = fetches.now()
        fetches.forget_sent(now - config.pending_timeout)
        for key, stored in states:
            for request in core.due(EnrichmentState.from_dict(stored), key, now, config):
                fetches.submit(request)

    return Stage("enrichment", (RECORDS_RECEIVED, CONSENSUS_RESULTS, ENRICHMENT_PROFILES,
                                LINEAGE_RETRACTIONS), step, config.producer, tick=sweep)
