"""Platform clients: the simulated platform's truth and faults, and the resilient client's retries.

Waits are checked on a fake clock wherever the test is about how long something waited; real
time is used only in small doses (timeouts, the concurrency order) and never for thresholds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import pytest

from streams.enrichment.platforms import (
    AccountUnavailable,
    LookupGaveUp,
    PlatformClient,
    ProfileLookup,
    RateLimited,
    ServerError,
)
from streams.enrichment.resilient import ResilientClient, TokenBucket
from streams.enrichment.simulated_platform import SimulatedPlatform, simulated_clients
from streams.handles import PLATFORMS
from streams.world import Profile, World, WorldConfig, generate_world

T = TypeVar("T")
# A scripted answer: raise the exception, or answer after that many seconds (None: at once).
Outcome = Exception | float | None
HANG = 3600.0
# A platform with no faults and no waiting, to check the data itself.
CLEAN: dict[str, Any] = {"latency": 0.0, "rate_limit": 10_000, "error_rate": 0.0, "slow_rate": 0.0,
         "suspended_rate": 0.0}


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig(athletes=60, seed=3, workers=10))


def accounts(world: World, platform: str = "twitter") -> list[Profile]:
    return [p for p in world.profiles if p.platform == platform]


def fields(profile: Profile) -> tuple[object, ...]:
    return (profile.platform, profile.handle, profile.followers, profile.following,
            profile.posts, profile.avg_engagement, profile.verified, profile.category,
            profile.bio)


def looked_up(lookup: ProfileLookup) -> tuple[object, ...]:
    return (lookup.platform, lookup.handle, lookup.followers, lookup.following, lookup.posts,
            lookup.avg_engagement, lookup.verified, lookup.category, lookup.bio)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def outcomes(client: PlatformClient,
                   handles: Iterable[str]) -> list[ProfileLookup | BaseException]:
    return await asyncio.gather(*(client.lookup(h) for h in handles), return_exceptions=True)


class FakeTime:
    """Virtual time: a sleep moves the clock to its end at once and records how long it was."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        end = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, end)


class Scripted:
    """A platform answering each handle's calls from a script, then with a made-up profile."""

    platform = "twitter"

    def __init__(self, scripts: Mapping[str, Sequence[Outcome]] | None = None,
                 clock: Callable[[], float] = lambda: 0.0) -> None:
        self._scripts = {handle: list(script) for handle, script in (scripts or {}).items()}
        self._clock = clock
        self.calls: list[tuple[str, float]] = []

    async def lookup(self, handle: str) -> ProfileLookup:
        self.calls.append((handle, self._clock()))
        script = self._scripts.get(handle, [])
        outcome = script.pop(0) if script else None
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is not None:
            await asyncio.sleep(outcome)
        return ProfileLookup("twitter", handle, 100, 10, 5, 2.5, False, "athlete", "bio")


# --- the simulated platform -------------------------------------------------------------


def test_every_account_answers_with_its_true_profile(world: World) -> None:
    clients = simulated_clients(world, seed=1, **CLEAN)
    assert sorted(clients) == sorted(PLATFORMS)
    for platform, client in clients.items():
        truth = accounts(world, platform)
        found = run(outcomes(client, [p.handle for p in truth]))
        assert [looked_up(f) for f in found if isinstance(f, ProfileLookup)] == [
            fields(p) for p in truth]
        assert client.stats.ok == client.stats.calls == len(truth)


def test_lookups_ignore_case(world: World) -> None:
    profile = accounts(world)[0]
    client = SimulatedPlatform(world, "twitter", seed=1, **CLEAN)
    assert looked_up(run(client.lookup(profile.handle.upper()))) == fields(profile)


def test_a_handle_with_no_account_is_missing(world: World) -> None:
    client = SimulatedPlatform(world, "twitter", seed=1, **CLEAN)
    with pytest.raises(AccountUnavailable) as caught:
        run(client.lookup("no_such_user_zz"))
    assert (caught.value.platform, caught.value.handle, caught.value.status) == (
        "twitter", "no_such_user_zz", "missing")
    # An account on another platform is no account here.
    instagram_only = {p.handle for p in accounts(world, "instagram")} - {
        p.handle for p in accounts(world, "twitter")}
    with pytest.raises(AccountUnavailable, match="missing"):
        run(client.lookup(sorted(instagram_only)[0]))
    assert client.stats.missing == 2


