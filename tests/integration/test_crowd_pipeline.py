"""The crowd pipeline on the real broker: the stage runner, simulated crowd, scored against truth.

The worker runs as a real ``crowdlog worker`` process; one test kills it with SIGKILL three
times in the middle of the stream, starts another each time, and checks that no decision is
lost, duplicated or changed.
"""

from __future__ import annotations

import signal
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from streams.codecs import default_codec
from streams.consensus.core import ConsensusConfig
from streams.consensus.models import Decision, HandleAccepted
from streams.events.deadletter import MessageDeadLettered
from streams.events.model import Event
from streams.producer import EventProducer
from streams.settings import Settings
from streams.simulation.local import run_local
from streams.simulation.score import score
from streams.tasks.models import AssignmentSubmitted, HitPublished
from streams.topics import CONSENSUS_RESULTS, TASKS_ASSIGNMENTS, WORKERS_REVIEWS, full_name
from streams.world.files import write_world
from streams.world.generate import generate_world
from streams.world.model import World, WorldConfig
from tests.integration.processes import (
    check_hits_answered_as_asked,
    crowd_running,
    diagnosis,
    ingest,
    read_all,
    worker,
    worker_env,
    written,
)


def _world(tmp_path: Path, athletes: int) -> tuple[World, Path]:
    world = generate_world(WorldConfig(athletes=athletes, seed=11, workers=60))
    directory = tmp_path / "world"
    write_world(world, directory)
    return world, directory


def _check_no_decision_lost_or_duplicated(events: list[Event]) -> list[Decision]:
    hits = {e.hit_id: e for e in events if isinstance(e, HitPublished) and not e.gold}
    decisions: list[Decision] = [e for e in events if isinstance(e, Decision)]
    by_slot: dict[tuple[str, str, int], set[str]] = {}
    for decision in decisions:
        slot = (decision.hit_id, decision.platform, decision.revision)
        by_slot.setdefault(slot, set()).add(decision.event_id)
    duplicated = {slot: ids for slot, ids in by_slot.items() if len(ids) > 1}
    assert not duplicated, f"two different decisions for the same field revision: {duplicated}"
    decided = {(hit_id, platform) for hit_id, platform, _ in by_slot}
    wanted = {(h.hit_id, p) for h in hits.values() for p in h.platforms}
    assert wanted - decided == set(), f"fields never decided: {sorted(wanted - decided)[:5]}"
    return decisions


@pytest.mark.solo
def test_a_2000_athlete_world_through_the_broker_is_precise_and_cheap(
        settings: Settings, tmp_path: Path) -> None:
    """The issue's end-to-end bar: 5% namesakes, 10% spammers, 2,000 athletes, real broker."""
    world = generate_world(WorldConfig(athletes=2000, seed=1))
    world_dir = tmp_path / "world"
    write_world(world, world_dir)
    env = worker_env(settings, tmp_path / "state", world_dir, "dawid-skene")
    log = tmp_path / "worker.log"
    with worker(env, log):
        records = ingest(settings, world)
        with crowd_running(settings, world) as crowd:
            crowd.join(900)
        summary = crowd.summary
        assert summary is not None and summary.finished, diagnosis(settings, log, crowd)
    events = read_all(settings)
    _check_no_decision_lost_or_duplicated(events)
    result = score(world, events)
    collect_all = score(world, run_local(
        world, consensus_config=ConsensusConfig(early_stop=False)).events)
    report = "\n".join([*result.lines(), "collect all:", *collect_all.lines(),
                        f"saved: {1 - result.submitted / collect_all.submitted:.1%}"])
    print(report)  # `make test` shows it (-rP): the broker's figures, run after run
    assert summary.hits >= records, report
    assert result.precision >= 0.995 and result.precision >= collect_all.precision - 0.0005, report
    assert result.coverage >= 0.99, report
    # In process early stopping saves 40% (with qualification before pay); here the whole feed
    # opens ~2,000 HITs at once, with no worker history yet. Until issue 13 the saving spread
    # from 7.7% to 30% from run to run: the crowd applied a block or an expiry at its event's
    # time, and a decision carries its record's feed time, weeks ahead of a crowd that heard the
    # whole feed at once. Applied when heard (as on Mechanical Turk), the run repeats: 37.8%
    # three times. With qualification (issue 14) it first fell to 23.7%: all ~600 gold HITs
    # opened at once and each new worker accepted ~20 before a grade reached them (4,242 gold
    # assignments); a worker now takes one qualification HIT at a time (866), and a gold
    # answer weighs one answer, not two (three wrong fields from two sloppy, newly qualified
    # workers otherwise): 42.8%, spammers paid for nothing. The bar is 30%.
    assert result.submitted <= 0.70 * collect_all.submitted, report
    assert result.blocked["spammer"] == result.workers["spammer"], report
    assert result.blocked_share("reliable") <= 0.01, report
    assert not [e for e in events if isinstance(e, MessageDeadLettered)
                and e.source_topic is not None], report


