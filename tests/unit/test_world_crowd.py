"""The simulated Mechanical Turk crowd: timing, expiry, blocks, and who answers what."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.world import HitRequest, SimulatedCrowd, Submission, World, WorldConfig
from streams.world import generate_world as generate

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=2)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(WorldConfig(athletes=300, workers=100))


def hit(world: World, number: int, **changes: Any) -> HitRequest:
    athlete = world.athletes[number % len(world.athletes)]
    request = HitRequest(
        hit_id=f"HIT{number:05d}", provider_ref=athlete.ref, title="Find social accounts",
        question="Find this athlete's accounts", context={"name": athlete.name},
        platforms=("twitter", "instagram", "facebook"), max_assignments=5, reward_cents=10,
        created_at=T0 + timedelta(seconds=3 * number), lifetime_seconds=86_400,
    )
    return replace(request, **changes)


def crowd_with(world: World, hits: int, seed: int = 3, **changes: Any) -> SimulatedCrowd:
    crowd = SimulatedCrowd(world, seed=seed)
    for number in range(hits):
        crowd.create_hit(hit(world, number, **changes))
    return crowd


def drain(crowd: SimulatedCrowd, *, exact: bool = True) -> list[Submission]:
    """Step from submission to submission, checking the look-ahead on the way (``exact``;
    with qualification HITs it may name a moment at which nothing is submitted)."""
    submissions: list[Submission] = []
    while (at := crowd.next_submission_at()) is not None:
        batch = crowd.advance(at)
        assert not exact or (batch and batch[0].submitted_at == at)
        submissions.extend(batch)
    return submissions


def test_submissions_come_in_time_order_and_interleave_across_hits(world: World) -> None:
    submissions = drain(crowd_with(world, 40))
    assert len(submissions) == 200
    times = [s.submitted_at for s in submissions]
    assert times == sorted(times)
    assert all(s.accepted_at < s.submitted_at for s in submissions)
    switches = sum(a.hit_id != b.hit_id for a, b in pairwise(submissions))
    assert switches > 150
    first = min(s.accepted_at for s in submissions if s.hit_id == "HIT00000")
    assert timedelta(0) < first - T0 < timedelta(minutes=10)


def test_stepping_and_one_big_step_agree(world: World) -> None:
    stepped = drain(crowd_with(world, 30))
    assert crowd_with(world, 30).advance(LATER) == stepped
    chunked_crowd = crowd_with(world, 30)
    chunked = [s for minute in range(1, 200)
               for s in chunked_crowd.advance(T0 + timedelta(minutes=minute))]
    assert chunked == stepped


def test_a_worker_never_does_the_same_hit_twice(world: World) -> None:
    small = generate(WorldConfig(athletes=20, workers=8))
    crowd = crowd_with(small, 10, max_assignments=20)
    submissions = crowd.advance(LATER)
    pairs = Counter((s.hit_id, s.worker_id) for s in submissions)
    assert max(pairs.values()) == 1
    assert Counter(s.hit_id for s in submissions) == {f"HIT{n:05d}": 8 for n in range(10)}


def test_expiry_stops_new_acceptances_but_not_work_in_progress(world: World) -> None:
    crowd = crowd_with(world, 1, max_assignments=60)
    early = crowd.advance(T0 + timedelta(minutes=3))
    now = T0 + timedelta(minutes=3)
    crowd.expire_hit("HIT00000", now)
    late = crowd.advance(LATER)
    everything = early + late
    assert 0 < len(everything) < 60
    assert all(s.accepted_at < now for s in everything)
    assert any(s.submitted_at > now for s in late)


def test_expiry_in_the_future_lets_acceptances_until_then(world: World) -> None:
    crowd = crowd_with(world, 1, max_assignments=80)
    cutoff = T0 + timedelta(minutes=20)
    crowd.expire_hit("HIT00000", cutoff)
    submissions = crowd.advance(LATER)
    assert all(s.accepted_at < cutoff for s in submissions)
    assert max(s.accepted_at for s in submissions) > cutoff - timedelta(minutes=5)


def test_a_blocked_worker_takes_nothing_after_the_block(world: World) -> None:
    crowd = crowd_with(world, 150)
    now = T0 + timedelta(minutes=4)
    seen = crowd.advance(now)
    busiest = Counter(s.worker_id for s in seen).most_common(1)[0][0]
    crowd.block_worker(busiest, "answers disagree with consensus", now)
    rest = crowd.advance(LATER)
    theirs = [s for s in seen + rest if s.worker_id == busiest]
    assert theirs and all(s.accepted_at < now for s in theirs)
    assert len(seen) + len(rest) == 750
    assert crowd.stats().blocked_workers == 1


def test_blocks_before_publication_shrink_the_crowd(world: World) -> None:
    crowd = SimulatedCrowd(world, seed=3)
    allowed = {w.worker_id for w in world.workers[:3]}
    for worker in world.workers[3:]:
        crowd.block_worker(worker.worker_id, "test", T0)
    crowd.create_hit(hit(world, 0))
    submissions = crowd.advance(LATER)
    assert {s.worker_id for s in submissions} == allowed


def test_a_block_in_the_past_counts_from_the_clock(world: World) -> None:
    crowd = crowd_with(world, 100)
    now = T0 + timedelta(minutes=5)
    seen = crowd.advance(now)
    worker = seen[-1].worker_id
    crowd.block_worker(worker, "late", T0)
    rest = crowd.advance(LATER)
    assert all(s.accepted_at < now for s in rest if s.worker_id == worker)


def test_additional_assignments_reopen_a_full_hit(world: World) -> None:
    crowd = crowd_with(world, 1, max_assignments=2)
    first = crowd.advance(T0 + timedelta(hours=1))
    assert len(first) == 2
    now = T0 + timedelta(hours=1)
    crowd.create_additional_assignments("HIT00000", 3)
    more = crowd.advance(LATER)
    assert len(more) == 3
    assert all(s.accepted_at > now for s in more)
    assert len({s.worker_id for s in first + more}) == 5
    with pytest.raises(ValueError):
        crowd.create_additional_assignments("HIT00000", 0)


def test_a_retried_extension_extends_once(world: World) -> None:
    crowd = crowd_with(world, 1, max_assignments=2)
    crowd.advance(T0 + timedelta(hours=1))
    for _ in range(3):
        crowd.create_additional_assignments("HIT00000", 2, unique_request_token="ext-1")
    assert len(crowd.advance(LATER)) == 2


def test_nothing_is_accepted_after_the_lifetime(world: World) -> None:
    crowd = crowd_with(world, 1, max_assignments=100, lifetime_seconds=300)
    submissions = crowd.advance(LATER)
    assert submissions
    assert all(s.accepted_at < T0 + timedelta(seconds=300) for s in submissions)
    assert crowd.next_submission_at() is None


def test_answers_depend_only_on_seed_hit_and_worker(world: World) -> None:
    plain = {(s.hit_id, s.worker_id): s for s in crowd_with(world, 60).advance(LATER)}
    blocked_crowd = crowd_with(world, 60)
    blocked_crowd.block_worker(world.workers[0].worker_id, "test", T0)
    blocked_crowd.block_worker(world.workers[1].worker_id, "test", T0)
    blocked = {(s.hit_id, s.worker_id): s for s in blocked_crowd.advance(LATER)}
    common = plain.keys() & blocked.keys()
    assert len(common) > 100
    for key in common:
        assert plain[key].answers == blocked[key].answers
        assert plain[key].assignment_id == blocked[key].assignment_id
        assert (plain[key].submitted_at - plain[key].accepted_at
                == blocked[key].submitted_at - blocked[key].accepted_at)
    other_seed = {(s.hit_id, s.worker_id) for s in crowd_with(world, 60, seed=4).advance(LATER)}
    assert other_seed != plain.keys()


def test_workers_cannot_tell_gold_hits(world: World) -> None:
    normal = crowd_with(world, 20).advance(LATER)
    gold = crowd_with(world, 20, gold=True).advance(LATER)
    assert normal == gold


def test_better_pay_draws_workers_sooner(world: World) -> None:
    def mean_first_accept(reward: int) -> float:
        submissions = crowd_with(world, 100, reward_cents=reward).advance(LATER)
        firsts: dict[str, datetime] = {}
        for s in submissions:
            firsts[s.hit_id] = min(firsts.get(s.hit_id, s.accepted_at), s.accepted_at)
        created = {f"HIT{n:05d}": hit(world, n).created_at for n in range(100)}
        return sum((t - created[h]).total_seconds() for h, t in firsts.items()) / len(firsts)

    assert mean_first_accept(40) < mean_first_accept(5)


def test_spammers_are_fast(world: World) -> None:
    submissions = crowd_with(world, 100).advance(LATER)
    by_kind: dict[str, list[float]] = {}
    for s in submissions:
        kind = world.worker(s.worker_id).kind
        by_kind.setdefault(kind, []).append((s.submitted_at - s.accepted_at).total_seconds())
    spam, reliable = sorted(by_kind["spammer"]), sorted(by_kind["reliable"])
    assert spam[len(spam) // 2] * 3 < reliable[len(reliable) // 2]


def test_review_and_pay(world: World) -> None:
    crowd = crowd_with(world, 2)
    first, second, third, *_ = crowd.advance(LATER)
    crowd.approve_assignment(first.assignment_id)
    crowd.reject_assignment(second.assignment_id, "copied answer")
    assert crowd.assignment_status(first.assignment_id) == "Approved"
    assert crowd.assignment_status(second.assignment_id) == "Rejected"
    assert crowd.assignment_status(third.assignment_id) == "Submitted"
    with pytest.raises(ValueError):
        crowd.reject_assignment(first.assignment_id, "changed my mind")
    crowd.approve_assignment(second.assignment_id)  # overriding a rejection is allowed
    assert crowd.paid_cents() == 20
    stats = crowd.stats()
    assert (stats.hits, stats.submitted, stats.approved, stats.rejected) == (2, 10, 2, 0)
    assert sum(stats.submitted_by_kind.values()) == 10


def test_unsubmitted_assignments_are_unknown(world: World) -> None:
    crowd = crowd_with(world, 1)
    crowd.advance(T0)
    with pytest.raises(KeyError):
        crowd.assignment_status("NOPE")
    with pytest.raises(KeyError):
        crowd.approve_assignment("NOPE")


def test_a_restored_crowd_reviews_its_past_and_answers_no_hit_twice(world: World) -> None:
    """Issue 11: a restarted crowd heard a review of an assignment it had not made again
    (KeyError). Restored from its submissions it takes the review, and finishes every HIT with
    other workers, each assignment once: accepted work that was not submitted is drawn again."""
    cut = T0 + timedelta(minutes=3)
    first = crowd_with(world, 20)
    before = first.advance(cut)
    assert 0 < len(before) < 100 and first.stats().pending > 0
    again = SimulatedCrowd(world, seed=3)
    again.restore([*before, before[0]])  # read twice from the log: counts once
    again.approve_assignment(before[0].assignment_id)  # a review may come before its HIT
    for number in range(20):
        again.create_hit(hit(world, number))
    again.reject_assignment(before[1].assignment_id, "copied answer")
    after = drain(again)
    assert all(s.accepted_at >= before[-1].submitted_at for s in after)
    everything = before + after
    assert Counter(s.hit_id for s in everything) == {f"HIT{n:05d}": 5 for n in range(20)}
    assert len({s.assignment_id for s in everything}) == 100
    stats = again.stats()
    assert (stats.hits, stats.submitted, stats.approved, stats.rejected) == (20, 100, 1, 1)


def test_a_hit_full_before_the_restart_takes_only_its_extension(world: World) -> None:
    before = crowd_with(world, 1).advance(LATER)
    again = SimulatedCrowd(world, seed=3)
    again.restore(before)
    again.create_hit(hit(world, 0))
    assert again.next_submission_at() is None
    again.create_additional_assignments("HIT00000", 2)
    after = drain(again)
    assert len(after) == 2
    assert not {s.worker_id for s in after} & {s.worker_id for s in before}


def test_only_a_new_crowd_is_restored(world: World) -> None:
    with pytest.raises(ValueError):
        crowd_with(world, 1).restore([])
    stepped = SimulatedCrowd(world, seed=3)
    stepped.advance(T0)
    with pytest.raises(ValueError):
        stepped.restore([])
    empty = SimulatedCrowd(world, seed=3)
    empty.restore([])  # nothing submitted before: as new
    assert empty.clock is None


def test_publishing_is_idempotent_and_checked(world: World) -> None:
    crowd = SimulatedCrowd(world, seed=3)
    request = hit(world, 0)
    crowd.create_hit(request)
    crowd.create_hit(request)
    assert crowd.stats().hits == 1
    with pytest.raises(ValueError):
        crowd.create_hit(replace(request, reward_cents=11))
    with pytest.raises(KeyError):
        crowd.create_hit(replace(request, hit_id="X", provider_ref="no-such-athlete"))
    with pytest.raises(ValueError):
        crowd.create_hit(replace(request, hit_id="Y", platforms=("myspace",)))
    with pytest.raises(ValueError):
        crowd.create_hit(replace(request, hit_id="Z", created_at=datetime(2026, 1, 1)))
    with pytest.raises(ValueError):
        crowd.advance(datetime(2026, 1, 1))


def test_time_does_not_go_back(world: World) -> None:
    crowd = crowd_with(world, 5)
    crowd.advance(T0 + timedelta(hours=1))
    assert crowd.advance(T0) == []
    crowd.create_hit(hit(world, 99, created_at=T0))  # published "in the past": starts now
    later = crowd.advance(LATER)
    assert all(s.accepted_at > T0 + timedelta(hours=1) for s in later)


OPERATIONS = st.lists(st.tuples(st.sampled_from(("hit", "block", "expire", "more", "advance",
                                                 "step")),
                                st.integers(0, 60)), max_size=40)


@settings(max_examples=60)
@given(OPERATIONS)
def test_any_sequence_of_calls_keeps_the_rules(world: World,
                                               operations: list[tuple[str, int]]) -> None:
    crowd = SimulatedCrowd(world, seed=5)
    now, hits, wanted = T0, list[str](), Counter[str]()
    blocked: dict[str, datetime] = {}
    expired: dict[str, datetime] = {}
    submissions: list[Submission] = []
    for operation, n in operations:
        if operation == "hit":
            request = hit(world, len(hits), created_at=now, max_assignments=1 + n % 6)
            crowd.create_hit(request)
            hits.append(request.hit_id)
            wanted[request.hit_id] = request.max_assignments
        elif operation == "block":
            worker = world.workers[n % len(world.workers)].worker_id
            crowd.block_worker(worker, "test", now)
            blocked.setdefault(worker, now)
        elif operation == "expire" and hits:
            crowd.expire_hit(hits[n % len(hits)], now)
            expired.setdefault(hits[n % len(hits)], now)
        elif operation == "more" and hits:
            crowd.create_additional_assignments(hits[n % len(hits)], 1 + n % 3)
            wanted[hits[n % len(hits)]] += 1 + n % 3
        elif operation == "advance":
            now += timedelta(seconds=10 * n)
            submissions += crowd.advance(now)
        elif operation == "step" and (at := crowd.next_submission_at()) is not None:
            batch = crowd.advance(at)
            assert batch and batch[0].submitted_at == at
            now = at
            submissions += batch
    submissions += crowd.advance(now + timedelta(days=3))
    assert crowd.next_submission_at() is None
    times = [s.submitted_at for s in submissions]
    assert times == sorted(times)
    assert len({(s.hit_id, s.worker_id) for s in submissions}) == len(submissions)
    per_hit = Counter(s.hit_id for s in submissions)
    assert all(per_hit[h] <= wanted[h] for h in per_hit)
    for s in submissions:
        assert s.worker_id not in blocked or s.accepted_at <= blocked[s.worker_id]
        assert s.hit_id not in expired or s.accepted_at <= expired[s.hit_id]


def test_paid_hits_wait_for_qualified_workers_and_gold_hits_take_only_the_rest(
        world: World) -> None:
    crowd = SimulatedCrowd(world, seed=3)
    paid = hit(world, 0, qualification="q")
    crowd.create_hit(paid)
    crowd.create_hit(hit(world, 1, qualification="q", gold=True, max_assignments=50))
    crowd.create_hit(hit(world, 2, max_assignments=50))  # open to all
    first = crowd.advance(T0 + timedelta(hours=1))
    assert first and all(s.hit_id != paid.hit_id for s in first)  # nobody qualified: stalled
    assert crowd.next_submission_at() is None
    granted = {s.worker_id for s in first if s.hit_id == "HIT00001"}
    at = T0 + timedelta(hours=2)
    for worker_id in sorted(granted):
        crowd.grant_qualification(worker_id, "q", at)  # re-arms the stalled paid HIT
    crowd.create_hit(hit(world, 4, qualification="q", gold=True, max_assignments=50,
                         created_at=at))
    later = crowd.advance(LATER)
    taken = [s for s in later if s.hit_id == paid.hit_id]
    assert len(taken) == paid.max_assignments
    assert {s.worker_id for s in taken} <= granted and all(s.accepted_at >= at for s in taken)
    assert not granted & {s.worker_id for s in later if s.hit_id == "HIT00004"}


def test_a_worker_takes_one_qualification_hit_at_a_time(world: World) -> None:
    """Forty gold HITs open at once: without the rule each worker accepted several before
    finishing one (the broker's gold rush); with it, a worker's qualification HITs never
    overlap, and a HIT whose eligible workers are all busy waits for the first to be done."""
    crowd = SimulatedCrowd(world, seed=3)
    for number in range(40):
        crowd.create_hit(hit(world, number, qualification="q", gold=True, max_assignments=50))
    by_worker = _by_worker(drain(crowd, exact=False))
    for work in by_worker.values():
        work.sort(key=lambda s: s.accepted_at)
        assert all(a.submitted_at <= b.accepted_at for a, b in pairwise(work))
    assert max(len(work) for work in by_worker.values()) > 1  # they came back for more
    open_to_all = SimulatedCrowd(world, seed=3)
    for number in range(40):
        open_to_all.create_hit(hit(world, number, gold=True, max_assignments=50))
    overlapping = [w for w, work in _by_worker(drain(open_to_all)).items()
                   if any(a.submitted_at > b.accepted_at
                          for a, b in pairwise(sorted(work, key=lambda s: s.accepted_at)))]
    assert overlapping  # paid and plain gold HITs keep the old rule: the test can fail


def _by_worker(submissions: list[Submission]) -> dict[str, list[Submission]]:
    grouped: dict[str, list[Submission]] = {}
    for s in submissions:
        grouped.setdefault(s.worker_id, []).append(s)
    return grouped
