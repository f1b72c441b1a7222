"""The prediction core: when it predicts, how it learns, and the issue's bars in process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.consensus.core import ConsensusConfig
from streams.enrichment.models import ProfileEnriched, ProfileUnavailable
from streams.events.ids import new_meta
from streams.events.model import Producer, Provenance
from streams.prediction.core import PredictionConfig, PredictionState, handle
from streams.prediction.evaluate import compare_online_and_batch, top_overlap
from streams.prediction.models import ModelEvaluated, PageViewsObserved, PageViewsPredicted
from streams.prediction.service import SnapshotStore
from streams.records.models import RecordReceived
from streams.simulation.local import run_local
from streams.simulation.score import score
from streams.world.generate import generate_world
from streams.world.model import WorldConfig

CONFIG = PredictionConfig()
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ENTITY = "acme:nba-0001"


def _record() -> RecordReceived:
    meta = new_meta(event_type=RecordReceived.schema_name, entity_id=ENTITY, occurred_at=T0,
                    producer=Producer("records", "1", "t"), provenance=Provenance("acme", "1"),
                    identity=["nba-0001"])
    return RecordReceived(meta=meta, name="Anthony Davis", sport="basketball", league="NBA",
                          team="Los Angeles Lakers", country="US", known_handles={},
                          provider="acme", provider_ref="nba-0001")


def _profile(platform: str, followers: int, fetch: int = 0) -> ProfileEnriched:
    meta = new_meta(event_type=ProfileEnriched.schema_name, entity_id=ENTITY, occurred_at=T0,
                    producer=Producer("enrichment", "1", "t"),
                    provenance=Provenance(platform, "ad"), parents=("acceptance",),
                    identity=[platform, fetch])
    return ProfileEnriched(meta=meta, platform=platform, handle="antdavis23",
                           followers=followers, following=300, posts=900,
                           avg_engagement=followers * 0.03, verified=True, category="athlete",
                           bio="NBA player", fetch=fetch, attempts=1)


def _outcome(views: float, number: int) -> PageViewsObserved:
    meta = new_meta(event_type=PageViewsObserved.schema_name, entity_id=ENTITY, occurred_at=T0,
                    producer=Producer("partners", "1", "t"),
                    provenance=Provenance("our-platform", f"p{number}"), identity=[number])
    return PageViewsObserved(meta=meta, post_id=f"p{number}", page_views=views)


def test_a_profile_before_its_record_is_predicted_when_the_record_arrives() -> None:
    state = PredictionState.fresh(CONFIG)
    profile = _profile("instagram", 2_000_000)
    assert handle(state, profile, CONFIG) == []
    [predicted] = handle(state, _record(), CONFIG)
    assert isinstance(predicted, PageViewsPredicted)
    assert set(predicted.meta.parents) == {_record().event_id, profile.event_id}
    assert predicted.low <= predicted.page_views <= predicted.high
    assert predicted.model == CONFIG.model and predicted.model_outcomes == 0


def test_an_athlete_is_predicted_from_the_record_alone_once() -> None:
    """An athlete with no account anywhere still gets the base views, and a place in the rank."""
    state = PredictionState.fresh(CONFIG)
    [predicted] = handle(state, _record(), CONFIG)
    assert isinstance(predicted, PageViewsPredicted)
    assert predicted.meta.parents == (_record().event_id,)
    assert handle(state, _record(), CONFIG) == []  # redelivered


def test_refreshed_and_unavailable_profiles_give_new_predictions() -> None:
    state = PredictionState.fresh(CONFIG)
    handle(state, _record(), CONFIG)
    [first] = handle(state, _profile("twitter", 50_000), CONFIG)
    assert handle(state, _profile("twitter", 50_000), CONFIG) == []  # redelivered
    [refreshed] = handle(state, _profile("twitter", 80_000, fetch=1), CONFIG)
    assert refreshed.event_id != first.event_id
    meta = new_meta(event_type=ProfileUnavailable.schema_name, entity_id=ENTITY,
                    occurred_at=T0, producer=Producer("enrichment", "1", "t"),
                    provenance=Provenance("twitter", "ad"), identity=["gone"])
    gone = ProfileUnavailable(meta=meta, platform="twitter", handle="ad", reason="suspended",
                              detail="", fetch=2, attempts=1)
    [after] = handle(state, gone, CONFIG)
    assert isinstance(after, PageViewsPredicted)
    assert after.features["has_twitter"] == 0.0


def test_an_outcome_is_scored_before_it_is_learned_and_learned_once() -> None:
    state = PredictionState.fresh(CONFIG)
    handle(state, _record(), CONFIG)
    [before] = handle(state, _profile("instagram", 2_000_000), CONFIG)
    assert isinstance(before, PageViewsPredicted)
    outcome = _outcome(9_000.0, 1)
    evaluated, again = handle(state, outcome, CONFIG)
    assert isinstance(evaluated, ModelEvaluated) and isinstance(again, PageViewsPredicted)
    assert evaluated.predicted == pytest.approx(before.page_views)
    assert evaluated.outcomes == 1 and again.model_outcomes == 1
    assert handle(state, outcome, CONFIG) == []  # redelivered: not learned twice
    assert state.outcomes == 1


def test_a_snapshot_restores_model_athletes_and_position() -> None:
    state = PredictionState.fresh(CONFIG)
    handle(state, _record(), CONFIG)
    handle(state, _profile("instagram", 2_000_000), CONFIG)
    handle(state, _outcome(9_000.0, 1), CONFIG)
    restored, position = PredictionState.restore(state.snapshot({("t", 0): 42}))
    assert position == {("t", 0): 42} and restored.outcomes == 1
    assert handle(restored, _outcome(8_000.0, 2), CONFIG) == handle(state, _outcome(8_000.0, 2),
                                                                     CONFIG)
    with pytest.raises(ValueError, match="snapshot"):
        PredictionState.restore(b"\x80\x04K\x01.")


def test_online_model_ends_within_15_percent_of_batch_and_ranks_the_top_20() -> None:
    """The issue's bars on a 2,000-athlete world, with the features the stage computes."""
    comparison = compare_online_and_batch(generate_world(WorldConfig(athletes=2000, seed=1)))
    assert comparison.ratio <= 1.15, comparison
    assert comparison.top_overlap >= 15, comparison
    curve = comparison.curve
    assert curve[-1] < curve[0], comparison