@pytest.mark.long(240)
def test_killing_the_worker_three_times_loses_duplicates_and_changes_no_decision(
        settings: Settings, tmp_path: Path) -> None:
    """Issue 13's guarantee: SIGKILL at three points of a 400-athlete run, each time restarted
    (with its state directory lost: the stages' state lives in their changelogs). No input is
    lost, no live decision duplicated, and every field ends as the uninterrupted in-process
    reference run decides it. Also: a poison message on a stage's input is dead-lettered and
    the stages go on."""
    world, world_dir = _world(tmp_path, athletes=400)
    env = worker_env(settings, tmp_path / "state", world_dir, "quorum")
    log = tmp_path / "worker.log"
    poison = b"\xc3\x01 not an event"
    reference = _outcomes(run_local(world, consensus_config=ConsensusConfig(method="quorum"))
                          .events)
    with ExitStack() as running:
        first = running.enter_context(worker(env, log))
        raw = EventProducer(settings, default_codec())
        raw.send_encoded("acme:poison", poison,
                         full_name(TASKS_ASSIGNMENTS, settings.topic_prefix))
        raw.flush()
        ingest(settings, world)
        with crowd_running(settings, world) as crowd:
            current, kills = first, 0
            for share in (0.1, 0.4, 0.7):  # of the fields the reference run decides
                deadline = time.monotonic() + 240
                while (time.monotonic() < deadline and crowd.is_alive()
                       and not _decided_some(settings, int(share * len(reference)))):
                    time.sleep(0.5)
                if not crowd.is_alive():
                    break
                current.send_signal(signal.SIGKILL)
                current.wait()
                kills += 1
                current = running.enter_context(worker(
                    {**env, "CROWDLOG_STATE_DIR": str(tmp_path / f"state-{kills}")}, log))
            crowd.join(540)
            finished = crowd.summary is not None and crowd.summary.finished
            assert finished, diagnosis(settings, log, crowd)
    assert kills == 3, "the run ended before the third kill: kill earlier"
    events = read_all(settings)
    _check_no_decision_lost_or_duplicated(events)
    outcomes = _outcomes(events)
    differ = {field: (outcomes.get(field), want) for field, want in reference.items()
              if outcomes.get(field) != want}
    assert not differ, f"{len(differ)} fields decided otherwise, e.g. {sorted(differ.items())[:5]}"
    letters = [e for e in events if isinstance(e, MessageDeadLettered)]
    assert letters and {e.original_value for e in letters} == {poison}
    assert {e.error for e in letters} == {"unknown_fingerprint"}


def _outcomes(events: list[Event]) -> dict[tuple[str, str], str]:
    """Each field's live outcome: its latest decision's handle, "no account" or "failed"."""
    latest: dict[tuple[str, str], Decision] = {}
    for decision in (e for e in events if isinstance(e, Decision)):
        field = (decision.hit_id, decision.platform)
        if field not in latest or decision.revision > latest[field].revision:
            latest[field] = decision
    return {field: (decision.handle or "no account") if isinstance(decision, HandleAccepted)
            else "failed"
            for field, decision in latest.items()}


def _decided_some(settings: Settings, at_least: int = 50) -> bool:
    consumer = Consumer({**settings.kafka_config(), "group.id": "probe"})
    try:
        topic = full_name(CONSENSUS_RESULTS, settings.topic_prefix)
        total = 0
        for partition in range(CONSENSUS_RESULTS.partitions):
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                        timeout=10)
            total += high
        return total >= at_least
    finally:
        consumer.close()


@pytest.mark.long(130)
def test_the_crowd_restarted_mid_run_goes_on_and_submits_nothing_twice(
        settings: Settings, tmp_path: Path) -> None:
    """Issue 11: ``crowd simulate`` started again once assignments had been approved died with
    a KeyError. Now it takes back its submissions and finishes the run: every field decided
    once, every assignment submitted once, no HIT over the assignments it asked for."""
    world, world_dir = _world(tmp_path, athletes=150)
    env = worker_env(settings, tmp_path / "state", world_dir, "quorum")
    log = tmp_path / "worker.log"
    with worker(env, log):
        ingest(settings, world)
        with crowd_running(settings, world) as first:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and first.is_alive() and not (
                    _decided_some(settings) and written(settings, WORKERS_REVIEWS) > 0):
                time.sleep(0.5)
        assert first.summary is not None and not first.summary.finished, \
            diagnosis(settings, log, first)
        with crowd_running(settings, world) as second:
            second.join(540)
        assert second.summary is not None and second.summary.finished, \
            diagnosis(settings, log, second)
    events = read_all(settings)
    _check_no_decision_lost_or_duplicated(events)
    submitted = [e for e in events if isinstance(e, AssignmentSubmitted)]
    print(f"submitted {first.summary.submitted} before the restart, "
          f"{second.summary.submitted} after; {len(submitted)} on the log")
    assert first.summary.submitted > 0 and second.summary.submitted > 0
    assert len(submitted) == first.summary.submitted + second.summary.submitted
    assert len({e.assignment_id for e in submitted}) == len(submitted)
    check_hits_answered_as_asked(events)
