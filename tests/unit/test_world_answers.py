"""What workers type: noise that normalises, errors that do not, and accuracy by kind."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from streams.handles import PLATFORMS, InvalidHandle, normalise_handle
from streams.world import (
    NOT_FOUND,
    HitRequest,
    SimulatedCrowd,
    Submission,
    World,
    WorldConfig,
    generate_world,
    score,
    true_answer,
    worker_kind,
)
from streams.world.accounts import fold, typo
from streams.world.answers import answer
from streams.world.spelling import messy, provider_form
from streams.world.truth import accuracy_by_kind, answer_is_correct

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig(athletes=600, workers=100))


@pytest.fixture(scope="module")
def run(world: World) -> tuple[list[Submission], dict[str, str]]:
    """Five assignments for each of 500 athletes."""
    crowd = SimulatedCrowd(world, seed=11)
    refs = {}
    for number, athlete in enumerate(world.athletes[:500]):
        refs[f"H{number}"] = athlete.ref
        crowd.create_hit(HitRequest(
            hit_id=f"H{number}", provider_ref=athlete.ref, title="t", question="q",
            context={"name": athlete.name}, platforms=PLATFORMS, max_assignments=5,
            reward_cents=10, created_at=T0, lifetime_seconds=86_400))
    return crowd.advance(T0 + timedelta(days=1)), refs


def handles(world: World) -> list[tuple[str, str]]:
    return [(p, h) for a in world.athletes for p, h in a.handles.items() if h]


def test_messy_forms_normalise_to_the_handle(world: World) -> None:
    rng = random.Random(1)
    for platform, handle in handles(world):
        for _ in range(3):
            assert normalise_handle(platform, messy(handle, platform, rng)) == handle
            assert normalise_handle(platform, provider_form(handle, platform, rng)) == handle


def test_typos_are_valid_but_wrong(world: World) -> None:
    rng = random.Random(2)
    for platform, handle in handles(world):
        mistyped = typo(handle, platform, rng)
        assert mistyped != handle
        assert normalise_handle(platform, mistyped) == mistyped


def test_folding_names() -> None:
    assert fold("Dončić") == "doncic"
    assert fold("Đoković") == "djokovic"
    assert fold("De'Aaron") == "deaaron"
    assert fold("Ødegaard") == "odegaard"


def test_accuracy_by_kind(world: World, run: tuple[list[Submission], dict[str, str]]) -> None:
    submissions, refs = run
    accuracy = {kind: summary.accuracy
                for kind, summary in accuracy_by_kind(world, submissions, refs).items()}
    assert accuracy["reliable"] >= 0.93
    assert 0.72 <= accuracy["sloppy"] <= 0.92
    assert accuracy["confuser"] >= 0.88
    assert accuracy["spammer"] <= 0.3


def test_sloppy_workers_format_right_answers_messily(
        world: World, run: tuple[list[Submission], dict[str, str]]) -> None:
    submissions, refs = run
    noisy = right = 0
    for s in submissions:
        if worker_kind(world, s.worker_id) != "sloppy":
            continue
        for platform, raw in s.answers.items():
            if raw is None:
                continue
            try:
                handle = normalise_handle(platform, raw)
            except InvalidHandle:
                continue
            if raw != handle:
                noisy += 1
                right += handle == true_answer(world, refs[s.hit_id], platform)
    assert noisy > 200
    assert right / noisy > 0.85


def test_honest_workers_say_not_found_when_there_is_no_account(
        world: World, run: tuple[list[Submission], dict[str, str]]) -> None:
    submissions, refs = run
    answers = [raw for s in submissions if worker_kind(world, s.worker_id) == "reliable"
               for p, raw in s.answers.items()
               if true_answer(world, refs[s.hit_id], p) == NOT_FOUND]
    assert len(answers) > 100
    assert answers.count(None) / len(answers) > 0.9


def test_confusers_give_the_famous_namesakes_handles(world: World) -> None:
    pairs = [(a, world.athlete(a.namesake_of)) for a in world.athletes if a.namesake_of]
    obscure = [(a, b) for a, b in pairs if b.fame > a.fame]
    assert obscure
    confuser = next(w for w in world.workers if w.kind == "confuser")
    sure = replace(confuser, accuracy=1.0, noise=0.0)
    for athlete, famous in obscure:
        given = answer(world, sure, athlete, PLATFORMS, random.Random(athlete.ref))
        for platform in PLATFORMS:
            raw = given[platform]
            expected = famous.handles[platform]
            assert (normalise_handle(platform, raw) if raw else None) == expected
        own = answer(world, sure, famous, PLATFORMS, random.Random(famous.ref))
        assert all(answer_is_correct(world, famous.ref, p, own[p]) for p in PLATFORMS)


def test_told_which_account_it_is_not_a_confuser_finds_the_athlete(world: World) -> None:
    """A HIT sent back after a namesake was caught names that account (``excluded``)."""
    pairs = [(a, world.athlete(a.namesake_of)) for a in world.athletes if a.namesake_of]
    obscure = [(a, b) for a, b in pairs if b.fame > a.fame]
    confuser = next(w for w in world.workers if w.kind == "confuser")
    sure = replace(confuser, accuracy=1.0, noise=0.0)
    for athlete, famous in obscure:
        excluded = {p: h for p in PLATFORMS if (h := famous.handles[p])}
        given = answer(world, sure, athlete, PLATFORMS, random.Random(athlete.ref),
                       excluded=excluded)
        for platform in PLATFORMS:
            if platform in excluded and excluded[platform] != athlete.handles[platform]:
                assert answer_is_correct(world, athlete.ref, platform, given[platform])


def test_spammers_copy_or_make_things_up(world: World) -> None:
    rng = random.Random(3)
    athlete = world.athletes[0]
    for spammer in (w for w in world.workers if w.kind == "spammer"):
        given = answer(world, spammer, athlete, PLATFORMS, rng)
        if spammer.spam == "not-found":
            assert given == dict.fromkeys(PLATFORMS)
        elif spammer.spam == "fixed":
            assert set(given.values()) == {spammer.fixed_answer}


def test_score_counts_precision_and_coverage(world: World) -> None:
    refs = [a.ref for a in world.athletes[:10]]
    accepted = {(ref, p): true_answer(world, ref, p) for ref in refs[:5] for p in PLATFORMS}
    accepted[(refs[5], "twitter")] = "somebodyelse"
    result = score(world, accepted, refs)
    assert (result.fields, result.accepted, result.correct) == (30, 16, 15)
    assert result.precision == pytest.approx(15 / 16)
    assert result.coverage == pytest.approx(16 / 30)
    truth = true_answer(world, refs[5], "twitter")
    assert result.wrong == ((refs[5], "twitter", "somebodyelse", truth),)
    assert math.isnan(score(world, {}, refs).precision)
    assert score(world, {}).fields == 3 * len({
        row.fields["id"] for row in world.provider_rows if row.rejection is None})
