"""Current views and retraction marking of the event index, on SQLite and a real PostgreSQL.

Batches are built by hand (no broker), applied with the sink's own ``EventIndex``, and the
views read back through SQL: the latest live version of each thing is current, a retraction
hides a version in whichever order the two arrive, and nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select

from sinks.checksum import checksum, normalise
from sinks.event_index import EventIndex, create_schema
from sinks.tables import events, profile_versions, record_versions, retractions
from sinks.views import (
    CURRENT_VIEWS,
    current_handles,
    current_predictions,
    current_profiles,
    current_records,
    current_worker_quality,
)
from streams.consensus.models import HandleAccepted
from streams.events.codec import Codec
from streams.events.model import Event
from tests.factories import record
from tests.view_events import (
    batch,
    decision,
    prediction,
    profile,
    record_at,
    redaction,
    rejection,
    retraction,
    worker_quality,
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def rows(engine: Engine, view: Any) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        found = [dict(r._mapping) for r in connection.execute(select(view))]
    return sorted(found, key=lambda r: r["event_id"])


def current_ids(engine: Engine, view: Any) -> list[str]:
    return [r["event_id"] for r in rows(engine, view)]


def retracted_by(engine: Engine, event: Event) -> str | None:
    with engine.connect() as connection:
        value: str | None = connection.execute(
            select(events.c.retracted_by).where(events.c.event_id == event.event_id)
        ).scalar_one()
    return value


def test_each_view_shows_the_latest_version_and_a_retraction_restores_the_previous(
        engine: Engine, codec: Codec) -> None:
    index = EventIndex(engine)
    old, new = record_at(0), record_at(60, team="Pelicans")
    first = decision(handle="antdavis", revision=0)
    second = decision(handle="antdavis23", revision=1, supersedes=first.event_id, minutes=20)
    assert isinstance(second, HandleAccepted)
    fetched = profile(second, fetch=0, followers=1000)
    refreshed = profile(second, fetch=1, followers=2000, supersedes=fetched.event_id)
    early, late = prediction(fetched, outcomes=3), prediction(refreshed, outcomes=9)
    quality = [worker_quality(accuracy=0.7, minutes=1), worker_quality(accuracy=0.9, minutes=2)]
    # Newest first, so "latest" cannot come from arrival order.
    index.apply(batch(codec, [late, early, refreshed, fetched, second, first, new, old,
                              *reversed(quality)]))

    [current] = rows(engine, current_records)
    assert current["event_id"] == new.event_id and current["team"] == "Pelicans"
    [handle] = rows(engine, current_handles)
    assert (handle["event_id"], handle["handle"], handle["revision"]) == (
        second.event_id, "antdavis23", 1)
    [shown] = rows(engine, current_profiles)
    assert shown["event_id"] == refreshed.event_id and shown["followers"] == 2000
    assert shown["verified"] is True and shown["acceptance_id"] == second.event_id
    assert current_ids(engine, current_predictions) == [late.event_id]
    [worker] = rows(engine, current_worker_quality)
    assert worker["worker_id"] == "W1" and worker["accuracy"] == 0.9

    asked = redaction()
    withdrawn = [retraction(asked, refreshed), retraction(asked, late, via=refreshed.event_id)]
    index.apply(batch(codec, [asked, *withdrawn], partition=1))
    [shown] = rows(engine, current_profiles)
    assert shown["event_id"] == fetched.event_id and shown["followers"] == 1000
    assert current_ids(engine, current_predictions) == [early.event_id]
    assert retracted_by(engine, refreshed) == asked.event_id
    assert retracted_by(engine, fetched) is None
    with engine.connect() as connection:  # marked, never deleted
        versions = dict(connection.execute(
            select(profile_versions.c.event_id, profile_versions.c.retracted_by)).all())
        via = connection.execute(select(retractions.c.via).where(
            retractions.c.retracted_id == late.event_id)).scalar_one()
    assert versions == {fetched.event_id: None, refreshed.event_id: asked.event_id}
    assert via == refreshed.event_id

    # The superseding decision withdrawn: the first one stands again, and with it no profile
    # (both fetched profiles belong to the withdrawn acceptance).
    index.apply(batch(codec, [retraction(asked, second)], partition=2))
    [handle] = rows(engine, current_handles)
    assert handle["event_id"] == first.event_id and handle["handle"] == "antdavis"
    assert rows(engine, current_profiles) == []


def test_an_event_retracted_before_it_arrives_is_stored_already_marked(
        engine: Engine, codec: Codec) -> None:
    index = EventIndex(engine)
    asked, kept, withdrawn = redaction(), record(ref="1"), record(ref="2")
    index.apply(batch(codec, [asked, retraction(asked, withdrawn)], topic="lineage"))
    assert current_ids(engine, current_records) == []

    index.apply(batch(codec, [kept, withdrawn], topic="records"))
    assert current_ids(engine, current_records) == [kept.event_id]
    assert retracted_by(engine, withdrawn) == asked.event_id
    with engine.connect() as connection:
        marked = connection.execute(select(record_versions.c.retracted_by).where(
            record_versions.c.event_id == withdrawn.event_id)).scalar_one()
    assert marked == asked.event_id

    # Both in one batch, retraction first: marked in the same transaction.
    late = record(ref="3")
    index.apply(batch(codec, [retraction(asked, late), late], topic="both"))
    assert retracted_by(engine, late) == asked.event_id
    assert late.event_id not in current_ids(engine, current_records)


def test_reapplying_is_a_no_op_and_the_first_retraction_stays(
        engine: Engine, codec: Codec) -> None:
    index = EventIndex(engine)
    accepted = decision()
    assert isinstance(accepted, HandleAccepted)
    content = [record(), accepted, profile(accepted), worker_quality()]
    first, second = redaction("first"), redaction("second")
    withdrawal = batch(codec, [first, second, retraction(first, content[2])], topic="lineage")
    assert index.apply(batch(codec, content)) == 4
    assert index.apply(withdrawal) == 3
    digest = checksum(engine)

    assert index.apply(batch(codec, content)) == 0
    assert index.apply(withdrawal) == 0
    assert index.apply(batch(codec, [retraction(second, content[2])], topic="lineage",
                             first_offset=3)) == 1
    assert retracted_by(engine, content[2]) == first.event_id
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(retractions)).scalar_one()
    assert count == 1
    after = checksum(engine)
    assert after != digest  # the second retraction event is content of the log...
    index.apply(batch(codec, [retraction(second, content[2])], topic="lineage", first_offset=3))
    assert checksum(engine) == after  # ...once


def test_a_later_failure_or_a_rejection_removes_an_acceptance(
        engine: Engine, codec: Codec) -> None:
    index = EventIndex(engine)
    accepted = decision(handle="antdavis", revision=0)
    failed = decision(accepted=False, handle="antdavis", revision=1,
                      supersedes=accepted.event_id, minutes=30)
    other = decision(handle="ad_tw", platform="twitter")
    index.apply(batch(codec, [accepted, failed, other]))
    assert current_ids(engine, current_handles) == [other.event_id]

    asked = redaction()
    index.apply(batch(codec, [retraction(asked, failed)], partition=1))
    assert sorted(current_ids(engine, current_handles)) == sorted(
        [accepted.event_id, other.event_id])

    assert isinstance(other, HandleAccepted)
    fetched = profile(other)
    index.apply(batch(codec, [fetched, rejection(other, fetched)], partition=2))
    assert current_ids(engine, current_handles) == [accepted.event_id]
    assert current_ids(engine, current_profiles) == []


def view_contents(engine: Engine) -> dict[str, list[list[Any]]]:
    with engine.connect() as connection:
        return {view.name: sorted([[normalise(v) for v in row]
                                   for row in connection.execute(select(view))], key=str)
                for view in CURRENT_VIEWS}


def test_views_do_not_depend_on_arrival_order_or_database(
        engine: Engine, codec: Codec, tmp_path: Path) -> None:
    asked = redaction()
    first = decision(revision=0)
    second = decision(handle="antdavis23", revision=1, supersedes=first.event_id)  # same time
    assert isinstance(first, HandleAccepted) and isinstance(second, HandleAccepted)
    tied = [worker_quality(accuracy=a, minutes=3) for a in (0.6, 0.8)]  # same time and answers
    log: list[Event] = [record(ref="7"), record(ref="7", team="Bulls"), first, second,
                        profile(second), profile(first), *tied, prediction(first),
                        prediction(second, outcomes=4), asked, retraction(asked, tied[1])]
    EventIndex(engine).apply(batch(codec, log))

    other = create_engine(f"sqlite:///{tmp_path / 'reversed.db'}")
    create_schema(other)
    for i, event in enumerate(reversed(log)):
        EventIndex(other).apply(batch(codec, [event], partition=i))
    assert view_contents(other) == view_contents(engine)
    assert all(view_contents(engine).values())  # every view shows something
    other.dispose()