def test_in_process_the_namesake_check_catches_what_consensus_let_through() -> None:
    """A crowd of 35% confusers on a world of 20% namesakes, so namesakes do pass consensus.

    The whole pipeline runs in process (crowd, consensus, enrichment, re-asks, prediction): at
    least 90% of the namesake handles consensus accepted are rejected, at most 1% of the right
    handles are, and the ranking by the stage's own predictions finds the true top 20.
    """
    world = generate_world(WorldConfig(athletes=2000, seed=1, confuser_rate=0.35,
                                       namesake_rate=0.2))
    run = run_local(world, downstream=True, consensus_config=ConsensusConfig())
    result = score(world, run.events)
    assert result.namesake_accepted >= 30, result.lines()
    assert result.namesake_catch_rate >= 0.90, result.lines()
    assert result.false_alarm_rate <= 0.01, result.lines()
    latest = {e.entity_id.split(":", 1)[1]: e.page_views for e in run.events
              if isinstance(e, PageViewsPredicted)}
    assert top_overlap(latest, world) >= 15


def test_the_snapshot_store_keeps_a_bounded_history_and_restores_the_latest(
        tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, keep=2)
    assert store.latest() is None
    state = PredictionState.fresh(CONFIG)
    handle(state, _record(), CONFIG)
    handle(state, _profile("instagram", 2_000_000), CONFIG)
    for number in range(3):
        handle(state, _outcome(9_000.0 + number, number), CONFIG)
        store.save(state, {("outcomes", 0): number + 1})
    assert len(store.files()) == 2
    latest = store.latest()
    assert latest is not None
    restored, position = latest
    assert restored.outcomes == 3 and position == {("outcomes", 0): 3}
