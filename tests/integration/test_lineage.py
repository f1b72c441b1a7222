"""Redaction on the real broker: a faulty consensus version, a spammer and a bad feed.

One run, three redactions, all checked against the lineage computed independently from the
event index (a recursive SQL query over ``event_parents``):

1. a misconfigured consensus (a quorum of 1: the first answer wins) decides a world; the
   fixed version (Dawid-Skene) takes over and the faulty version is redacted: exactly its
   descendants are retracted, the fields are decided again (re-opened HITs get the answers
   they still need) and precision is back at the level of a run that never had the fault;
2. a spammer is redacted: exactly the records whose live decisions counted them are decided
   again (or re-opened);
3. a second provider's feed is redacted: exactly its records and their descendants go.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sinks.checksum import checksum
from streams.codecs import default_codec
from streams.consensus.models import Decision
from streams.events.model import Event, Producer
from streams.lineage.models import EventRetracted, RedactionRequested
from streams.producer import EventProducer
from streams.records.core import normalise_row
from streams.records.models import RecordReceived
from streams.settings import Settings
from streams.simulation.local import run_local
from streams.simulation.score import Score, score
from streams.tasks.models import AssignmentSubmitted, HitExtended
from streams.tools.audit import verify
from streams.tools.replay import replay
from streams.world.files import write_world
from streams.world.generate import generate_world
from streams.world.model import World, WorldConfig
from tests.integration.processes import (
    crowd_running,
    diagnosis,
    ingest,
    lineage_running,
    read_all,
    wait_quiet,
    worker,
    worker_env,
)
from tests.lineage_factories import redaction

FAULTY_VERSION = "1.0.0+quorum-1"
BAD_FEED = "bad-feed"
# Descendants by SQL, walking parent -> child edges; lineage's own events are not walked.
DESCENDANTS = """
WITH RECURSIVE reached(event_id) AS (
    SELECT event_id FROM events WHERE ({where}) AND event_type NOT LIKE 'crowdlog.lineage.%'
    UNION
    SELECT p.event_id FROM event_parents p
    JOIN reached r ON p.parent_id = r.event_id
    JOIN events e ON e.event_id = p.event_id
    WHERE e.event_type NOT LIKE 'crowdlog.lineage.%'
)
SELECT event_id FROM reached
"""


def _request(producer: EventProducer, **criteria: Any) -> RedactionRequested:
    request = redaction(reason="integration test", **criteria)
    producer.send(request)
    producer.flush()
    return request


def _bad_feed(world: World, settings: Settings, count: int) -> list[RecordReceived]:
    """A second provider sending a few of the same athletes: the feed to be redacted."""
    records: list[RecordReceived] = []
    producer = EventProducer(settings, default_codec())
    for row in world.provider_rows[:count * 2]:
        record = normalise_row(row.fields, provider=BAD_FEED, received_at=world.config.as_of,
                               producer=Producer("records", "1.0.0", "pytest"))
        if isinstance(record, RecordReceived) and len(records) < count:
            records.append(record)
            producer.send(record)
    producer.close()
    return records


def _live(events: list[Event]) -> list[Event]:
    retracted = {e.retracted_id for e in events if isinstance(e, EventRetracted)}
    return [e for e in events if e.event_id not in retracted]


@dataclass
class _Run:
    """What the broker run left: the log, and what the test asked and saw on the way."""

    events: list[Event]
    faulty_score: Score
    before_spam: list[Event]
    spammer: str
    requests: dict[str, RedactionRequested]


def _run(settings: Settings, tmp_path: Path, world: World) -> _Run:
    """Faulty worker, then the fixed one; the three redactions; each time until all is quiet.

    One crowd runs throughout (its clock and memory span the worker swap), so the HITs the
    redaction re-opens get answers as on a real crowd platform.
    """
    world_dir = tmp_path / "world"
    write_world(world, world_dir)
    state_dir, log = tmp_path / "state", tmp_path / "worker.log"
    faulty_env = {**worker_env(settings, state_dir, world_dir, "quorum"), "CROWDLOG_QUORUM": "1"}
    fixed_env = worker_env(settings, state_dir, world_dir, "dawid-skene")
    requests: dict[str, RedactionRequested] = {}
    with EventProducer(settings, default_codec()) as producer, \
            crowd_running(settings, world, until_stopped=True) as crowd, \
            lineage_running(settings) as lineage:
        def settled(timeout: float = 480) -> bool:
            return wait_quiet(settings, lineage=lineage.report, timeout=timeout,
                              watch=(crowd, lineage))

        with worker(faulty_env, log):
            ingest(settings, world)
            _bad_feed(world, settings, 5)
            assert settled(), f"{diagnosis(settings, log, crowd, lineage)}\n{lineage.report}"
        faulty_score = score(world, read_all(settings))
        with worker(fixed_env, log):
            requests["faulty"] = _request(producer, stage="consensus",
                                          version_min=FAULTY_VERSION,
                                          version_max=FAULTY_VERSION)
            assert settled(), f"{diagnosis(settings, log, crowd, lineage)}\n{lineage.report}"
            before_spam = read_all(settings)
            spammer = _counted_spammer(world, _live(before_spam))
            requests["spam"] = _request(producer, worker_id=spammer)
            requests["feed"] = _request(producer, source=f"provider:{BAD_FEED}")
            assert settled(), f"{diagnosis(settings, log, crowd, lineage)}\n{lineage.report}"
    return _Run(read_all(settings), faulty_score, before_spam, spammer,
                requests)


def _closures(database: str, spammer: str) -> dict[str, set[str]]:
    """Each redaction's descendants, computed by SQL from the event index alone."""
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            def closure(where: str, **params: Any) -> set[str]:
                rows = connection.execute(text(DESCENDANTS.format(where=where)), params)
                return {row[0] for row in rows}

            return {
                "faulty": closure("stage = 'consensus' AND stage_version = :v",
                                  v=FAULTY_VERSION),
                "spam": closure("event_type = 'crowdlog.tasks.AssignmentSubmitted' AND "
                                "payload LIKE :w", w=f'%"worker_id": "{spammer}"%'),
                "feed": closure("provenance_source = :s", s=f"provider:{BAD_FEED}"),
            }
    finally:
        engine.dispose()


