"""The event index sink rides out its database going away: nothing lost, nothing twice.

The test stops PostgreSQL under a running ``crowdlog sink event-index``, so it runs its own
server (the shared one on port 55432 serves the other tests): a throw-away cluster started with
the same Debian binaries ``infra/postgres/postgres.sh`` uses, with password authentication so
the check that no log line shows the password means something.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.pool import NullPool

from sinks.tables import events, sink_positions
from streams.events.codec import Codec
from streams.producer import EventProducer
from streams.records.models import RecordReceived
from streams.settings import Settings
from streams.topics import CATALOGUE, full_name
from tests.conftest import missing_service
from tests.factories import record

ROOT = Path(__file__).resolve().parents[2]
PG_OS_USER = "postgres"  # PostgreSQL refuses to run as root; the Debian package makes this user
READY_TIMEOUT = 60
WAIT_TIMEOUT = 180.0


def _server_bindir() -> Path:
    """Where initdb and pg_ctl are, found as postgres.sh finds them (newest version first)."""
    def version(bindir: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in bindir.parent.name.split(".") if part.isdigit())

    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    pg_ctl, initdb = shutil.which("pg_ctl"), shutil.which("initdb")
    if pg_ctl and initdb:
        return Path(pg_ctl).parent
    missing_service("no PostgreSQL server binaries (initdb, pg_ctl): `make test` installs them")
    raise AssertionError("unreachable")  # missing_service fails or skips


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivatePostgres:
    """A PostgreSQL cluster of one test, which the test may stop and start at will."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.logfile = root / "postgres.log"
        self.bindir = _server_bindir()
        self.port = _free_port()
        self.password = secrets.token_urlsafe(16)
        self.url = (f"postgresql+psycopg://crowdlog:{self.password}@127.0.0.1:{self.port}"
                    "/postgres")
        self._as_owner = (["runuser", "-u", PG_OS_USER, "--"] if os.geteuid() == 0 else [])

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self._as_owner, str(self.bindir / tool), *args], cwd="/",
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}\n{log[-3000:]}")

    def init(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._as_owner:
            shutil.chown(self.root, PG_OS_USER)
            shutil.chown(pwfile, PG_OS_USER)
        self._run("initdb", "-D", str(self.data), "-U", "crowdlog", "--auth=scram-sha-256",
                  f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C")
        pwfile.unlink()
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                       "unix_socket_directories = ''\nshared_buffers = 16MB\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w",
                  "-t", str(READY_TIMEOUT), "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A new cluster in a new temporary directory, removed afterwards.

    Not under pytest's ``tmp_path``: that lives in /tmp/pytest-of-<user>, which pytest keeps at
    mode 0700 (and tightens again whenever a session starts), so when the tests run as root the
    ``postgres`` user running the server could not reach its data directory there.
    """
    server = PrivatePostgres(Path(tempfile.mkdtemp(prefix="crowdlog-outage-pg-")))
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running():
            server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


class SinkProcess:
    """``crowdlog sink event-index`` as a real process, its JSON log lines in a file."""

    def __init__(self, settings: Settings, database_url: str, log: Path) -> None:
        self.log = log
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
               "CROWDLOG_TOPIC_PREFIX": settings.topic_prefix,
               "CROWDLOG_DATABASE_URL": database_url, "CROWDLOG_SINK_DB_PATIENCE": "300",
               "CROWDLOG_LOG_FORMAT": "json", "CROWDLOG_LOG_LEVEL": "info",
               "CROWDLOG_INSTANCE": f"pytest-sink-{uuid.uuid4().hex[:6]}"}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "sink", "event-index"], cwd=ROOT, env=env,
                stdout=out, stderr=subprocess.STDOUT)

    def lines(self) -> list[dict[str, object]]:
        parsed = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                parsed.append(json.loads(line))
        return parsed

    def retries(self, during: str) -> int:
        return sum(1 for line in self.lines()
                   if line.get("event") == "event index database unavailable, retrying"
                   and line.get("during") == during)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def wait_for(condition: Callable[[], bool], what: str, sink: SinkProcess) -> float:
    """Wait until ``condition()``; fail at once if the sink exits. Returns the seconds taken."""
    started = time.monotonic()
    while not condition():
        tail = "\n".join(sink.log.read_text(errors="replace").splitlines()[-20:])
        assert sink.process.poll() is None, f"the sink exited while waiting for {what}:\n{tail}"
        if time.monotonic() - started > WAIT_TIMEOUT:
            pytest.fail(f"no {what} after {WAIT_TIMEOUT:.0f} s; sink log tail:\n{tail}")
        time.sleep(0.2)
    return time.monotonic() - started


class Index:
    """Reads what the sink stored, on a new connection each time (none outlives an outage)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool)

    def counts(self) -> tuple[int, int, int]:
        """Events, distinct event ids and the sum of the stored positions (zeros before the
        sink made its tables)."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table(sink_positions.name):
                return 0, 0, 0
            stored, distinct = connection.execute(
                select(func.count(), func.count(events.c.event_id.distinct()))).one()
            applied = connection.execute(
                select(func.sum(sink_positions.c.next_offset))).scalar_one()
        return stored, distinct, int(applied or 0)

    def positions(self) -> dict[tuple[str, int], int]:
        with self.engine.connect() as connection:
            return {(t, p): o for t, p, o in connection.execute(
                select(sink_positions.c.topic, sink_positions.c.partition,
                       sink_positions.c.next_offset))}

    def event_ids(self) -> set[str]:
        with self.engine.connect() as connection:
            return set(connection.execute(select(events.c.event_id)).scalars())

    def dead_letters(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).where(
                events.c.event_type.like("%MessageDeadLettered"))).scalar_one()


def produce(settings: Settings, codec: Codec, batch: list[RecordReceived]) -> None:
    with EventProducer(settings, codec) as producer:
        for event in batch:
            producer.send(event)


def assert_clean_log(sink: SinkProcess, server: PrivatePostgres) -> None:
    """No line shows the password, the URL is shown masked, nothing was logged as an error."""
    text = sink.log.read_text(errors="replace")
    assert server.password not in text
    assert f"crowdlog:***@127.0.0.1:{server.port}" in text
    assert not [line for line in sink.lines() if line.get("level") == "error"]


def test_the_sink_waits_out_a_database_outage_and_indexes_every_event_once(
        settings: Settings, codec: Codec, private_postgres: PrivatePostgres,
        tmp_path: Path) -> None:
    before = [record(ref=f"before-{i}") for i in range(60)]
    during = [record(ref=f"during-{i}") for i in range(40)]
    index = Index(private_postgres.url)
    sink = SinkProcess(settings, private_postgres.url, tmp_path / "sink.log")
    try:
        produce(settings, codec, before)
        wait_for(lambda: index.counts() == (60, 60, 60), "the first 60 events indexed", sink)
        stored_before = index.positions()

        private_postgres.stop()
        produce(settings, codec, during)
        # The sink holds a batch it cannot write and tries again on new connections, the waits
        # doubling from 0.5 s: the fifth retry comes 4 to 7.5 s into the outage, and the next
        # attempt after it 4 to 8 s later.
        wait_for(lambda: sink.retries("apply a batch") >= 5, "five retries of a batch", sink)
        group = f"{settings.topic_prefix}crowdlog.sink.event-index"
        moved_past = {tp: offset for tp, offset in committed(settings, group).items()
                      if offset > stored_before.get(tp, 0)}
        assert moved_past == {}, "the group's offsets moved past a batch that did not commit"

        private_postgres.start()
        recovery = wait_for(lambda: index.counts() == (100, 100, 100), "all 100 events indexed",
                            sink)
        assert sink.process.poll() is None, "the sink exited"
        assert index.event_ids() == {e.event_id for e in before + during}
        assert index.dead_letters() == 0
        assert sum(index.positions().values()) == 100  # exactly past every event, no further
        print(f"\nthe sink caught up {recovery:.1f} s after PostgreSQL was back, after "
              f"{sink.retries('apply a batch')} retries")
    finally:
        sink.stop()
        index.engine.dispose()
    back = [line for line in sink.lines() if line.get("event") == "event index database is back"]
    assert [line["during"] for line in back] == ["apply a batch"]
    assert_clean_log(sink, private_postgres)


def test_a_sink_started_while_its_database_is_down_waits_for_it(
        settings: Settings, codec: Codec, private_postgres: PrivatePostgres,
        tmp_path: Path) -> None:
    late = [record(ref=f"late-{i}") for i in range(20)]
    index = Index(private_postgres.url)
    private_postgres.stop()
    sink = SinkProcess(settings, private_postgres.url, tmp_path / "sink.log")
    try:
        produce(settings, codec, late)
        wait_for(lambda: sink.retries("create the schema") >= 2, "two retries at start", sink)
        private_postgres.start()
        wait_for(lambda: index.counts() == (20, 20, 20), "all 20 events indexed", sink)
        assert index.event_ids() == {e.event_id for e in late} and index.dead_letters() == 0
    finally:
        sink.stop()
        index.engine.dispose()
    assert_clean_log(sink, private_postgres)


def test_a_sink_whose_database_stays_away_stops_with_one_line_and_status_3() -> None:
    password = secrets.token_urlsafe(16)
    url = f"postgresql+psycopg://crowdlog:{password}@127.0.0.1:{_free_port()}/crowdlog"
    env = {**os.environ, "CROWDLOG_DATABASE_URL": url, "CROWDLOG_SINK_DB_PATIENCE": "2",
           "CROWDLOG_LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-m", "streams.cli", "sink", "event-index"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 3, output
    assert password not in output and "Traceback" not in output
    [error] = [json.loads(line) for line in output.splitlines()
               if line.startswith("{") and json.loads(line)["level"] == "error"]
    assert "has been unavailable for 2 s (CROWDLOG_SINK_DB_PATIENCE=2)" in error["event"]
    assert "crowdlog:***@127.0.0.1" in error["event"]


def committed(settings: Settings, group: str) -> dict[tuple[str, int], int]:
    """The sink group's committed offsets on the catalogue's partitions (none: absent)."""
    probe = Consumer({**settings.kafka_config(), "group.id": group,
                      "enable.auto.commit": "false"})
    try:
        wanted = [TopicPartition(full_name(spec, settings.topic_prefix), p)
                  for spec in CATALOGUE for p in range(spec.partitions)]
        return {(tp.topic, tp.partition): tp.offset
                for tp in probe.committed(wanted, timeout=30) if tp.offset >= 0}
    finally:
        probe.close()
