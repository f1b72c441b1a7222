"""The sink's patience with its database: backoff, giving up, what is retried, what is logged.

Every outage here runs on an injected clock and sleep, so hours of waiting take no time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from structlog.testing import capture_logs

from sinks.event_index import EventIndex
from sinks.outage import (
    PATIENCE_ENV,
    Backoff,
    DatabasePatience,
    DatabaseUnavailable,
    backoff_from_env,
)
from sinks.runner import IsolatingApplier
from streams.consumer import Batch, Consumed
from streams.events.schema_store import SchemaVersion
from tests.factories import T0, record

PASSWORD = "s3cret/pw@x"
URL = "postgresql+psycopg://crowdlog:s3cret%2Fpw%40x@db.internal:5432/crowdlog"


class Clock:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeEngine:
    """What the patience uses of an engine: its URL, and ``dispose`` to drop dead connections."""

    def __init__(self, url: str = URL) -> None:
        self.url = make_url(url)
        self.disposed = 0

    def dispose(self) -> None:
        self.disposed += 1


def lost(message: str = "server closed the connection unexpectedly") -> OperationalError:
    return OperationalError("INSERT INTO events ...", {"event_id": "e1"},
                            psycopg.OperationalError(message))


def patience(clock: Clock, engine: FakeEngine | None = None,
             backoff: Backoff | None = None) -> DatabasePatience:
    return DatabasePatience(cast(Engine, engine or FakeEngine()), backoff or Backoff(),
                            clock=clock, sleep=clock.sleep, draw=lambda: 1.0)


def failing(errors: list[Exception], answer: str = "done") -> tuple[list[int], Callable[[], str]]:
    """A call that raises ``errors`` one per attempt, then answers; and its attempt count."""
    attempts: list[int] = []

    def call() -> str:
        attempts.append(1)
        if len(attempts) <= len(errors):
            raise errors[len(attempts) - 1]
        return answer

    return attempts, call


@given(retry=st.integers(0, 10_000), draw=st.floats(0, 1))
def test_a_wait_is_jittered_within_half_and_all_of_its_capped_doubling(retry: int,
                                                                      draw: float) -> None:
    backoff = Backoff()
    nominal = min(backoff.cap, backoff.first * 2 ** min(retry, 64))
    assert nominal / 2 <= backoff.wait(retry, draw) <= nominal <= backoff.cap


def test_an_outage_is_waited_out_on_new_connections_with_doubling_waits() -> None:
    clock, engine = Clock(), FakeEngine()
    attempts, call = failing([lost(), lost("connection refused"), lost(), lost()])
    assert patience(clock, engine).call("apply a batch", call) == "done"
    assert len(attempts) == 5
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert engine.disposed == 4  # each retry opens a new connection


def test_the_sink_gives_up_after_its_patience_with_one_clear_line_and_status_3() -> None:
    clock = Clock()
    attempts, call = failing([lost("connection refused")] * 100)
    with capture_logs() as logs, pytest.raises(DatabaseUnavailable) as stopped:
        patience(clock, backoff=Backoff(first=1, cap=4, patience=20)).call("apply a batch", call)
    assert clock.sleeps == [1, 2, 4, 4, 4, 4, 1]  # the last wait ends exactly at the patience
    assert clock.now == 20 and len(attempts) == 8
    assert "unavailable" in str(stopped.value)
    [error] = [line for line in logs if line["log_level"] == "error"]
    assert error["event"] == str(stopped.value)
    assert "unavailable for 20 s" in error["event"] and "connection refused" in error["event"]
    assert f"{PATIENCE_ENV}=20" in error["event"]


def test_no_patience_means_stopping_at_the_first_operational_error() -> None:
    clock = Clock()
    attempts, call = failing([lost()])
    with pytest.raises(DatabaseUnavailable):
        patience(clock, backoff=Backoff(patience=0)).call("create the schema", call)
    assert len(attempts) == 1 and clock.sleeps == []


def test_each_outage_gets_the_whole_patience_and_waits_start_short_again() -> None:
    clock = Clock()
    waiting = patience(clock, backoff=Backoff(first=1, cap=8, patience=10))
    for _ in range(3):  # three 7-second outages: 21 s in all, each under the patience
        _attempts, call = failing([lost()] * 3)
        assert waiting.call("apply a batch", call) == "done"
    assert clock.sleeps == [1, 2, 4] * 3


@pytest.mark.parametrize("error", [
    DataError("INSERT", {}, psycopg.DataError("invalid byte sequence: 0x00")),
    IntegrityError("INSERT", {}, psycopg.IntegrityError("null value in column")),
    DBAPIError("SELECT", {}, psycopg.ProgrammingError("syntax error")),
])
def test_errors_about_the_data_or_the_statement_are_raised_at_once(error: DBAPIError) -> None:
    clock, engine = Clock(), FakeEngine()
    attempts, call = failing([error])
    with pytest.raises(type(error)):
        patience(clock, engine).call("apply a batch", call)
    assert len(attempts) == 1 and clock.sleeps == [] and engine.disposed == 0


def test_any_error_that_invalidated_the_connection_is_retried() -> None:
    clock = Clock()
    dropped = DBAPIError("COMMIT", {}, psycopg.Error("SSL SYSCALL error: EOF detected"),
                         connection_invalidated=True)
    attempts, call = failing([dropped])
    assert patience(clock).call("apply a batch", call) == "done"
    assert len(attempts) == 2


def test_no_log_line_shows_the_database_password() -> None:
    clock = Clock()
    # libpq's messages can quote the connection string; SQLAlchemy's add the statement
    _attempts, call = failing([lost(f"invalid connection option in 'password={PASSWORD}'"),
                               lost("connection refused")] * 5)
    with capture_logs() as logs, pytest.raises(DatabaseUnavailable):
        patience(clock, backoff=Backoff(patience=5)).call("apply a batch", call)
    assert len(logs) >= 3
    rendered = repr(logs)
    assert PASSWORD not in rendered and "s3cret%2Fpw%40x" not in rendered
    assert "crowdlog:***@db.internal" in rendered and "password=***" in rendered
    assert "INSERT INTO events" not in rendered  # the driver's message only, on one line
    assert all("\n" not in str(line.get("error", "")) for line in logs)


def test_the_patience_comes_from_the_environment_and_nonsense_is_refused() -> None:
    assert backoff_from_env({PATIENCE_ENV: "60"}) == Backoff(patience=60)
    assert backoff_from_env({PATIENCE_ENV: " "}) == Backoff()
    for bad in ["soon", "-1", "inf", "nan"]:
        with pytest.raises(ValueError, match=PATIENCE_ENV):
            backoff_from_env({PATIENCE_ENV: bad})


class FlakyIndex:
    """An index that refuses one event, and loses its connection before some writes."""

    def __init__(self, refused_id: str, outage_before: set[int]) -> None:
        self.refused_id = refused_id
        self.outage_before = outage_before
        self.writes = 0
        self.stored: list[str] = []
        self.position: dict[tuple[str, int], int] = {}

    def apply(self, batch: Batch) -> int:
        self.writes += 1
        if self.writes in self.outage_before:
            raise lost()
        if any(c.event.event_id == self.refused_id for c in batch.events):
            raise DataError("INSERT", {}, psycopg.DataError("NUL byte"))
        self.stored += [c.event.event_id for c in batch.events]
        self.position.update(batch.positions)
        return len(batch.events)


def test_an_outage_halfway_through_isolating_a_batch_refuses_each_event_once() -> None:
    events = [record(ref=str(i)) for i in range(4)]
    schema = cast(SchemaVersion, None)  # the fake index reads only the events
    batch = Batch([Consumed(e, schema, "records.received", 0, i, None, T0, b"")
                   for i, e in enumerate(events)], {("records.received", 0): 4})
    # writes: 1 the batch (refused), 2 event 0, 3 event 1 (cut off), 4 event 1 again (refused),
    # 5 and 6 events 2 and 3, 7 the position (cut off), 8 the position again
    index = FlakyIndex(events[1].event_id, outage_before={3, 7})
    refused: list[str] = []
    clock = Clock()
    applier = IsolatingApplier(cast(EventIndex, index),
                               lambda consumed, _exc: refused.append(consumed.event.event_id),
                               patience=patience(clock))
    assert applier.apply(batch) == 3
    assert refused == [events[1].event_id] and applier.refused == 1
    assert index.stored == [events[0].event_id, events[2].event_id, events[3].event_id]
    assert index.position == {("records.received", 0): 4}
    assert len(clock.sleeps) == 2
