"""The simulated world: deterministic, realistic in shape, and consistent with itself."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from streams.handles import PLATFORMS, normalise_handle
from streams.world import Athlete, World, WorldConfig, generate_world


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig())


def test_generating_the_default_world_takes_seconds_at_most() -> None:
    started = time.perf_counter()
    generate_world(WorldConfig(seed=5))
    assert time.perf_counter() - started < 5.0


def test_same_config_same_world_other_seed_other_world(world: World) -> None:
    assert generate_world(WorldConfig()) == world
    other = generate_world(WorldConfig(seed=2))
    assert other != world
    assert [a.name for a in other.athletes] != [a.name for a in world.athletes]


def test_the_crowd_size_does_not_change_the_athletes(world: World) -> None:
    bigger = generate_world(WorldConfig(workers=50))
    assert bigger.athletes == world.athletes
    assert len(bigger.workers) == 50


def test_sizes_and_distinct_refs(world: World) -> None:
    assert len(world.athletes) == 2000
    assert len({a.ref for a in world.athletes}) == 2000
    assert all(re.fullmatch(r"[a-z0-9]+-\d{4}", a.ref) for a in world.athletes)
    assert len({a.sport for a in world.athletes}) >= 8


def test_namesakes_share_a_name_and_nothing_else(world: World) -> None:
    namesakes = [a for a in world.athletes if a.namesake_of]
    assert abs(len(namesakes) / len(world.athletes) - 0.05) <= 0.005
    for athlete in namesakes:
        other = world.athlete(athlete.namesake_of or "")
        assert other.namesake_of == athlete.ref
        assert other.name == athlete.name
        assert (other.sport, other.team) != (athlete.sport, athlete.team)
        assert max(a.fame for a in (athlete, other)) >= 10 * min(a.fame for a in (athlete,
                                                                                   other))
    repeated = {name for name, n in Counter(a.name for a in world.athletes).items() if n > 1}
    assert repeated == {a.name for a in namesakes}


def test_handles_are_unique_valid_and_canonical(world: World) -> None:
    for platform in PLATFORMS:
        handles = [a.handles[platform] for a in world.athletes if a.handles[platform]]
        assert len(handles) == len(set(handles))
        for handle in handles:
            assert handle is not None
            assert normalise_handle(platform, handle) == handle
        missing = 1 - len(handles) / len(world.athletes)
        assert 0.05 <= missing <= 0.35, (platform, missing)


def test_famous_athletes_lack_accounts_less_often(world: World) -> None:
    ranked = sorted(world.athletes, key=lambda a: a.fame)
    tenth = len(ranked) // 10

    def missing(athletes: list[Athlete]) -> int:
        return sum(h is None for a in athletes for h in a.handles.values())

    assert missing(ranked[:tenth]) > 2 * missing(ranked[-tenth:])


def test_fame_is_heavy_tailed(world: World) -> None:
    fames = sorted(a.fame for a in world.athletes)
    median = fames[len(fames) // 2]
    assert fames[-1] > 100 * median
    assert fames[int(0.99 * len(fames))] > 20 * median


def test_athletes_look_like_athletes(world: World) -> None:
    for athlete in world.athletes:
        start, end = (int(y) for y in athlete.years.split("-"))
        assert start <= end <= 2026
        assert re.fullmatch(r"[A-Z]{2}", athlete.country)
        assert athlete.position
        assert athlete.page_views_per_post > 0
        if athlete.sport in ("tennis", "golf", "athletics"):
            assert athlete.team is None


def test_profiles_exist_exactly_for_accounts(world: World) -> None:
    accounts = {(a.ref, p) for a in world.athletes for p in PLATFORMS if a.handles[p]}
    assert {(p.ref, p.platform) for p in world.profiles} == accounts
    for profile in world.profiles:
        athlete = world.athlete(profile.ref)
        assert profile.handle == athlete.handles[profile.platform]
        assert profile.followers > 0 and profile.posts > 0
        assert athlete.team is None or athlete.team in profile.bio or (
            athlete.league or "") in profile.bio


def test_page_views_grow_with_audience(world: World) -> None:
    def log_followers(ref: str) -> float:
        return math.log1p(sum(p.followers for p in world.profiles if p.ref == ref))

    ranked = sorted(world.athletes, key=lambda a: a.page_views_per_post)
    low = [log_followers(a.ref) for a in ranked[:200]]
    high = [log_followers(a.ref) for a in ranked[-200:]]
    assert sum(high) / len(high) > sum(low) / len(low) + 3


def test_workers_have_mturk_ids_and_the_configured_mix(world: World) -> None:
    ids = [w.worker_id for w in world.workers]
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"A[A-Z0-9]{13}", i) for i in ids)
    kinds = Counter(w.kind for w in world.workers)
    assert kinds == {"reliable": 130, "sloppy": 40, "spammer": 20, "confuser": 10}
    for worker in world.workers:
        assert worker.activity > 0
        if worker.kind == "spammer":
            assert worker.spam in ("random", "not-found", "fixed")
            assert bool(worker.fixed_answer) == (worker.spam == "fixed")
            assert worker.work_seconds <= 20
        else:
            assert worker.spam == "" and worker.accuracy >= 0.75


def test_gold_is_truth_for_a_few_ingestible_athletes(world: World) -> None:
    valid = {row.fields["id"] for row in world.provider_rows if row.rejection is None}
    refs = {g.provider_ref for g in world.gold}
    assert len(refs) == 60
    assert refs <= valid
    for gold in world.gold:
        assert gold.handle == world.athlete(gold.provider_ref).handles[gold.platform]


@pytest.mark.parametrize("change", [
    {"athletes": 1}, {"workers": 0}, {"namesake_rate": 1.5},
    {"spammer_rate": 0.5, "sloppy_rate": 0.4, "confuser_rate": 0.2}, {"provider": "Acme Feed"},
])
def test_config_rejects_impossible_worlds(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        replace(WorldConfig(), **change)


def test_small_worlds_work() -> None:
    world = generate_world(WorldConfig(athletes=10, workers=3, namesake_rate=0.2))
    assert len(world.athletes) == 10
    assert sum(a.namesake_of is not None for a in world.athletes) == 2
