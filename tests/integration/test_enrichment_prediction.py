"""Enrichment and prediction on the real broker, with platforms that fight back.

The accepted handles of a small world are published as consensus would publish them, and the
Faust worker's enrichment stage fetches them from simulated platforms that rate-limit (429),
fail (5xx), answer slowly and, for a share of handles, hang on every request. Nothing may be
lost: every accepted handle ends as a profile or as an unavailable account, and the hanging
handles must not hold back the others, on their own partitions or elsewhere. Profiles are then
refreshed, and the prediction service learns from partnered-post outcomes while being killed
and restarted: it resumes from its snapshot and learns every outcome exactly once. Finally some
outcomes are redacted: the model is rebuilt without them and every athlete predicted again.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.codecs import default_codec
from streams.consensus.models import HandleAccepted
from streams.enrichment.clients import PlatformConfig
from streams.enrichment.models import ProfileEnriched, ProfileUnavailable
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.lineage.models import EventRetracted
from streams.prediction.models import ModelEvaluated, PageViewsObserved, PageViewsPredicted
from streams.producer import EventProducer
from streams.settings import Settings
from streams.simulation.convert import provider_records
from streams.simulation.partners import run_partner_service
from streams.world.files import write_world
from streams.world.generate import generate_world
from streams.world.model import World, WorldConfig
from tests.integration.processes import (
    ROOT,
    diagnosis,
    lineage_running,
    read_all,
    worker,
    worker_env,
)
from tests.lineage_factories import redaction

# The platforms serve 10 requests per second each (the client asks for 15, so 429s follow),
# fail 15% of requests with a 5xx, answer 10% ten times slower, and hang on 3% of the handles
# for two minutes: each attempt at those times out after 6 s, and after 5 they are
# "unreachable", 30 s at the earliest, when the other profiles are long out (~15 s).
FAULTS = {
    "CROWDLOG_PLATFORM_LATENCY": "0.05", "CROWDLOG_PLATFORM_RATE_LIMIT": "100",
    "CROWDLOG_PLATFORM_ERROR_RATE": "0.15", "CROWDLOG_PLATFORM_SLOW_RATE": "0.1",
    "CROWDLOG_PLATFORM_STALL_RATE": "0.03", "CROWDLOG_PLATFORM_STALL_SECONDS": "120",
    "CROWDLOG_FETCH_TIMEOUT": "6", "CROWDLOG_FETCH_ATTEMPTS": "5",
    "CROWDLOG_FETCH_RATE": "15", "CROWDLOG_REFRESH_AGE": "30",
}


def _acceptances(world: World) -> list[HandleAccepted]:
    """What consensus would accept: every true handle of every athlete in the feed."""
    accepted = []
    for record in provider_records(world):
        athlete = world.athlete(record.provider_ref)
        for platform, handle in sorted(athlete.handles.items()):
            if handle is None or platform in record.known_handles:
                continue
            meta = new_meta(event_type=HandleAccepted.schema_name, entity_id=record.entity_id,
                            occurred_at=datetime.now(UTC),
                            producer=Producer("consensus", "test", "pytest"),
                            provenance=Provenance("crowd", "H"), parents=(record.event_id,),
                            identity=[record.provider_ref, platform])
            accepted.append(HandleAccepted(
                meta=meta, hit_id=f"H-{record.provider_ref}", platform=platform, votes=(),
                agreement=1.0, confidence=1.0, posterior={}, method="quorum", revision=0,
                supersedes=None, handle=handle))
    return accepted


def _publish(settings: Settings, events: list[Event]) -> None:
    producer = EventProducer(settings, default_codec())
    for event in events:
        producer.send(event)
    producer.flush()


def _wait_for(settings: Settings, done: Callable[[list[Event]], bool],
              timeout: float) -> list[Event]:
    """The log, read again and again until ``done`` says so or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        events = read_all(settings)
        if done(events) or time.monotonic() > deadline:
            return events
        time.sleep(3)


@pytest.mark.long(150)
def test_enrichment_loses_nothing_under_faults_and_prediction_survives_a_kill(
        settings: Settings, tmp_path: Path) -> None:
    world = generate_world(WorldConfig(athletes=80, seed=21, workers=30))
    world_dir = tmp_path / "world"
    write_world(world, world_dir)
    records = list(provider_records(world))
    accepted = _acceptances(world)
    handles = {(a.entity_id, a.platform): a.handle or "" for a in accepted} | {
        (r.entity_id, p): h for r in records for p, h in r.known_handles.items()}
    stalled = _stalled_handles(world_dir, handles)
    assert stalled, "no hanging handle in this world: the test would prove nothing"
    env = {**worker_env(settings, tmp_path / "state", world_dir, "quorum"),
           "CROWDLOG_WORLD_DIR": str(world_dir), **FAULTS}
    log = tmp_path / "worker.log"
    with worker(env, log):
        _publish(settings, [*records, *accepted])

        def settled(events: list[Event]) -> bool:
            return handles.keys() <= _first_outcomes(events).keys()

        events = _wait_for(settings, settled, timeout=240)
        first = _first_outcomes(events)
        missing = sorted(handles.keys() - first.keys())
        assert not missing, (f"never enriched nor recorded unavailable: {missing[:5]}\n"
                             f"{diagnosis(settings, log)}")
        # The hanging handles became "unreachable" after their 5 attempts (30 s at least);
        # every other profile, on any partition (the hanging ones' included), was out before
        # the first of them: nothing waited behind a hanging fetch.
        for key in stalled:
            outcome = first[key]
            assert isinstance(outcome, ProfileUnavailable) and outcome.reason == "unreachable"
            assert outcome.attempts == 5
        first_stalled = min(first[key].meta.occurred_at for key in stalled)
        others = [e for key, e in first.items() if key not in stalled]
        late = [(e.platform, getattr(e, "attempts", None), getattr(e, "reason", "found"),
                 (e.meta.occurred_at - first_stalled).total_seconds())
                for e in others if e.meta.occurred_at >= first_stalled]
        assert not late, f"{len(late)} of {len(others)} came after a hanging one: {late[:8]}"
        # 429s and 5xx were retried through: at most 1% gave up (5 straight 5xx: p = 8e-5).
        retried = [e for e in others if isinstance(e, ProfileEnriched) and e.attempts > 1]
        gave_up = [e for e in others if isinstance(e, ProfileUnavailable)
                   and e.reason == "unreachable"]
        assert len(retried) >= 10 and len(gave_up) <= 0.01 * len(others)

        def refreshed(events: list[Event]) -> bool:
            return any(isinstance(e, ProfileEnriched) and e.fetch >= 1 for e in events)

        events = _wait_for(settings, refreshed, timeout=120)
        refresh = next(e for e in events if isinstance(e, ProfileEnriched) and e.fetch >= 1)
        assert refresh.supersedes in {e.event_id for e in events}
        assert refresh.supersedes in refresh.meta.parents
    _predict_through_a_kill(settings, world, tmp_path)


