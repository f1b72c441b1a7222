"""The page-views prediction core: features, progressive validation, snapshots and outcomes."""

from __future__ import annotations

import math
import statistics

import pytest

from streams.handles import PLATFORMS
from streams.prediction.core import PredictionState
from streams.prediction.evaluate import (
    compare_models,
    compare_online_and_batch,
    outcome_stream,
    top_overlap,
    true_features,
)
from streams.prediction.features import ProfileFacts, athlete_features
from streams.prediction.learners import DEFAULT_MODEL, MODELS, PageViewsModel
from streams.world import World, WorldConfig, generate_world
from streams.world.outcomes import observe_page_views, partner_schedule


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig(athletes=300, seed=3))


@pytest.fixture(scope="module")
def trained(world: World) -> PageViewsModel:
    model = PageViewsModel(DEFAULT_MODEL)
    for outcome in outcome_stream(world, posts_per_athlete=3, seed=1):
        model.learn(outcome.features, outcome.views)
    return model


def test_features_are_finite_deterministic_and_the_same_shape(world: World) -> None:
    shapes = set()
    for athlete in world.athletes:
        features = true_features(world, athlete)
        assert true_features(world, athlete) == features
        numbers = [v for v in features.values() if not isinstance(v, str)]
        assert all(math.isfinite(v) for v in numbers)
        shapes.add(tuple(sorted(features)))
        for platform in PLATFORMS:
            absent = world.profile(athlete.ref, platform) is None
            assert features[f"has_{platform}"] == (0.0 if absent else 1.0)
            if absent:
                assert features[f"log_followers_{platform}"] == 0.0
    assert len(shapes) == 1


def test_an_athlete_with_no_account_gets_zeros_not_errors() -> None:
    features = athlete_features({}, "golf", None, None)
    assert features["log_reach"] == 0.0
    assert features["engagement"] == 0.0
    assert (features["sport"], features["league"], features["country"]) == ("golf", "none",
                                                                              "none")
    zero = ProfileFacts("twitter", 0, 0, 0, 0.0, False, "athlete")
    assert math.isfinite(float(athlete_features({"twitter": zero}, "golf", None, None)
                               ["engagement_twitter"]))


def test_learn_scores_the_prediction_made_before_it_learns(world: World) -> None:
    model = PageViewsModel(DEFAULT_MODEL)
    outcomes = outcome_stream(world, posts_per_athlete=1, seed=1)
    for count, outcome in enumerate(outcomes[:50]):
        assert model.metrics()["count"] == count
        before = model.predict(outcome.features)
        assert model.learn(outcome.features, outcome.views) == before
        assert model.metrics()["count"] == count + 1
        assert model.predict(outcome.features) != before  # it did learn, afterwards
    # Untrained, the model says the same of everyone: the first score cannot know its outcome.
    first = PageViewsModel(DEFAULT_MODEL).learn(outcomes[0].features, outcomes[0].views)
    assert first == PageViewsModel(DEFAULT_MODEL).predict(outcomes[1].features)


def test_online_error_falls_as_outcomes_arrive(world: World) -> None:
    comparison = compare_online_and_batch(world, DEFAULT_MODEL, window=90)
    assert comparison.outcomes == 900
    assert len(comparison.curve) == 10
    assert comparison.curve[0] > comparison.curve[-1]
    assert comparison.ratio < 1.3
    assert comparison.online_log_mae == pytest.approx(statistics.fmean(comparison.curve))


def test_every_registered_model_learns_the_same_stream(world: World) -> None:
    results = compare_models(world)
    assert set(results) == set(MODELS)
    assert DEFAULT_MODEL in MODELS
    for metrics in results.values():
        assert metrics["count"] == 900
        assert 0.2 < metrics["log_mae"] < 0.6


def test_snapshot_restores_an_identical_model(world: World, trained: PageViewsModel) -> None:
    def restore() -> PageViewsModel:
        key = b"a test key of 32 bytes, not ours"
        return PredictionState.restore(PredictionState(trained).snapshot({}, key), key)[0].model

    restored = restore()
    assert restored.metrics() == trained.metrics()
    features = [true_features(world, a) for a in world.athletes[:50]]
    assert [restored.predict(f) for f in features] == [trained.predict(f) for f in features]
    copy = restore()  # the original must stay untouched
    for f in features[:10]:
        assert restored.learn(f, 1000.0) == copy.learn(f, 1000.0)
    assert restored.predict(features[0]) == copy.predict(features[0])


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(KeyError):
        PageViewsModel("no such model")
    with pytest.raises(ValueError):
        PageViewsModel(DEFAULT_MODEL, coverage=1.0)
    with pytest.raises(ValueError):
        PageViewsModel(DEFAULT_MODEL).learn({"sport": "golf"}, -1.0)


def test_the_interval_covers_about_its_share_of_unseen_outcomes(trained: PageViewsModel) -> None:
    other = generate_world(WorldConfig(athletes=300, seed=4))
    outcomes = outcome_stream(other, posts_per_athlete=2, seed=2)
    inside = sum(p.low <= o.views <= p.high
                 for o, p in ((o, trained.predict(o.features)) for o in outcomes))
    assert 0.7 < inside / len(outcomes) < 0.9
    assert 0.7 < trained.metrics()["coverage"] < 0.9


def test_top_overlap_counts_shared_members_of_the_top(world: World) -> None:
    truth = {a.ref: a.page_views_per_post for a in world.athletes}
    assert top_overlap(truth, world) == 20
    assert top_overlap({ref: -views for ref, views in truth.items()}, world) == 0
    assert top_overlap(truth, world, n=5) == 5


def test_observed_page_views_are_deterministic_and_centred(world: World) -> None:
    athlete = world.athletes[0]
    assert observe_page_views(athlete, 1, seed=7) == observe_page_views(athlete, 1, seed=7)
    assert observe_page_views(athlete, 1, seed=7) != observe_page_views(athlete, 2, seed=7)
    assert observe_page_views(athlete, 1, seed=7) != observe_page_views(athlete, 1, seed=8)
    logs = [math.log(observe_page_views(athlete, n, seed=7) / athlete.page_views_per_post)
            for n in range(1, 2001)]
    assert statistics.fmean(logs) == pytest.approx(0.0, abs=0.03)
    assert statistics.stdev(logs) == pytest.approx(0.3, abs=0.03)


def test_the_schedule_interleaves_numbered_posts(world: World) -> None:
    schedule = partner_schedule(world, posts_per_athlete=3, seed=1)
    assert schedule == partner_schedule(world, posts_per_athlete=3, seed=1)
    assert schedule != partner_schedule(world, posts_per_athlete=3, seed=2)
    assert sorted(schedule) == sorted((a.ref, n) for a in world.athletes for n in (1, 2, 3))
    seen: dict[str, int] = {}
    for ref, number in schedule:
        assert number == seen.get(ref, 0) + 1
        seen[ref] = number
    assert len({ref for ref, _ in schedule[:90]}) > 80  # not one athlete after another
