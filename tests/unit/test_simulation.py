"""The crowd pipeline in process on a simulated world: precision, early stopping, blocking."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from streams.consensus.core import ConsensusConfig
from streams.simulation.convert import own_submissions, tell_crowd
from streams.simulation.local import run_local
from streams.simulation.score import Score, score
from streams.tasks.models import AssignmentSubmitted, HitExpired, HitExtended, HitPublished
from streams.workers.models import AssignmentReviewed, WorkerBlocked, WorkerQualified
from streams.world.crowd import SimulatedCrowd
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
                       and early.assignments_by_worker[w.worker_id] >= 1}
    assert active_spammers and active_spammers <= early.blocked_workers
    assert max(early.answers_before_block["spammer"]) <= 10
    # qualification before pay: blocked on their gold answers, before any paid HIT
    assert max(early.paid_before_block["spammer"]) == 0
    assert early.blocked["reliable"] == 0


def test_the_fixed_quorum_never_accepts_a_wrong_handle_here() -> None:
    world = generate_world(WorldConfig(athletes=150, seed=4, workers=60))
    result = score(world, run_local(
        world, consensus_config=ConsensusConfig(method="quorum")).events)
    assert result.precision == 1.0 and result.accepted > 0


def test_a_restarted_crowd_hears_the_log_again_and_answers_no_hit_twice() -> None:
    """Issue 11: ``crowd simulate`` started again hears the whole log; an approval of an
    assignment it had not submitted again was a KeyError. Restored from its own submissions,
    it takes every event of a run cut in the middle and finishes the open HITs, no assignment
    submitted twice and no HIT over what it asked for."""
    world = generate_world(WorldConfig(athletes=40, seed=11, workers=30))
    events = run_local(world, consensus_config=ConsensusConfig(method="quorum")).events
    submitted = [i for i, e in enumerate(events) if isinstance(e, AssignmentSubmitted)]
    log = events[:submitted[len(submitted) // 2]]
    # The service reads three topics side by side: a review may come before its HIT.
    heard = sorted((e for e in log if isinstance(
        e, HitPublished | HitExtended | HitExpired | WorkerBlocked | WorkerQualified
        | AssignmentReviewed)),
        key=lambda e: not isinstance(e, AssignmentReviewed | WorkerBlocked | WorkerQualified))
    assert any(isinstance(e, AssignmentReviewed) and e.status == "Approved" for e in heard)

    forgetful = SimulatedCrowd(world, seed=7)  # the bug: it forgot what it had submitted
    with pytest.raises(KeyError):
        for event in heard:
            tell_crowd(forgetful, event)

    crowd = SimulatedCrowd(world, seed=7)
    before = list(own_submissions(log))
    crowd.restore(before)
    for event in heard:
        tell_crowd(crowd, event, crowd.clock)
    after = crowd.advance(datetime.max.replace(tzinfo=UTC))
    assert after and min(s.accepted_at for s in after) >= max(s.submitted_at for s in before)
    assert not {s.assignment_id for s in after} & {s.assignment_id for s in before}
    wanted = Counter[str]()
    for event in heard:
        if isinstance(event, HitPublished):
            wanted[event.hit_id] += event.max_assignments
        elif isinstance(event, HitExtended):
            wanted[event.hit_id] += event.additional_assignments
    answered = Counter(s.hit_id for s in before + after)
    assert all(answered[hit_id] <= wanted[hit_id] for hit_id in answered)
    assert len({(s.hit_id, s.worker_id) for s in before + after}) == len(before + after)