def test_a_seeded_share_of_accounts_is_suspended(world: World) -> None:
    options = {**CLEAN, "suspended_rate": 0.3}
    handles = [p.handle for p in accounts(world, "instagram")]
    client = SimulatedPlatform(world, "instagram", seed=1, **options)
    found = run(outcomes(client, handles))
    suspended = {h for h, f in zip(handles, found, strict=True)
                 if isinstance(f, AccountUnavailable) and f.status == "suspended"}
    assert suspended == {h for h in handles if client.suspended(h)}
    assert 0.15 <= len(suspended) / len(handles) <= 0.45
    assert all(isinstance(f, ProfileLookup) for h, f in zip(handles, found, strict=True)
               if h not in suspended)
    again = SimulatedPlatform(world, "instagram", seed=1, **options)
    other = SimulatedPlatform(world, "instagram", seed=2, **options)
    assert {h for h in handles if again.suspended(h)} == suspended
    assert {h for h in handles if other.suspended(h)} != suspended


def test_a_burst_over_the_limit_gets_429_until_the_window_resets(world: World) -> None:
    fake = FakeTime()
    fake.now = 100.0
    client = SimulatedPlatform(world, "twitter", seed=1, **{**CLEAN, "rate_limit": 5},
                               window_seconds=2.0, time_scale=0.5, clock=fake.clock)
    handles = [p.handle for p in accounts(world)[:8]]
    found = run(outcomes(client, handles))
    assert [type(f) for f in found] == [ProfileLookup] * 5 + [RateLimited] * 3
    assert all(f.retry_after == pytest.approx(1.0) for f in found if isinstance(f, RateLimited))
    fake.now = 100.4
    refused = run(outcomes(client, handles[5:6]))[0]
    assert isinstance(refused, RateLimited)
    assert refused.retry_after == pytest.approx(0.6)
    fake.now = 101.0  # the next window
    assert all(isinstance(f, ProfileLookup) for f in run(outcomes(client, handles[5:])))
    assert client.stats.rate_limited == 4
    assert client.stats.ok == 8


def test_server_errors_and_slow_answers_come_at_about_their_rates(world: World) -> None:
    client = SimulatedPlatform(world, "facebook", seed=1,
                               **{**CLEAN, "error_rate": 0.2, "slow_rate": 0.1})
    handles = [p.handle for p in accounts(world, "facebook")] * 25
    found = run(outcomes(client, handles))
    errors = [f for f in found if isinstance(f, ServerError)]
    stats = client.stats
    assert stats.calls == len(handles) == 1025
    assert len(errors) == stats.server_errors
    assert 0.16 <= stats.server_errors / stats.calls <= 0.24
    assert 0.07 <= stats.slow / stats.calls <= 0.13
    assert stats.ok + stats.server_errors == stats.calls
    assert all(500 <= e.status <= 599 for e in errors)


def test_the_same_seed_replays_the_same_faults(world: World) -> None:
    options = {**CLEAN, "error_rate": 0.3, "suspended_rate": 0.2}
    handles = [p.handle for p in accounts(world)] * 3

    def kinds(seed: int) -> list[str]:
        client = SimulatedPlatform(world, "twitter", seed=seed, **options)
        return [type(f).__name__ for f in run(outcomes(client, handles))]

    assert kinds(7) == kinds(7)
    assert kinds(7) != kinds(8)


def test_a_slow_answer_takes_its_latency_times_the_slow_factor(world: World) -> None:
    handle = accounts(world)[0].handle
    client = SimulatedPlatform(world, "twitter", seed=1,
                               **{**CLEAN, "slow_rate": 1.0, "latency": 10.0},
                               time_scale=0.001, slow_factor=50.0)
    task_done: list[str] = []

    async def race() -> None:
        async def slow() -> None:
            await client.lookup(handle)
            task_done.append("slow")

        async def quick() -> None:
            await asyncio.sleep(0.05)  # this draw of a slow answer takes about 0.46 s
            task_done.append("quick")
        await asyncio.gather(slow(), quick())

    run(race())
    assert task_done == ["quick", "slow"]
    assert client.stats.slow == 1


