"""Platform lookups that survive real APIs: client-side rate limiting, timeouts and retries.

``ResilientClient`` wraps any ``PlatformClient``. It spaces requests with a token bucket so the
platform's own limit is rarely hit, bounds every attempt with a timeout (a hung connection must
not stall a handle forever), and retries transient failures with exponential backoff and full
jitter, so handles that failed together do not retry together. A 429's ``Retry-After`` is
honoured, and also pauses the bucket: the platform limits the whole application, so every other
request sent before then would be refused too. ``AccountUnavailable`` is an answer, not a
failure, and passes straight through. When attempts run out, ``LookupGaveUp`` lets the caller
record the profile as unreachable.

Lookups hold no locks: each handle's attempts and waits are its own, and handles only meet in
the shared bucket. Backoff jitter is drawn from a generator seeded with the seed, the handle and
the attempt, so it does not depend on how concurrent lookups interleave.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from streams.enrichment.platforms import (
    AccountUnavailable,
    LookupGaveUp,
    PlatformClient,
    ProfileLookup,
    RateLimited,
    TransientPlatformError,
)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
# What a lookup comes to once retrying is over: a profile, or why there is none.
Outcome = ProfileLookup | AccountUnavailable | LookupGaveUp


class TokenBucket:
    """At most ``capacity`` requests at once, then ``rate`` per second, for concurrent callers.

    Each ``acquire`` reserves the next free slot on a timeline (the GCRA form of a token bucket)
    and sleeps until it, so callers never wait on one another's sleeps and no lock is needed.
    """

    def __init__(self, rate: float, *, capacity: int = 1, sleep: Sleep = asyncio.sleep,
                 clock: Clock = time.monotonic) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be positive and capacity at least 1")
        self._interval = 1.0 / rate
        self._tolerance = (capacity - 1) * self._interval
        self._sleep = sleep
        self._clock = clock
        self._next = clock()  # when the next request would find the bucket just empty
        self._holds = 0

    async def acquire(self) -> None:
        """Wait for a token."""
        while True:
            holds = self._holds
            now = self._clock()
            start = max(now, self._next - self._tolerance)
            self._next = max(self._next, now) + self._interval
            if start > now:
                await self._sleep(start - now)
            if holds == self._holds:
                return
            # A hold came while we slept: our slot may lie inside it, so take a later one.

    def hold(self, seconds: float) -> None:
        """Hand out no token for ``seconds``, then resume at ``rate`` without a burst."""
        self._next = max(self._next, self._clock() + seconds + self._tolerance)
        self._holds += 1


@dataclass(slots=True)
class ResilienceStats:
    """What the lookups through one ``ResilientClient`` have taken so far.

    ``attempts`` counts calls to the platform; ``retries`` the waits before another attempt.
    ``timeouts``, ``rate_limited`` (429s) and ``errors`` (5xx and other transient failures)
    count failed attempts by cause; ``unavailable`` lookups got a definite missing or suspended
    answer and ``gave_up`` lookups ran out of attempts.
    """

    lookups: int = 0
    attempts: int = 0
    retries: int = 0
    timeouts: int = 0
    rate_limited: int = 0
    errors: int = 0
    unavailable: int = 0
    gave_up: int = 0


class ResilientClient:
    """A ``PlatformClient`` that retries another one's transient failures.

    Parameters
    ----------
    max_attempts:
        Failed attempts (5xx, timeouts) per lookup before ``LookupGaveUp``.
    max_throttled:
        429s tolerated per lookup on top of those: a 429 is the platform pacing us, not
        failing, so waiting it out does not use up an attempt, but a platform that refuses for
        ever must still end in ``LookupGaveUp`` rather than a lookup that never returns.
    base_delay, max_delay:
        Before attempt ``n + 1`` it waits a uniform random time up to
        ``min(max_delay, base_delay * 2 ** (n - 1))`` (full jitter); after a 429 it waits the
        ``retry_after`` plus that, so the refused handles do not all return at the same instant.
    timeout:
        Seconds one attempt may take; a slower one is abandoned and counts as a failure.
    rate, burst:
        Client-side limit, in requests per second with bursts of up to ``burst``; None sends
        requests as they come.
    seed:
        Seed of the backoff jitter.
    sleep, clock:
        How to wait and what time it is; tests inject fakes to check the waits.
    """

    def __init__(self, inner: PlatformClient, *, max_attempts: int = 5, max_throttled: int = 20,
                 base_delay: float = 0.5,
                 max_delay: float = 30.0, timeout: float = 10.0, rate: float | None = None,
                 burst: int = 1, seed: int = 0, sleep: Sleep = asyncio.sleep,
                 clock: Clock = time.monotonic) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if base_delay < 0 or max_delay < base_delay or timeout <= 0:
            raise ValueError("need 0 <= base_delay <= max_delay and a positive timeout")
        self._inner = inner
        self._max_attempts = max_attempts
        self._max_throttled = max_throttled
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._timeout = timeout
        self._seed = seed
        self._sleep = sleep
        self._bucket = (None if rate is None
                        else TokenBucket(rate, capacity=burst, sleep=sleep, clock=clock))
        self._stats = ResilienceStats()

    @property
    def platform(self) -> str:
        """The wrapped client's platform."""
        return self._inner.platform

    @property
    def stats(self) -> ResilienceStats:
        """A snapshot of the counters so far."""
        return replace(self._stats)

    async def lookup(self, handle: str) -> ProfileLookup:
        """The profile, after as many attempts as it takes up to ``max_attempts``.

        Raises ``AccountUnavailable`` as soon as the platform gives it and ``LookupGaveUp``
        when every attempt failed transiently.
        """
        outcome, _attempts = await self.attempt(handle)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def attempt(self, handle: str) -> tuple[Outcome, int]:
        """Like ``lookup``, but the definite outcome is returned with the attempts it took.

        The enrichment stage records both (a profile, or why there is none) as an event.
        """
        self._stats.lookups += 1
        last_error = ""
        failures = throttled = 0
        while True:
            if self._bucket is not None:
                await self._bucket.acquire()
            self._stats.attempts += 1
            requests = failures + throttled + 1
            try:
                return (await asyncio.wait_for(self._inner.lookup(handle), self._timeout),
                        requests)
            except AccountUnavailable as unavailable:
                self._stats.unavailable += 1
                return unavailable, requests
            except TransientPlatformError as error:
                last_error = str(error)
                floor = self._failed(error)
                if isinstance(error, RateLimited):
                    throttled += 1
                else:
                    failures += 1
            except TimeoutError:
                self._stats.timeouts += 1
                last_error = f"no answer within {self._timeout}s"
                floor = 0.0
                failures += 1
            if failures >= self._max_attempts or throttled > self._max_throttled:
                self._stats.gave_up += 1
                return LookupGaveUp(self.platform, handle, requests, last_error), requests
            self._stats.retries += 1
            await self._sleep(floor + self._backoff(handle, max(1, failures)))

    def _failed(self, error: TransientPlatformError) -> float:
        """Count a transient failure; the least wait it demands before the next attempt."""
        if not isinstance(error, RateLimited):
            self._stats.errors += 1
            return 0.0
        self._stats.rate_limited += 1
        if self._bucket is not None:
            self._bucket.hold(error.retry_after)
        return error.retry_after

    def _backoff(self, handle: str, attempt: int) -> float:
        cap = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
        rng = random.Random(f"crowdlog-backoff|{self._seed}|{self.platform}|{handle}|{attempt}")
        return rng.uniform(0.0, cap)
