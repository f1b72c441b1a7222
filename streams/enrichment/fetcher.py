"""Profile fetches run beside the stage, never inside it.

The enrichment agent hands each ``FetchRequest`` to :class:`Fetcher`, which starts it as its own
asyncio task and returns at once, so a slow or rate-limited platform never holds the agent's
partitions: other records keep flowing while the fetch waits, retries and backs off in the
client layer. The outcome becomes an event (``core.fetched``) sent to the stage's own topic;
the agent reads it back and only then does the state change. A fetch lost in a crash stays
pending in the state and is re-issued by the stage's timer (``core.due``).

A fetch serving a retracted acceptance or refreshing a retracted profile is cancelled
(:meth:`Fetcher.cancel`): its result would be ignored anyway, and sent late it could land on the
log after the profile of the acceptance that replaced it, where readers that take the latest
profile per platform would pick the withdrawn one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.enrichment.core import EnrichmentConfig, FetchRequest, fetched
from streams.enrichment.resilient import ResilientClient
from streams.events.model import Event

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FetchStats:
    """Fetches started, finished and still in flight."""

    started: int = 0
    finished: int = 0
    failed: int = 0  # crashed unexpectedly; left pending for the timer to re-issue
    cancelled: int = 0  # their acceptance or superseded profile was retracted


class Fetcher:
    """Runs fetch requests concurrently, at most ``concurrency`` at a time.

    A request already in flight (the same request: record, platform, acceptance, fetch number
    and superseded profile, i.e. the same resulting event id) is not started twice, so the timer
    may re-issue freely; a new acceptance's first fetch or a fetch asked again after a
    retraction differs in acceptance or superseded profile and runs even beside an old one.
    """

    def __init__(self, clients: Mapping[str, ResilientClient],
                 send: Callable[[Event], Awaitable[None]], config: EnrichmentConfig, *,
                 concurrency: int = 64,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clients = clients
        self._send = send
        self._config = config
        self._clock = clock
        self._slots = asyncio.Semaphore(concurrency)  # bound to the running loop on first use
        self._inflight: dict[FetchRequest, asyncio.Task[None]] = {}
        # Fetches whose event is sent but maybe not yet read back into the state.
        self._sent: dict[FetchRequest, datetime] = {}
        self.stats = FetchStats()

    def submit(self, request: FetchRequest) -> None:
        """Start fetching ``request`` in the background; return at once."""
        if (request in self._inflight or request in self._sent
                or request.platform not in self._clients):
            return
        task = asyncio.get_running_loop().create_task(self._fetch(request))
        self._inflight[request] = task
        task.add_done_callback(lambda _task: self._inflight.pop(request, None))
        self.stats.started += 1

    def cancel(self, entity_id: str, retracted_id: str) -> int:
        """Cancel the record's fetches in flight for a retracted acceptance or profile.

        Returns how many were cancelled; one already sent is left alone (the state ignores it).
        """
        doomed = [task for request, task in self._inflight.items()
                  if request.entity_id == entity_id
                  and retracted_id in (request.acceptance_id, request.supersedes)]
        for task in doomed:
            task.cancel()
        self.stats.cancelled += len(doomed)
        return len(doomed)

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    def forget_sent(self, before: datetime) -> None:
        """Stop remembering fetches sent before ``before``: by then the state knows them."""
        for key in [k for k, at in self._sent.items() if at < before]:
            del self._sent[key]

    async def drain(self) -> None:
        """Wait for every fetch in flight (tests and orderly shutdowns)."""
        while self._inflight:
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)

    async def _fetch(self, request: FetchRequest) -> None:
        try:
            async with self._slots:
                outcome, attempts = await self._clients[request.platform].attempt(
                    request.handle)
            event = fetched(request, outcome, attempts=attempts, at=self._clock(),
                            config=self._config)
            await self._send(event)
            self._sent[request] = self._clock()
            self.stats.finished += 1
        except Exception:  # the request stays pending in the state; the timer retries it
            self.stats.failed += 1
            log.exception("fetch of %s %s failed", request.platform, request.handle)
