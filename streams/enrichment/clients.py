"""Which platform clients the enrichment stage uses, and how hard they are to talk to.

Each platform is served by its real API client (``x_api``, ``instagram``, ``facebook``) or by
the simulated one (``SimulatedPlatform``, backed by a world's profiles), the default, so
``make demo`` and the tests need no account anywhere. The simulated platforms' faults and the
resilient client's patience come from the environment, so a test or demo can make the
platforms slow, rate-limited and flaky. A real platform without its credentials, or a
simulated one without a world, is refused when the configuration is read, naming the
variable, never at the first lookup. Tokens are held as ``Secret`` (``***`` in any repr).

``CROWDLOG_PLATFORM_X``, ``_INSTAGRAM``, ``_FACEBOOK``  ``real`` or ``simulated`` (default)
``CROWDLOG_X_BEARER_TOKEN``        X API app-only bearer token (or ``..._FILE``), for X real
``CROWDLOG_META_ACCESS_TOKEN``     Graph API access token (or ``..._FILE``), for Instagram and
                                   Facebook real
``CROWDLOG_INSTAGRAM_USER_ID``     our Instagram business or creator account's id, which
                                   business discovery runs as
``CROWDLOG_META_GRAPH_VERSION``    Graph API version (default v23.0)
``CROWDLOG_FETCH_RATE_X``, ``_INSTAGRAM``, ``_FACEBOOK``  a real platform's requests per second
                                   (defaults in ``REAL_RATES``)
``CROWDLOG_WORLD_DIR``             the world the simulated platforms serve; without it and with
                                   no real platform, no enrichment
``CROWDLOG_PLATFORM_LATENCY``      mean seconds per request (default 0.05)
``CROWDLOG_PLATFORM_RATE_LIMIT``   requests per 10-second window per platform (default 500)
``CROWDLOG_PLATFORM_ERROR_RATE``   share of requests answered 5xx (default 0.02)
``CROWDLOG_PLATFORM_SLOW_RATE``    share of requests ten times slower (default 0.01)
``CROWDLOG_PLATFORM_STALL_RATE``   share of handles whose every request hangs (default 0)
``CROWDLOG_PLATFORM_STALL_SECONDS`` how long such a request hangs (default 60)
``CROWDLOG_FETCH_ATTEMPTS``        attempts per profile before "unreachable" (default 6)
``CROWDLOG_FETCH_TIMEOUT``         seconds one attempt may take (default 5)
``CROWDLOG_FETCH_RATE``            client-side requests per second per simulated platform
                                   (default 45)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from streams.enrichment.facebook import FacebookClient
from streams.enrichment.graph_api import GRAPH_VERSION, GraphApi
from streams.enrichment.instagram import InstagramClient
from streams.enrichment.platforms import PlatformClient
from streams.enrichment.resilient import ResilientClient
from streams.enrichment.simulated_platform import SimulatedPlatform, simulated_clients
from streams.enrichment.x_api import XClient
from streams.handles import PLATFORMS
from streams.settings import Secret, secret_from_env
from streams.world.files import load_world

# The variables' names for each platform (X keeps Twitter's name inside crowdlog).
NAMES = {"twitter": "X", "instagram": "INSTAGRAM", "facebook": "FACEBOOK"}
# Requests per second a real client sends at most, by default: X's user lookup allows 300
# per 15 minutes per app (Pro tier); Meta's Platform Rate Limit allows 200 calls per hour per
# user of the app, and a Business Use Case limit may allow more: set your app's figure.
REAL_RATES = {"twitter": 300 / 900, "instagram": 200 / 3600, "facebook": 200 / 3600}


@dataclass(frozen=True)
class RealApis:
    """The platforms served by their real APIs, and what those clients need."""

    platforms: frozenset[str] = frozenset()
    x_token: Secret | None = None
    meta_token: Secret | None = None
    instagram_user_id: str = ""
    graph_version: str = GRAPH_VERSION
    rates: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RealApis:
        """The real platforms ``CROWDLOG_PLATFORM_<NAME>`` asks for; ValueError naming the
        variable when one is not ``real`` or ``simulated`` or a real one lacks credentials.

        >>> RealApis.from_env({}).platforms
        frozenset()
        >>> RealApis.from_env({"CROWDLOG_PLATFORM_X": "real"})
        Traceback (most recent call last):
        ...
        ValueError: CROWDLOG_PLATFORM_X=real needs CROWDLOG_X_BEARER_TOKEN (or its _FILE)
        """
        real = set()
        for platform, name in NAMES.items():
            variable = f"CROWDLOG_PLATFORM_{name}"
            mode = env.get(variable, "simulated").strip().lower()
            if mode not in ("real", "simulated"):
                raise ValueError(f"{variable} must be real or simulated, not {mode!r}")
            if mode == "real":
                real.add(platform)
        apis = cls(frozenset(real), x_token=secret_from_env(env, "CROWDLOG_X_BEARER_TOKEN"),
                   meta_token=secret_from_env(env, "CROWDLOG_META_ACCESS_TOKEN"),
                   instagram_user_id=env.get("CROWDLOG_INSTAGRAM_USER_ID", "").strip(),
                   graph_version=env.get("CROWDLOG_META_GRAPH_VERSION") or GRAPH_VERSION,
                   rates={platform: _rate(env, f"CROWDLOG_FETCH_RATE_{NAMES[platform]}",
                                          REAL_RATES[platform])
                          for platform in real})
        apis._check()
        return apis

    def _check(self) -> None:
        for platform in sorted(self.platforms):
            variable, token = (("CROWDLOG_X_BEARER_TOKEN", self.x_token) if platform == "twitter"
                               else ("CROWDLOG_META_ACCESS_TOKEN", self.meta_token))
            if token is None:
                raise ValueError(f"CROWDLOG_PLATFORM_{NAMES[platform]}=real needs {variable} "
                                 f"(or its _FILE)")
        if "instagram" in self.platforms and not self.instagram_user_id.isdecimal():
            raise ValueError("CROWDLOG_PLATFORM_INSTAGRAM=real needs CROWDLOG_INSTAGRAM_USER_ID, "
                             "the numeric id of our Instagram business or creator account")

    def client(self, platform: str, timeout: float) -> PlatformClient:
        """The real client of ``platform`` (one of ``platforms``)."""
        if platform == "twitter" and self.x_token is not None:
            return XClient(self.x_token, timeout=timeout)
        if platform in ("instagram", "facebook") and self.meta_token is not None:
            graph = GraphApi(platform, self.meta_token, version=self.graph_version,
                             timeout=timeout)
            return (InstagramClient(graph, self.instagram_user_id) if platform == "instagram"
                    else FacebookClient(graph))
        raise ValueError(f"no real client configured for {platform!r}")


@dataclass(frozen=True)
class PlatformConfig:
    """Which client serves each platform, the simulated ones' faults and the retry policy."""

    world_dir: Path | None
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
    real: RealApis = field(default_factory=RealApis)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PlatformConfig | None:
        """The configuration, or None when no platform can be served (no world, none real)."""
        env = os.environ if env is None else env
        real = RealApis.from_env(env)
        world_dir = env.get("CROWDLOG_WORLD_DIR")
        if not world_dir:
            if not real.platforms:
                return None
            simulated = [NAMES[p] for p in PLATFORMS if p not in real.platforms]
            if simulated:
                raise ValueError(
                    f"CROWDLOG_PLATFORM_{simulated[0]}=simulated (the default) needs "
                    f"CROWDLOG_WORLD_DIR; set it, or make every platform real")
        return cls(Path(world_dir) if world_dir else None,
                   latency=float(env.get("CROWDLOG_PLATFORM_LATENCY", "0.05")),
                   rate_limit=int(env.get("CROWDLOG_PLATFORM_RATE_LIMIT", "500")),
                   error_rate=float(env.get("CROWDLOG_PLATFORM_ERROR_RATE", "0.02")),
                   slow_rate=float(env.get("CROWDLOG_PLATFORM_SLOW_RATE", "0.01")),
                   stall_rate=float(env.get("CROWDLOG_PLATFORM_STALL_RATE", "0")),
                   stall_seconds=float(env.get("CROWDLOG_PLATFORM_STALL_SECONDS", "60")),
                   attempts=int(env.get("CROWDLOG_FETCH_ATTEMPTS", "6")),
                   timeout=float(env.get("CROWDLOG_FETCH_TIMEOUT", "5")),
                   rate=float(env.get("CROWDLOG_FETCH_RATE", "45")), real=real)

    def platforms(self) -> dict[str, SimulatedPlatform]:
        """The simulated platforms with these faults, those not served by a real client
        (tests ask them which handles stall)."""
        if self.world_dir is None:
            return {}
        simulated = simulated_clients(load_world(self.world_dir), seed=self.seed,
                                      latency=self.latency, rate_limit=self.rate_limit,
                                      error_rate=self.error_rate, slow_rate=self.slow_rate,
                                      stall_rate=self.stall_rate,
                                      stall_seconds=self.stall_seconds)
        return {name: platform for name, platform in simulated.items()
                if name not in self.real.platforms}

    def clients(self) -> dict[str, ResilientClient]:
        """One resilient client per platform, over its real or simulated client."""
        inner: dict[str, PlatformClient] = {
            **self.platforms(),
            **{name: self.real.client(name, self.timeout) for name in self.real.platforms}}
        return {name: ResilientClient(client, max_attempts=self.attempts,
                                      timeout=self.timeout,
                                      rate=self.real.rates.get(name, self.rate), burst=5,
                                      seed=self.seed)
                for name, client in sorted(inner.items())}


def _rate(env: Mapping[str, str], variable: str, default: float) -> float:
    raw = env.get(variable, "").strip()
    rate = float(raw) if raw else default
    if not rate > 0:
        raise ValueError(f"{variable} must be a positive number of requests per second")
    return rate