def _stalled_handles(world_dir: Path,
                     handles: dict[tuple[str, str], str]) -> set[tuple[str, str]]:
    """Which handles hang on every request, as the worker's platforms are configured."""
    config = PlatformConfig.from_env({"CROWDLOG_WORLD_DIR": str(world_dir), **FAULTS})
    assert config is not None
    platforms = config.platforms()
    return {key for key, handle in handles.items() if platforms[key[1]].stalls(handle)}


def _first_outcomes(events: list[Event]) -> dict[tuple[str, str], Event]:
    """The first fetch outcome (profile or unavailable) per record and platform."""
    first: dict[tuple[str, str], Event] = {}
    for event in events:
        if isinstance(event, ProfileEnriched | ProfileUnavailable) and event.fetch == 0:
            first.setdefault((event.entity_id, event.platform), event)
    return first


def _predict_through_a_kill(settings: Settings, world: World, tmp_path: Path) -> None:
    """Outcomes flow while ``crowdlog predict`` is SIGKILLed and restarted."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "CROWDLOG_TOPIC_PREFIX": settings.topic_prefix,
           "CROWDLOG_STATE_DIR": str(tmp_path / "state"), "CROWDLOG_LOG_LEVEL": "warning",
           "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "streams.cli", "predict"]
    log = (tmp_path / "predict.log").open("ab")
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    partners = threading.Thread(target=run_partner_service, daemon=True, args=(
        settings, default_codec(), world), kwargs={"rate": 40.0, "idle_timeout": 8.0})
    partners.start()
    snapshots = tmp_path / "state" / "prediction" / f"{settings.topic_prefix}linear"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
            list(snapshots.glob("*.snapshot")) and _count(settings, ModelEvaluated) >= 60):
        time.sleep(2)
    first.send_signal(signal.SIGKILL)  # once a snapshot exists, so the restart restores one
    first.wait()
    second = subprocess.Popen([*command, "--idle-timeout", "12"], cwd=ROOT, env=env,
                              stdout=log, stderr=log)
    partners.join(300)
    assert second.wait(300) == 0, (tmp_path / "predict.log").read_text()[-3000:]
    assert "restored a snapshot" in (tmp_path / "predict.log").read_text()
    events = read_all(settings)
    outcomes = {e.event_id for e in events if isinstance(e, PageViewsObserved)}
    evaluations = {e.event_id: e for e in events if isinstance(e, ModelEvaluated)}.values()
    learned = [e.meta.parents[0] for e in evaluations]
    assert sorted(e.outcomes for e in evaluations) == list(range(1, len(outcomes) + 1))
    assert len(learned) == len(set(learned)) and set(learned) == outcomes
    assert any(isinstance(e, PageViewsPredicted) and e.model_outcomes > 0 for e in events)
    _redact_outcomes(settings, command=command, env=env, tmp_path=tmp_path, learned=learned,
                     total=len(outcomes))


def _redact_outcomes(settings: Settings, *, command: list[str], env: dict[str, str],
                     tmp_path: Path, learned: list[str], total: int) -> None:
    """Outcomes found to be wrong are redacted: the model is rebuilt without them."""
    withdrawn = sorted(learned)[:10]
    _publish(settings, [redaction(event_ids=tuple(withdrawn),
                                  reason="the tracking pixel double-counted")])
    with lineage_running(settings) as lineage:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
                lineage.report.caught_up and lineage.report.retractions >= len(withdrawn)):
            time.sleep(1)
    log = tmp_path / "predict.log"
    with log.open("ab") as out:
        third = subprocess.run([*command, "--idle-timeout", "20"], cwd=ROOT, env=env,
                               stdout=out, stderr=out, timeout=300, check=False)
    assert third.returncode == 0, log.read_text()[-3000:]
    events = read_all(settings)
    retracted = {e.retracted_id for e in events if isinstance(e, EventRetracted)}
    assert set(withdrawn) <= retracted
    rebuilt = [e for e in events if isinstance(e, PageViewsPredicted)
               and e.model_outcomes == total - len(withdrawn)]
    # every athlete is predicted again by the model that never learned the withdrawn outcomes
    assert len({e.entity_id for e in rebuilt}) >= 0.9 * len(
        {e.entity_id for e in events if isinstance(e, PageViewsPredicted)}), log.read_text()[-2000:]


def _count(settings: Settings, kind: type[Event]) -> int:
    return sum(isinstance(e, kind) for e in read_all(settings))
