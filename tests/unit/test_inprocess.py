"""The in-process runner: routing by topic, state, order, time, ticks, and retractions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import pytest

from streams.consensus.models import Decision
from streams.events.model import Event, Producer
from streams.inprocess import InProcessRunner
from streams.lineage.core import LineageConfig
from streams.lineage.models import EventRetracted
from streams.lineage.stage import lineage_stage
from streams.simulation.local import LocalPipeline, run_local
from streams.stage import Stage, State
from streams.tasks.models import AssignmentSubmitted
from streams.topics import LINEAGE_RETRACTIONS, RECORDS_RECEIVED, TASKS_ASSIGNMENTS, TASKS_HITS
from streams.workers.models import QualificationRevoked, WorkerQualified
from streams.world.generate import generate_world
from streams.world.model import World, WorldConfig
from tests.factories import T0, assignment, hit, record
from tests.lineage_factories import redaction

PRODUCER = Producer("test", "1.0.0", "test")


class _Recorder:
    """A stage's step that records what it saw and answers from a table."""

    def __init__(self, answers: Mapping[str, list[Event]] | None = None) -> None:
        self.seen: list[tuple[str, State | None, str]] = []
        self.answers = answers or {}

    def __call__(self, key: str, stored: Mapping[str, Any] | None,
                 event: Event) -> tuple[State | None, list[Event]]:
        self.seen.append((key, dict(stored) if stored is not None else None, event.event_id))
        count = (stored or {}).get("count", 0) + 1
        return {"count": count, "pair": (count, event.event_id)}, self.answers.get(
            event.event_id, [])


def test_events_go_to_the_stages_reading_their_topic_first_in_first_out() -> None:
    rec, hit1, hit2 = record(), hit(hit_id="H1"), hit(hit_id="H2")
    answer = assignment(1, {"twitter": "x"})
    records = _Recorder({rec.event_id: [hit1, hit2]})
    hits = _Recorder({hit1.event_id: [answer]})
    assignments = _Recorder()
    runner = InProcessRunner([Stage("records", (RECORDS_RECEIVED,), records, PRODUCER),
                              Stage("hits", (TASKS_HITS,), hits, PRODUCER),
                              Stage("answers", (TASKS_ASSIGNMENTS,), assignments, PRODUCER)])

    logged = runner.feed(rec)

    # breadth first: both HITs before the answer the first one caused
    assert logged == [rec, hit1, hit2, answer] == runner.log
    assert [seen[2] for seen in records.seen] == [rec.event_id]
    assert [seen[2] for seen in hits.seen] == [hit1.event_id, hit2.event_id]
    assert [seen[2] for seen in assignments.seen] == [answer.event_id]


def test_state_is_kept_per_key_and_through_json_as_a_restore_gives_it() -> None:
    def run(through_json: bool) -> tuple[_Recorder, InProcessRunner]:
        step = _Recorder()
        runner = InProcessRunner([Stage("count", (TASKS_HITS,), step, PRODUCER)],
                                 through_json=through_json)
        for event in (hit("acme:1", "H1"), hit("acme:2", "H2"), hit("acme:1", "H3")):
            runner.feed(event)
        return step, runner

    step, runner = run(through_json=True)
    assert [(key, (stored or {}).get("count")) for key, stored, _ in step.seen] == [
        ("acme:1", None), ("acme:2", None), ("acme:1", 1)]
    assert runner.states("count")["acme:1"]["count"] == 2
    assert runner.states("count")["acme:1"]["pair"] == [2, hit("acme:1", "H3").event_id]
    # without it the state is kept as the step returned it, as the Kafka runner keeps it
    _, kept = run(through_json=False)
    assert isinstance(kept.states("count")["acme:1"]["pair"], tuple)


def test_events_sent_beside_a_step_follow_its_outputs_and_time_is_event_time() -> None:
    rec, out, beside, later = record(), hit(hit_id="H1"), hit(hit_id="H2"), hit(hit_id="H3")
    times = []

    def first(_key: str, _stored: Mapping[str, Any] | None,
              event: Event) -> tuple[State | None, list[Event]]:
        times.append(runner.now())
        runner.send(beside)
        return None, [out]

    def second(_key: str, _stored: Mapping[str, Any] | None,
               event: Event) -> tuple[State | None, list[Event]]:
        return None, [later]

    runner = InProcessRunner([Stage("first", (RECORDS_RECEIVED,), first, PRODUCER),
                              Stage("second", (RECORDS_RECEIVED,), second, PRODUCER)])
    with pytest.raises(LookupError):
        runner.now()
    assert [e.event_id for e in runner.feed(rec)] == [
        rec.event_id, out.event_id, beside.event_id, later.event_id]
    assert times == [rec.meta.occurred_at]


