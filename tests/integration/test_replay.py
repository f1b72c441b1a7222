"""`crowdlog replay` on the real broker: deterministic rebuilds into SQLite and PostgreSQL.

The same log replayed into two SQLite files and a PostgreSQL database must give one checksum,
with the retraction applied in all three; a replay must stop at the end offsets it captured
even while the log keeps growing, and refuses a database that already holds an index.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from sqlalchemy import create_engine, select

from sinks.checksum import checksum
from sinks.tables import events
from sinks.views import current_predictions, current_profiles, current_records
from streams.consensus.models import HandleAccepted
from streams.events.codec import Codec
from streams.events.model import Event
from streams.producer import EventProducer
from streams.settings import Settings
from streams.tools.replay import replay
from tests.factories import record
from tests.view_events import (
    decision,
    prediction,
    profile,
    record_at,
    redaction,
    retraction,
    worker_quality,
)


@pytest.fixture(autouse=True)
def fresh_logging() -> None:
    """Plain structlog defaults: a test that ran ``streams.cli.main`` in-process may have left
    loggers printing to its own, since closed, captured stderr."""
    structlog.reset_defaults()


def crowdlog(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "CROWDLOG_TOPIC_PREFIX": settings.topic_prefix, "CROWDLOG_LOG_FORMAT": "json"}
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def publish(settings: Settings, codec: Codec, log: list[Event]) -> None:
    with EventProducer(settings, codec) as producer:
        for event in log:
            producer.send(event)


def test_replays_into_sqlite_and_postgresql_agree_and_apply_the_retraction(
        settings: Settings, codec: Codec, tmp_path: Path, postgres_database: str) -> None:
    accepted = decision(handle="antdavis", entity_id="acme:42")
    assert isinstance(accepted, HandleAccepted)
    fetched = profile(accepted, fetch=0, followers=1000)
    refreshed = profile(accepted, fetch=1, followers=5000, supersedes=fetched.event_id)
    predicted = prediction(refreshed)
    asked = redaction()
    withdrawn = [retraction(asked, refreshed),
                 retraction(asked, predicted, via=refreshed.event_id)]
    # The retractions go first: on other topics, a replay may well apply them first.
    publish(settings, codec, [asked, *withdrawn, record_at(0), record_at(30, team="Pelicans"),
                              record(ref="7", name="Zach LaVine"), accepted, fetched, refreshed,
                              predicted, prediction(fetched, outcomes=2), worker_quality()])

    first_url = f"sqlite:///{tmp_path / 'first.db'}"
    done = crowdlog(settings, "replay", "--into", first_url, "--checksum")
    assert done.returncode == 0, done.stderr
    found = re.search(r"^checksum ([0-9a-f]{64})$", done.stdout, re.MULTILINE)
    assert found, done.stdout
    assert "12 events indexed, 0 undecodable, 0 refused" in done.stdout

    second_url = f"sqlite:///{tmp_path / 'second.db'}"
    report = replay(settings, codec, second_url)
    assert report.stored == 12 and not report.undecodable and not report.refused
    replay(settings, codec, postgres_database)
    digests = set()
    for url in (first_url, second_url, postgres_database):
        engine = create_engine(url)
        digests.add(checksum(engine))
        with engine.connect() as connection:
            assert connection.execute(select(events.c.retracted_by).where(
                events.c.event_id == refreshed.event_id)).scalar_one() == asked.event_id
            shown = connection.execute(select(current_profiles)).one()
            predictions = connection.execute(select(current_predictions)).all()
            records = connection.execute(select(current_records.c.entity_id,
                                                current_records.c.team)).all()
        engine.dispose()
        assert (shown.event_id, shown.followers) == (fetched.event_id, 1000)
        assert [p.model_outcomes for p in predictions] == [2]
        assert sorted(records) == [("acme:42", "Pelicans"), ("acme:7", "Lakers")]
    assert digests == {found.group(1)}

    again = crowdlog(settings, "replay", "--into", first_url)  # not into an index that exists
    assert again.returncode == 2 and "already holds an event index" in again.stderr


def test_a_replay_from_a_time_stops_at_the_end_it_captured_while_the_log_grows(
        settings: Settings, codec: Codec, tmp_path: Path) -> None:
    publish(settings, codec, [record(ref="before")])
    time.sleep(0.05)
    since = datetime.now(UTC)
    time.sleep(0.05)
    kept = [record(ref="after"), worker_quality()]
    publish(settings, codec, kept)
    with EventProducer(settings, codec) as producer:  # one undecodable message, after `since`
        producer.send_encoded("acme:junk", b"not an event", producer.topic_of(kept[0]))

    produced = 0
    stop = threading.Event()

    def keep_growing() -> None:  # one entity, so one partition and its order
        nonlocal produced
        with EventProducer(settings, codec) as producer:
            while not stop.is_set():
                producer.send(record(ref="late", name=f"Athlete {produced}"))
                producer.flush()
                produced += 1

    grower = threading.Thread(target=keep_growing)
    grower.start()
    try:
        while produced < 3:
            time.sleep(0.01)
        url = f"sqlite:///{tmp_path / 'since.db'}"
        report = replay(settings, codec, url, since=since, stall_timeout=10)
        while produced < 20:  # the log goes on after the replay returned
            time.sleep(0.01)
    finally:
        stop.set()
        grower.join()

    assert len(report.undecodable) == 1
    engine = create_engine(url)
    with engine.connect() as connection:
        names = dict(connection.execute(select(events.c.event_id, events.c.payload)).all())
    engine.dispose()
    assert {e.event_id for e in kept} <= set(names)
    assert record(ref="before").event_id not in names
    late = sorted(int(re.findall(r"Athlete (\d+)", p)[0]) for p in names.values()
                  if "Athlete " in p)
    assert late == list(range(len(late)))  # a prefix of the partition...
    assert 3 <= len(late) < produced  # ...from before the replay started, not what came after