# --- the resilient client ---------------------------------------------------------------


def test_retries_through_429s_5xx_and_timeouts_to_every_true_profile(world: World) -> None:
    platform = SimulatedPlatform(world, "twitter", seed=4, latency=0.05, rate_limit=10,
                                 window_seconds=1.0, error_rate=0.3, slow_rate=0.15,
                                 slow_factor=40.0, suspended_rate=0.0, time_scale=0.02)
    client = ResilientClient(platform, max_attempts=30, base_delay=0.002, max_delay=0.02,
                             timeout=0.015, seed=1)
    truth = accounts(world)
    found = run(outcomes(client, [p.handle for p in truth]))
    assert [looked_up(f) if isinstance(f, ProfileLookup) else f for f in found] == [
        fields(p) for p in truth]
    stats = client.stats
    assert stats.lookups == len(truth)
    assert stats.rate_limited > 0
    assert stats.errors > 0
    assert stats.timeouts > 0
    assert stats.attempts == stats.lookups + stats.retries
    assert stats.attempts == stats.lookups + stats.rate_limited + stats.errors + stats.timeouts
    assert stats.gave_up == 0
    assert platform.stats.calls == stats.attempts


def test_429s_do_not_use_up_attempts_but_are_bounded_too() -> None:
    """A 429 is the platform pacing us: wait it out; only a platform refusing for ever ends."""
    fake = FakeTime()
    inner = Scripted({"kingjames": [RateLimited(1.0)] * 3 + [ServerError(502)]})
    client = ResilientClient(inner, max_attempts=2, max_throttled=3, sleep=fake.sleep,
                             clock=fake.clock)
    outcome, requests = run(client.attempt("kingjames"))
    assert isinstance(outcome, ProfileLookup) and requests == 5
    refusing = Scripted({"kingjames": [RateLimited(1.0)] * 10})
    stubborn = ResilientClient(refusing, max_attempts=2, max_throttled=3, sleep=fake.sleep,
                               clock=fake.clock)
    gave_up, tried = run(stubborn.attempt("kingjames"))
    assert isinstance(gave_up, LookupGaveUp) and tried == 4 == gave_up.attempts


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    def give_up(seed: int) -> tuple[LookupGaveUp, ResilientClient, Scripted, list[float]]:
        fake = FakeTime()
        inner = Scripted({"kingjames": [ServerError(502)] * 3 + [ServerError(503)]})
        client = ResilientClient(inner, max_attempts=4, base_delay=1.0, max_delay=3.0,
                                 seed=seed, sleep=fake.sleep, clock=fake.clock)
        with pytest.raises(LookupGaveUp) as caught:
            run(client.lookup("kingjames"))
        return caught.value, client, inner, fake.slept

    error, client, inner, slept = give_up(seed=1)
    assert (error.platform, error.handle, error.attempts) == ("twitter", "kingjames", 4)
    assert "503" in error.last_error
    assert len(inner.calls) == 4
    assert (client.stats.retries, client.stats.errors, client.stats.gave_up) == (3, 4, 1)
    # Full jitter: a random wait up to the exponential bound, capped at max_delay.
    assert len(slept) == 3
    assert all(0.0 <= wait <= bound for wait, bound in zip(slept, (1.0, 2.0, 3.0), strict=True))
    assert give_up(seed=1)[3] == slept
    assert give_up(seed=2)[3] != slept


def test_an_unavailable_account_is_never_retried() -> None:
    fake = FakeTime()
    inner = Scripted({"ghost": [AccountUnavailable("twitter", "ghost", "suspended")]})
    client = ResilientClient(inner, sleep=fake.sleep, clock=fake.clock)
    with pytest.raises(AccountUnavailable, match="suspended"):
        run(client.lookup("ghost"))
    assert len(inner.calls) == 1
    assert fake.slept == []
    assert (client.stats.unavailable, client.stats.retries) == (1, 0)