def test_a_tick_runs_only_when_asked_with_the_stage_states() -> None:
    ticked: list[list[str]] = []
    emitted = hit(hit_id="H9")

    def tick(states: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        ticked.append([key for key, _state in states])
        runner.send(emitted)

    runner = InProcessRunner([Stage("count", (TASKS_HITS,), _Recorder(), PRODUCER,
                                    tick=tick)])
    runner.feed(hit("acme:1", "H1"))
    assert ticked == []
    assert runner.tick() == [emitted]
    assert ticked == [["acme:1"]] and runner.log[-1] == emitted


def test_a_whole_log_stage_reads_topics_of_any_partitioning_but_no_group_can_share_it() -> None:
    stage = lineage_stage(LineageConfig())
    with pytest.raises(ValueError, match="whole log"):
        _ = stage.partitions
    with pytest.raises(ValueError, match="co-partitioned"):
        Stage("mixed", stage.sources, stage.step, PRODUCER)


def test_a_redaction_reaches_the_stages_through_lineage_retractions() -> None:
    rec = record()
    retractions = _Recorder()
    runner = InProcessRunner([lineage_stage(LineageConfig()),
                              Stage("follower", (LINEAGE_RETRACTIONS,), retractions, PRODUCER)])
    runner.feed(rec)
    request = redaction(event_ids=(rec.event_id,))
    logged = runner.feed(request)
    assert [type(e).__name__ for e in logged] == ["RedactionRequested", "EventRetracted"]
    retraction = logged[1]
    assert isinstance(retraction, EventRetracted) and retraction.retracted_id == rec.event_id
    assert [(key, event_id) for key, _, event_id in retractions.seen] == [
        (rec.entity_id, retraction.event_id)]


def _small_world() -> World:
    return generate_world(WorldConfig(athletes=60, seed=11, workers=60))


@pytest.mark.parametrize("downstream", [False, True])
def test_every_crowd_state_survives_its_changelog(downstream: bool) -> None:
    """The whole reference run again, every state through JSON: the same events, in order."""
    world = _small_world()
    kept = run_local(world, downstream=downstream).events
    pipeline = LocalPipeline(world, downstream=downstream, through_json=True)
    pipeline.ingest()
    pipeline.answer()
    if downstream:
        pipeline.observe_outcomes(posts_per_athlete=3)
    pipeline.close()
    assert [e.event_id for e in pipeline.events] == [e.event_id for e in kept]


def _live(events: list[Event]) -> list[Event]:
    retracted = {e.retracted_id for e in events if isinstance(e, EventRetracted)}
    return [e for e in events if e.event_id not in retracted]


def _descendants(events: list[Event], roots: set[str]) -> set[str]:
    """Everything derived from ``roots``, not through lineage's own events (as the broker
    test's SQL over the event index computes it)."""
    children: dict[str, list[str]] = {}
    for event in events:
        if not event.meta.event_type.startswith("crowdlog.lineage."):
            for parent in event.meta.parents:
                children.setdefault(parent, []).append(event.event_id)
    reached, todo = set(roots), list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in reached:
                reached.add(child)
                todo.append(child)
    return reached


def test_redacting_a_spammer_in_process_retracts_their_lineage_and_re_decides() -> None:
    world = _small_world()
    pipeline = LocalPipeline(world, lineage=LineageConfig())
    pipeline.ingest()
    pipeline.answer()
    before = list(pipeline.events)
    unreliable = {w.worker_id for w in world.workers if w.kind != "reliable"}
    answers = {e.event_id: e.worker_id for e in before if isinstance(e, AssignmentSubmitted)}
    counted = [answers[p] for e in before if isinstance(e, Decision) for p in e.meta.parents
               if answers.get(p) in unreliable]
    assert counted, "no decision counted an unreliable worker: nothing to redact"
    spammer = max(sorted(set(counted)), key=counted.count)
    affected = {e.entity_id for e in before if isinstance(e, Decision)
                and any(answers.get(p) == spammer for p in e.meta.parents)}

    request = redaction(worker_id=spammer)  # at the crowd's time: re-opened HITs get answers
    at = pipeline.crowd.clock or T0
    pipeline.feed(replace(request, meta=replace(request.meta, occurred_at=at)))
    pipeline.answer()
    events = pipeline.events

    retracted = {e.retracted_id for e in events if isinstance(e, EventRetracted)}
    spam = {i for i, worker in answers.items() if worker == spammer}
    assert spam <= retracted
    assert retracted == _descendants(events, spam)
    redecided = {e.entity_id for e in _live(events[len(before):]) if isinstance(e, Decision)}
    assert affected and affected <= redecided
    # their answers counted, so they had qualified: with every gold answer gone, the grant goes
    revoked = [e for e in events[len(before):] if isinstance(e, QualificationRevoked)]
    assert [e.worker_id for e in revoked] == [spammer]
    assert spammer not in {e.worker_id for e in _live(events) if isinstance(e, WorkerQualified)}
    pipeline.close()
