"""The crowd pipeline in process on a simulated world: precision, early stopping, blocking."""

from __future__ import annotations

import pytest

from streams.consensus.core import ConsensusConfig
from streams.simulation.local import run_local
from streams.simulation.score import Score, score
from streams.world.generate import generate_world
from streams.world.model import WorldConfig

WORLD = WorldConfig(athletes=500, seed=3, workers=100)


@pytest.fixture(scope="module")
def runs() -> tuple[Score, Score]:
    world = generate_world(WORLD)
    early = score(world, run_local(world).events)
    collect_all = score(world, run_local(
        world, consensus_config=ConsensusConfig(early_stop=False)).events)
    return early, collect_all


def test_early_stopping_pays_a_quarter_less_at_equal_precision(runs: tuple[Score, Score]) -> None:
    early, collect_all = runs
    assert early.precision >= collect_all.precision >= 0.995, early.lines()
    assert early.coverage >= 0.99
    assert early.submitted <= 0.75 * collect_all.submitted, (early.lines(), collect_all.lines())


def test_spammers_are_blocked_within_a_few_answers_and_reliable_workers_never(
        runs: tuple[Score, Score]) -> None:
    early, _ = runs
    world = generate_world(WORLD)
    active_spammers = {w.worker_id for w in world.workers if w.kind == "spammer"
                       and early.assignments_by_worker[w.worker_id] >= 5}
    assert active_spammers and active_spammers <= early.blocked_workers
    assert max(early.answers_before_block["spammer"]) <= 10
    assert early.blocked["reliable"] == 0


def test_the_fixed_quorum_never_accepts_a_wrong_handle_here() -> None:
    world = generate_world(WorldConfig(athletes=150, seed=4, workers=60))
    result = score(world, run_local(
        world, consensus_config=ConsensusConfig(method="quorum")).events)
    assert result.precision == 1.0 and result.accepted > 0
