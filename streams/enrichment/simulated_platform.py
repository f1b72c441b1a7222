"""A social platform's API played by a simulated world: true profiles behind realistic faults.

The enrichment stage must cope with what real APIs do: latency with a long tail, a rate limit
per window answered with 429 and ``Retry-After``, occasional 5xx, unknown and suspended
accounts. ``SimulatedPlatform`` does all of that over the world's true profiles, so the stage
and its resilience can be exercised, and scored, without a network.

Every random draw comes from a generator seeded with the seed, the platform, the handle and how
many requests for that handle the platform has served: outcomes do not depend on how concurrent
lookups interleave, and the same seed replays the same faults. ``time_scale`` multiplies every
duration the platform lives by (latency and the rate-limit window) so a test or demo can run a
realistic scenario faster; ``retry_after`` is reported in those scaled seconds, since that is
what the caller has to wait.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from streams.enrichment.platforms import (
    AccountUnavailable,
    ProfileLookup,
    RateLimited,
    ServerError,
)
from streams.handles import PLATFORMS
from streams.world.model import World

_SERVER_STATUSES = (500, 502, 503, 504)
# Spread of the log-normal latency around its mean: most answers near the mean, a few at 2-3x.
_LATENCY_SIGMA = 0.5


@dataclass(slots=True)
class PlatformStats:
    """Requests a simulated platform received so far, by how it answered.

    ``calls`` counts every request; each one ends as exactly one of ``ok``, ``rate_limited``,
    ``server_errors``, ``missing`` or ``suspended`` once answered (a request the caller gave up
    on while waiting, after a timeout, ends as none). ``slow`` counts the requests drawn to be
    very slow, whatever their answer.
    """

    calls: int = 0
    ok: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    missing: int = 0
    suspended: int = 0
    slow: int = 0


class SimulatedPlatform:
    """One platform's profile API over a world's true profiles.

    Parameters
    ----------
    latency:
        Mean response time in seconds (log-normal).
    rate_limit, window_seconds:
        At most ``rate_limit`` requests are served per fixed window of ``window_seconds``, as
        Twitter's 15-minute windows work; the rest get ``RateLimited`` until the window resets.
    error_rate:
        Chance that a served request fails with a 5xx.
    slow_rate, slow_factor:
        Chance that a served request takes ``slow_factor`` times its latency.
    suspended_rate:
        Share of the world's accounts that are suspended, fixed per seed and handle.
    stall_rate, stall_seconds:
        Share of handles (fixed per seed and handle) whose profile page hangs: every request
        for them takes ``stall_seconds`` before answering, as a wedged backend shard does.
    time_scale:
        Multiplies every duration (latency, window, ``retry_after``); below 1 runs faster.
    clock:
        Monotonic seconds, for the rate-limit window.
    """

    def __init__(self, world: World, platform: str, *, seed: int, latency: float = 0.15,
                 rate_limit: int = 100, window_seconds: float = 10.0, error_rate: float = 0.02,
                 slow_rate: float = 0.01, slow_factor: float = 10.0,
                 suspended_rate: float = 0.01, stall_rate: float = 0.0,
                 stall_seconds: float = 60.0, time_scale: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")
        if not all(0.0 <= rate <= 1.0
                   for rate in (error_rate, slow_rate, suspended_rate, stall_rate)):
            raise ValueError("error, slow, suspended and stall rates must be between 0 and 1")
        if rate_limit < 1 or window_seconds <= 0 or time_scale <= 0:
            raise ValueError("rate_limit, window_seconds and time_scale must be positive")
        if latency < 0 or slow_factor < 1:
            raise ValueError("latency must not be negative nor slow_factor below 1")
        self._platform = platform
        self._seed = seed
        self._latency = latency
        self._rate_limit = rate_limit
        self._window = window_seconds * time_scale
        self._error_rate = error_rate
        self._slow_rate = slow_rate
        self._slow_factor = slow_factor
        self._scale = time_scale
        self._clock = clock
        # Handles are unique per platform in a world (and case-insensitive on all three).
        self._profiles = {p.handle.lower(): p for p in world.profiles if p.platform == platform}
        self._suspended = frozenset(
            handle for handle in self._profiles
            if self._rng(handle, "suspended").random() < suspended_rate)
        self._stall_rate = stall_rate
        self._stall_seconds = stall_seconds
        self._origin = clock()
        self._window_index = 0
        self._window_used = 0
        self._served: Counter[str] = Counter()
        self._stats = PlatformStats()

    @property
    def platform(self) -> str:
        """The platform this client serves."""
        return self._platform

    @property
    def stats(self) -> PlatformStats:
        """A snapshot of the request counts so far."""
        return replace(self._stats)

    def suspended(self, handle: str) -> bool:
        """Whether ``handle`` is a suspended account here: the simulation's truth, for scoring."""
        return handle.lower() in self._suspended

    def stalls(self, handle: str) -> bool:
        """Whether every request for ``handle`` hangs for ``stall_seconds`` (for tests)."""
        return self._rng(handle.lower(), "stall").random() < self._stall_rate

    async def lookup(self, handle: str) -> ProfileLookup:
        """The account's profile, after a simulated round trip; see ``PlatformClient``."""
        key = handle.lower()
        self._stats.calls += 1
        if self.stalls(key):
            await asyncio.sleep(self._stall_seconds * self._scale)
        retry_after = self._admit()
        if retry_after is not None:
            self._stats.rate_limited += 1
            await asyncio.sleep(self._latency * self._scale)
            raise RateLimited(retry_after)
        self._served[key] += 1
        rng = self._rng(key, str(self._served[key]))
        # Always the same draws in the same order, so changing one rate leaves the others be.
        failed = rng.random() < self._error_rate
        slow = rng.random() < self._slow_rate
        status = rng.choice(_SERVER_STATUSES)
        delay = self._latency * math.exp(_LATENCY_SIGMA * rng.gauss(0.0, 1.0)
                                         - _LATENCY_SIGMA ** 2 / 2)
        if slow:
            self._stats.slow += 1
            delay *= self._slow_factor
        await asyncio.sleep(delay * self._scale)
        return self._answer(key, failed, status)

    def _answer(self, key: str, failed: bool, status: int) -> ProfileLookup:
        if failed:
            self._stats.server_errors += 1
            raise ServerError(status)
        profile = self._profiles.get(key)
        if profile is None:
            self._stats.missing += 1
            raise AccountUnavailable(self._platform, key, "missing")
        if key in self._suspended:
            self._stats.suspended += 1
            raise AccountUnavailable(self._platform, key, "suspended")
        self._stats.ok += 1
        return ProfileLookup(
            platform=profile.platform, handle=profile.handle, followers=profile.followers,
            following=profile.following, posts=profile.posts,
            avg_engagement=profile.avg_engagement, verified=profile.verified,
            category=profile.category, bio=profile.bio)

    def _admit(self) -> float | None:
        """Count a request against the current window; seconds until it resets when it is full."""
        now = self._clock()
        index = math.floor((now - self._origin) / self._window)
        if index != self._window_index:
            self._window_index = index
            self._window_used = 0
        if self._window_used < self._rate_limit:
            self._window_used += 1
            return None
        return self._origin + (index + 1) * self._window - now

    def _rng(self, handle: str, purpose: str) -> random.Random:
        return random.Random(f"crowdlog-platform|{self._seed}|{self._platform}|{handle}|{purpose}")


def simulated_clients(world: World, *, seed: int, **faults: Any) -> dict[str, SimulatedPlatform]:
    """A simulated client for each platform, all with the same ``SimulatedPlatform`` options."""
    return {platform: SimulatedPlatform(world, platform, seed=seed, **faults)
            for platform in PLATFORMS}