@pytest.mark.long(150)
def test_redacting_a_faulty_version_a_spammer_and_a_feed_retracts_exactly_their_lineage(
        settings: Settings, tmp_path: Path, postgres_database: str) -> None:
    world = generate_world(WorldConfig(athletes=60, seed=11, workers=60))
    run = _run(settings, tmp_path, world)
    events = run.events
    sqlite_index = f"sqlite:///{tmp_path / 'index.db'}"
    replay(settings, default_codec(), sqlite_index)
    closures = _closures(sqlite_index, run.spammer)

    # 1. exactly the descendants, no more, no fewer, each once; an event descending from two
    # selections is retracted once, by whichever redaction reached it first
    retractions = [e for e in events if isinstance(e, EventRetracted)]
    by_redaction: dict[str, set[str]] = {}
    for retraction in retractions:
        by_redaction.setdefault(retraction.redaction_id, set()).add(retraction.retracted_id)
    retracted = set().union(*by_redaction.values())
    everything = set().union(*closures.values())
    assert len(retractions) == len(retracted)
    assert closures["faulty"] and retracted == everything, _explain(
        events, everything - retracted, retracted - everything, retracted)
    for name, request in run.requests.items():
        assert by_redaction[request.event_id] <= closures[name], name

    # re-derivation: precision back at the level of a run that never had the fault
    fixed = score(world, events)  # scores live events only: the feed's are all retracted
    clean = score(world, run_local(world).events)
    report = "\n".join(["faulty:", *run.faulty_score.lines(), "after redaction:",
                        *fixed.lines(), "never faulty:", *clean.lines()])
    assert run.faulty_score.precision < clean.precision - 0.02, report  # the fault was real
    assert fixed.precision >= clean.precision - 0.01, report
    assert fixed.coverage >= 0.95, report
    print(report, {name: len(by_redaction[r.event_id]) for name, r in run.requests.items()})

    # 2. the spammer: exactly the records whose live decisions counted them are re-decided
    before = {e.event_id: e for e in run.before_spam}
    affected = {before[i].entity_id for i in closures["spam"]
                if isinstance(before.get(i), Decision)}
    redecided = {e.entity_id for e in events if e.event_id not in before
                 and isinstance(e, Decision | HitExtended) and not _from_feed(e)}
    assert redecided == affected - _feed_entities(events), (run.spammer, sorted(affected))

    # the auditor's view: nothing live derives from a retracted event, on the log or in the
    # views; and a second replay, into PostgreSQL, gives the same content
    audit = verify(settings, default_codec(), database_url=sqlite_index)
    assert audit.clean, "\n".join(audit.lines())
    replay(settings, default_codec(), postgres_database)
    assert _checksum(sqlite_index) == _checksum(postgres_database)


def _checksum(url: str) -> str:
    engine = create_engine(url)
    try:
        return checksum(engine)
    finally:
        engine.dispose()


def _explain(events: list[Event], missed: set[str], extra: set[str],
             retracted: set[str]) -> str:
    """What a failed lineage comparison needs: the events in question and their parents."""
    by_id = {e.event_id: e for e in events}
    lines = []
    for label, ids in (("not retracted", missed), ("retracted beyond", extra)):
        for event_id in sorted(ids)[:10]:
            event = by_id.get(event_id)
            if event is None:
                lines.append(f"{label}: {event_id} (not on the log)")
                continue
            parents = [(p, by_id[p].meta.event_type if p in by_id else "?", p in retracted)
                       for p in event.meta.parents]
            lines.append(f"{label}: {event.meta.event_type} {event_id} "
                         f"{event.meta.producer} parents={parents}")
    return "\n".join(lines)


def _from_feed(event: Event) -> bool:
    return event.entity_id.startswith(f"{BAD_FEED}:")


def _feed_entities(events: list[Event]) -> set[str]:
    return {e.entity_id for e in events if _from_feed(e)}


def _counted_spammer(world: World, live: list[Event]) -> str:
    """The unreliable worker whose answers live decisions counted most: one that slipped
    through (the outright spammers are blocked before the fixed version counts them)."""
    spammers = {w.worker_id for w in world.workers if w.kind != "reliable"}
    assignments = {e.event_id: e.worker_id for e in live if isinstance(e, AssignmentSubmitted)}
    counts: dict[str, int] = {}
    for event in live:
        if isinstance(event, Decision):
            for parent in event.meta.parents:
                worker_id = assignments.get(parent)
                if worker_id in spammers:
                    counts[worker_id] = counts.get(worker_id, 0) + 1
    assert counts, "no live decision counted an unreliable worker: nothing to redact"
    return max(sorted(counts), key=counts.__getitem__)
