"""The fetcher beside the enrichment agent: concurrent, each fetch once, failures left pending."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from streams.enrichment.core import EnrichmentConfig, FetchRequest
from streams.enrichment.fetcher import Fetcher
from streams.enrichment.models import ProfileEnriched, ProfileUnavailable
from streams.enrichment.resilient import ResilientClient
from streams.enrichment.simulated_platform import simulated_clients
from streams.events.model import Event
from streams.world.generate import generate_world
from streams.world.model import World, WorldConfig

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _clients(world: World) -> dict[str, ResilientClient]:
    platforms = simulated_clients(world, seed=0, latency=0.01, error_rate=0.0, slow_rate=0.0,
                                  suspended_rate=0.0)
    return {name: ResilientClient(p, max_attempts=2) for name, p in platforms.items()}


def _requests(world: World, count: int) -> list[FetchRequest]:
    athletes = [a for a in world.athletes if a.handles["instagram"]][:count]
    return [FetchRequest(f"acme:{a.ref}", "instagram", a.handles["instagram"] or "",
                         f"accepted-{a.ref}", "H1", 0, None) for a in athletes]


def test_fetches_run_concurrently_once_each_and_become_events() -> None:
    world = generate_world(WorldConfig(athletes=40, seed=2, workers=10))
    sent: list[Event] = []

    async def send(event: Event) -> None:
        sent.append(event)

    async def scenario() -> Fetcher:
        fetcher = Fetcher(_clients(world), send, EnrichmentConfig(), clock=lambda: T0)
        requests = _requests(world, 5)
        for request in requests + requests:  # the timer may re-issue what is in flight
            fetcher.submit(request)
        assert fetcher.in_flight == 5
        await fetcher.drain()
        for request in requests:  # sent, not yet read back: still not fetched again
            fetcher.submit(request)
        assert fetcher.in_flight == 0
        fetcher.forget_sent(T0 + timedelta(seconds=1))
        fetcher.submit(requests[0])  # forgotten: a lost outcome can be fetched again
        await fetcher.drain()
        return fetcher

    fetcher = asyncio.run(scenario())
    assert fetcher.stats.started == 6 and fetcher.stats.finished == 6
    assert all(isinstance(e, ProfileEnriched) for e in sent)
    assert {e.meta.parents for e in sent} == {(r.acceptance_id,) for r in _requests(world, 5)}


def test_a_fetch_that_cannot_be_sent_is_counted_and_stays_pending() -> None:
    world = generate_world(WorldConfig(athletes=40, seed=2, workers=10))

    async def send(_event: Event) -> None:
        raise ConnectionError("broker gone")

    async def scenario() -> Fetcher:
        fetcher = Fetcher(_clients(world), send, EnrichmentConfig(), clock=lambda: T0)
        [request] = _requests(world, 1)
        fetcher.submit(request)
        await fetcher.drain()
        fetcher.submit(request)  # not sent, so not remembered: the timer's re-issue runs
        await fetcher.drain()
        return fetcher

    fetcher = asyncio.run(scenario())
    assert (fetcher.stats.started, fetcher.stats.failed) == (2, 2)


def test_an_unknown_handle_is_recorded_as_missing() -> None:
    world = generate_world(WorldConfig(athletes=40, seed=2, workers=10))
    sent: list[Event] = []

    async def send(event: Event) -> None:
        sent.append(event)

    async def scenario() -> None:
        fetcher = Fetcher(_clients(world), send, EnrichmentConfig(), clock=lambda: T0)
        fetcher.submit(FetchRequest("acme:x", "twitter", "nobodyhere123", "acc", "H1", 0, None))
        await fetcher.drain()

    asyncio.run(scenario())
    [event] = sent
    assert isinstance(event, ProfileUnavailable) and event.reason == "missing"


def test_fetches_of_a_retracted_acceptance_are_cancelled_and_a_new_one_runs_beside() -> None:
    world = generate_world(WorldConfig(athletes=40, seed=2, workers=10))
    sent: list[Event] = []

    async def send(event: Event) -> None:
        sent.append(event)

    async def scenario() -> Fetcher:
        fetcher = Fetcher(_clients(world), send, EnrichmentConfig(), clock=lambda: T0)
        first, second = _requests(world, 2)
        replaced = replace(first, acceptance_id="accepted-again")  # same record, fetch 0
        for request in (first, second, replaced):
            fetcher.submit(request)
        assert fetcher.in_flight == 3
        assert fetcher.cancel(first.entity_id, "some-other-event") == 0
        assert fetcher.cancel(second.entity_id, first.acceptance_id) == 0  # not its record
        assert fetcher.cancel(first.entity_id, first.acceptance_id) == 1
        await fetcher.drain()
        return fetcher

    fetcher = asyncio.run(scenario())
    assert (fetcher.stats.started, fetcher.stats.cancelled, fetcher.stats.finished) == (3, 1, 2)
    second = _requests(world, 2)[1]
    assert {e.meta.parents for e in sent} == {(second.acceptance_id,), ("accepted-again",)}