def test_waits_at_least_retry_after_once_rate_limited() -> None:
    fake = FakeTime()
    inner = Scripted({"kingjames": [RateLimited(7.5), RateLimited(2.0)]}, clock=fake.clock)
    client = ResilientClient(inner, base_delay=0.5, sleep=fake.sleep, clock=fake.clock)
    assert run(client.lookup("kingjames")).handle == "kingjames"
    assert inner.calls[0] == ("kingjames", 0.0)
    assert 7.5 <= fake.slept[0] <= 8.0
    assert 2.0 <= fake.slept[1] <= 3.0
    assert inner.calls[1][1] >= 7.5
    assert inner.calls[2][1] - inner.calls[1][1] >= 2.0
    assert (client.stats.rate_limited, client.stats.retries) == (2, 2)


def test_a_timed_out_attempt_is_retried() -> None:
    fake = FakeTime()  # for the backoff only: the timeout itself runs on the event loop
    inner = Scripted({"kingjames": [HANG, HANG]})
    client = ResilientClient(inner, timeout=0.02, sleep=fake.sleep, clock=fake.clock)
    assert run(client.lookup("kingjames")).handle == "kingjames"
    assert len(inner.calls) == 3
    assert (client.stats.timeouts, client.stats.retries, client.stats.gave_up) == (2, 2, 0)


def test_the_token_bucket_spaces_requests_after_a_burst() -> None:
    fake = FakeTime()
    client = ResilientClient(Scripted(), rate=4.0, burst=2, sleep=fake.sleep, clock=fake.clock)
    run(outcomes(client, [f"h{n}" for n in range(6)]))
    # All six ask at t = 0: two go at once, the others wait for their slot 0.25 s apart.
    assert fake.slept == pytest.approx([0.25, 0.5, 0.75, 1.0])


def test_a_hold_delays_waiting_and_later_tokens() -> None:
    fake = FakeTime()
    bucket = TokenBucket(10.0, sleep=fake.sleep, clock=fake.clock)

    async def scenario() -> list[float]:
        await bucket.acquire()  # t = 0
        waiting = asyncio.create_task(bucket.acquire())  # reserves t = 0.1 and sleeps
        await asyncio.sleep(0)
        bucket.hold(2.0)
        await waiting
        after_hold = fake.now
        await bucket.acquire()
        return [after_hold, fake.now]

    assert run(scenario()) == pytest.approx([2.0, 2.1])


def test_a_429_holds_back_other_handles_through_the_bucket() -> None:
    fake = FakeTime()
    inner = Scripted({"first": [RateLimited(5.0)]}, clock=fake.clock)
    client = ResilientClient(inner, max_attempts=1, max_throttled=0, rate=100.0,
                             sleep=fake.sleep, clock=fake.clock)

    async def scenario() -> None:
        with pytest.raises(LookupGaveUp, match="rate limited"):
            await client.lookup("first")
        await client.lookup("second")

    run(scenario())
    assert inner.calls == [("first", 0.0), ("second", pytest.approx(5.0))]


@pytest.mark.parametrize("trouble", [[0.2], [RateLimited(0.2)], [HANG]],
                         ids=["slow", "rate-limited", "timed-out"])
def test_one_troubled_handle_does_not_hold_the_others(trouble: list[Outcome]) -> None:
    inner = Scripted({"troubled": trouble})
    client = ResilientClient(inner, max_attempts=3, base_delay=0.0, max_delay=0.0, timeout=0.3)
    finished: list[str] = []

    async def lookup(handle: str) -> None:
        await client.lookup(handle)
        finished.append(handle)

    async def scenario() -> None:
        await asyncio.gather(lookup("troubled"), *(lookup(f"h{n}") for n in range(10)))

    run(scenario())
    assert finished[-1] == "troubled"
    assert sorted(finished[:-1]) == sorted(f"h{n}" for n in range(10))
