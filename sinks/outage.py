"""Riding out an outage of the event index's database.

A database restart, failover or network cut used to stop the sink on its first failed statement
(with PostgreSQL stopped for 30 s, a supervised sink exited 11 times). Now an operational error
(connection refused or lost, the server shutting down or starting up, a lock or deadlock: what
the DB-API calls errors "not necessarily under the control of the programmer") is retried: the
engine's pool is dropped, so the next attempt opens a new connection, and the same call is made
again after a doubling wait, capped and jittered, for at most ``patience`` seconds counted from
the first failure of the outage. Then the sink stops with one log line and exit status 3; a
supervisor that restarts it gets a sink that resumes from its stored position.

Retrying in place is what keeps the log and the index in step. While a batch waits, the sink
asks its consumer for nothing (no new messages are fetched into the process, beyond what
librdkafka's bounded prefetch queue holds), and the consumer stores a batch's offsets only when
the next batch is asked for: neither the position stored in the database (written in the
batch's own transaction) nor the group's committed offsets move past a batch that did not
commit. The writes are idempotent by event id, so re-applying a batch whose COMMIT went through
but whose answer was lost with the connection stores nothing twice.

Data errors (a value the database refuses) are not retried: the same statement would fail the
same way, so ``sinks.runner`` dead-letters those events instead.

The database URL may hold a password. Lines logged here show the URL with it masked and error
texts with it blanked out, and carry no traceback: psycopg keeps the whole connection string,
password included, on its exception's ``pgconn``, which its message does not show but a
traceback rendered with local variables would.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, quote_plus

import structlog
from sqlalchemy import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = structlog.get_logger(__name__)

T = TypeVar("T")

PATIENCE_ENV = "CROWDLOG_SINK_DB_PATIENCE"
EXIT_DATABASE_UNAVAILABLE = 3


@dataclass(frozen=True)
class Backoff:
    """How long to wait before each new attempt, and how long an outage is waited out at most.

    The nominal wait doubles from ``first`` up to ``cap``; the wait taken is between half of it
    and all of it, drawn at random, so that sinks cut off together do not all come back at the
    same instant. The cap keeps the sink from sleeping long after the database is back.

    >>> [Backoff().wait(retry, draw=1.0) for retry in range(7)]
    [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    >>> Backoff().wait(2, draw=0.0)
    1.0
    """

    first: float = 0.5
    factor: float = 2.0
    cap: float = 10.0
    patience: float = 300.0

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.cap or self.factor < 1:
            raise ValueError(f"a backoff needs 0 < first <= cap and factor >= 1: {self}")
        if not (math.isfinite(self.patience) and self.patience >= 0):
            raise ValueError(f"patience must be a finite number of seconds >= 0: {self}")

    def wait(self, retry: int, draw: float) -> float:
        """The wait before attempt ``retry + 1`` of an outage, for ``draw`` in [0, 1]."""
        nominal = min(self.cap, self.first * self.factor ** min(retry, 64))  # no float overflow
        return nominal * (0.5 + draw / 2)


def backoff_from_env(environ: Mapping[str, str] | None = None) -> Backoff:
    """The sink's backoff, with its patience from CROWDLOG_SINK_DB_PATIENCE (seconds).

    >>> backoff_from_env({}).patience, backoff_from_env({PATIENCE_ENV: "45"}).patience
    (300.0, 45.0)
    """
    env = os.environ if environ is None else environ
    raw = env.get(PATIENCE_ENV, "").strip()
    if not raw:
        return Backoff()
    try:
        return Backoff(patience=float(raw))
    except ValueError:
        raise ValueError(f"{PATIENCE_ENV} must be a number of seconds >= 0, not {raw!r}") from None


class DatabaseUnavailable(Exception):
    """The database stayed out of reach for the whole patience: the sink stops.

    ``crowdlog sink event-index`` turns it into exit status ``EXIT_DATABASE_UNAVAILABLE`` after
    the one log line that says why, so its supervisor sees a failure and no traceback.
    """


def is_operational(exc: DBAPIError) -> bool:
    """Whether the database failed to serve the call (worth asking again on a new connection),
    rather than refused what the call asked for."""
    return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated


def masked_url(url: str | URL) -> str:
    """``url`` as it may be logged: with its password as ``***``.

    >>> masked_url("postgresql+psycopg://crowdlog:s3cret@db:5432/crowdlog")
    'postgresql+psycopg://crowdlog:***@db:5432/crowdlog'
    """
    return make_url(url).render_as_string(hide_password=True)


def scrubbed(text: str, url: str | URL) -> str:
    """``text`` with the password of ``url``, as given and URL-quoted, replaced by ``***``.

    >>> scrubbed("password=p@ss or p%40ss", "postgresql://u:p%40ss@db/x")
    'password=*** or ***'
    """
    password = make_url(url).password
    if not password:
        return text
    for form in sorted({password, quote(password, safe=""), quote_plus(password)},
                       key=len, reverse=True):
        text = text.replace(form, "***")
    return text


class DatabasePatience:
    """Makes the sink's database calls, waiting out outages (see the module docstring).

    ``clock``, ``sleep`` and ``draw`` (the jitter) are injectable so that a test can run an
    outage of any length without waiting for it.
    """

    def __init__(self, engine: Engine, backoff: Backoff, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 draw: Callable[[], float] = random.random) -> None:
        self._engine = engine
        self.backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._draw = draw
        self.database = masked_url(engine.url)

    def call(self, what: str, call: Callable[[], T]) -> T:
        """``call()``, made again on a new connection after each operational error until it
        succeeds or the patience is spent (then ``DatabaseUnavailable``); any other error is
        raised at once."""
        started: float | None = None
        retry = 0
        while True:
            try:
                result = call()
            except DBAPIError as exc:
                if not is_operational(exc):
                    raise
                now = self._clock()
                started = now if started is None else started
                self._wait_or_give_up(what, exc, retry, waited=now - started)
                retry += 1
                continue
            if started is not None:
                log.info("event index database is back", database=self.database, during=what,
                         after_seconds=round(self._clock() - started, 1), retries=retry)
            return result

    def _wait_or_give_up(self, what: str, exc: DBAPIError, retry: int, waited: float) -> None:
        error = self._describe(exc)
        left = self.backoff.patience - waited
        if left <= 0:
            message = (f"the event index database at {self.database} has been unavailable for "
                       f"{waited:.0f} s ({PATIENCE_ENV}={self.backoff.patience:g}); stopping, a "
                       f"restarted sink resumes from its stored position. Last error: {error}")
            log.error(message, during=what, retries=retry)
            raise DatabaseUnavailable(message) from exc
        wait = min(self.backoff.wait(retry, self._draw()), left)
        log.warning("event index database unavailable, retrying", database=self.database,
                    during=what, error=error, retry=retry + 1, wait_seconds=round(wait, 2),
                    gives_up_in_seconds=round(left, 1))
        self._engine.dispose()  # the pooled connections are dead: the next attempt opens anew
        self._sleep(wait)

    def _describe(self, exc: DBAPIError) -> str:
        """The driver's own message on one line, without the statement and parameters that
        SQLAlchemy's message adds (batches of event data) and without the password."""
        text = " ".join(str(exc.orig if exc.orig is not None else exc).split())
        return scrubbed(text, self._engine.url)
