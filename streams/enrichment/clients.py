"""Which platform clients the enrichment stage uses, and how hard they are to talk to.

The simulated platforms (``SimulatedPlatform``, backed by a world's profiles) are the default:
no real API client exists yet. Their faults and the resilient client's patience come from the
environment, so a test or demo can make the platforms slow, rate-limited and flaky.

``CROWDLOG_WORLD_DIR``             the world the simulated platforms serve (no enrichment without)
``CROWDLOG_PLATFORM_LATENCY``      mean seconds per request (default 0.05)
``CROWDLOG_PLATFORM_RATE_LIMIT``   requests per 10-second window per platform (default 500)
``CROWDLOG_PLATFORM_ERROR_RATE``   share of requests answered 5xx (default 0.02)
``CROWDLOG_PLATFORM_SLOW_RATE``    share of requests ten times slower (default 0.01)
``CROWDLOG_PLATFORM_STALL_RATE``   share of handles whose every request hangs (default 0)
``CROWDLOG_PLATFORM_STALL_SECONDS`` how long such a request hangs (default 60)
``CROWDLOG_FETCH_ATTEMPTS``        attempts per profile before "unreachable" (default 6)
``CROWDLOG_FETCH_TIMEOUT``         seconds one attempt may take (default 5)
``CROWDLOG_FETCH_RATE``            client-side requests per second per platform (default 45)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from streams.enrichment.resilient import ResilientClient
from streams.enrichment.simulated_platform import SimulatedPlatform, simulated_clients
from streams.world.files import load_world


@dataclass(frozen=True)
class PlatformConfig:
    """The simulated platforms' faults and the client's retry policy."""

    world_dir: Path
    latency: float = 0.05
    rate_limit: int = 500
    error_rate: float = 0.02
    slow_rate: float = 0.01
    stall_rate: float = 0.0
    stall_seconds: float = 60.0
    attempts: int = 6
    timeout: float = 5.0
    rate: float = 45.0
    seed: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PlatformConfig | None:
        env = os.environ if env is None else env
        world_dir = env.get("CROWDLOG_WORLD_DIR")
        if not world_dir:
            return None
        return cls(Path(world_dir),
                   latency=float(env.get("CROWDLOG_PLATFORM_LATENCY", "0.05")),
                   rate_limit=int(env.get("CROWDLOG_PLATFORM_RATE_LIMIT", "500")),
                   error_rate=float(env.get("CROWDLOG_PLATFORM_ERROR_RATE", "0.02")),
                   slow_rate=float(env.get("CROWDLOG_PLATFORM_SLOW_RATE", "0.01")),
                   stall_rate=float(env.get("CROWDLOG_PLATFORM_STALL_RATE", "0")),
                   stall_seconds=float(env.get("CROWDLOG_PLATFORM_STALL_SECONDS", "60")),
                   attempts=int(env.get("CROWDLOG_FETCH_ATTEMPTS", "6")),
                   timeout=float(env.get("CROWDLOG_FETCH_TIMEOUT", "5")),
                   rate=float(env.get("CROWDLOG_FETCH_RATE", "45")))

    def platforms(self) -> dict[str, SimulatedPlatform]:
        """The simulated platforms with these faults (tests ask them which handles stall)."""
        return simulated_clients(load_world(self.world_dir), seed=self.seed,
                                 latency=self.latency, rate_limit=self.rate_limit,
                                 error_rate=self.error_rate, slow_rate=self.slow_rate,
                                 stall_rate=self.stall_rate, stall_seconds=self.stall_seconds)

    def clients(self) -> dict[str, ResilientClient]:
        """One resilient client per platform, each over its simulated platform."""
        platforms = self.platforms()
        return {name: ResilientClient(platform, max_attempts=self.attempts,
                                      timeout=self.timeout, rate=self.rate, burst=5,
                                      seed=self.seed)
                for name, platform in platforms.items()}
