"""Hostile messages against every consumer loop and reader tool, on the broker.

The same six unusable messages (a null value, random bytes, a ``C3 01`` header with an unknown
fingerprint, a Confluent ``00`` header with a schema id nobody knows, a cut body, and a
990,000-byte message whose header is good and whose body is not) sit among valid events, one
of those with an empty key, on partition 0 of seven catalogue topics. The reader tools (audit,
export, replay, rank, the error plot, `world score`, a consumer as `crowdlog tail` runs it,
the worker-quality view) must finish, use every valid event and report every unusable message
with its coordinates, writing nothing to the log; the consumer services (prediction, lineage, the
event-index sink) must handle every valid event and dead-letter every unusable message they
read, with its bytes (the big one cut to 768 KiB, the cut stated), and move on.

Counts are exact. Services stop on a condition (their saved position, their report, the rows
indexed), each bounded by a generous timeout; nothing is asserted about time.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from sqlalchemy import create_engine, func, select

from sinks.runner import SinkReport, run_event_index
from sinks.tables import events as events_table
from streams.cli import main
from streams.consensus.confusion import WorkerModel
from streams.consumer import EventConsumer
from streams.events.codec import Codec
from streams.events.deadletter import MAX_ORIGINAL_VALUE, MessageDeadLettered
from streams.events.fingerprint import HEADER_SIZE, MAGIC
from streams.events.ids import new_meta
from streams.events.model import Event, EventMeta, Provenance
from streams.events.model import Producer as Stage
from streams.events.registry import wire_header
from streams.lineage.core import LineageConfig
from streams.lineage.models import EventRetracted, RedactionRequested
from streams.lineage.service import LineageReport, run_lineage_service
from streams.prediction.core import PredictionConfig, PredictionState
from streams.prediction.models import ModelEvaluated, PageViewsObserved, PageViewsPredicted
from streams.prediction.service import PredictionReport, read_outcomes, run_prediction_service
from streams.prediction.stage import SOURCES as PREDICTION_INPUTS
from streams.producer import PRODUCER_DEFAULTS
from streams.records.models import RecordReceived
from streams.settings import Settings
from streams.tools.log_reader import Coordinates, LogReader, Undecodable, watermarks
from streams.tools.replay import replay
from streams.topics import (
    CATALOGUE,
    CONSENSUS_RESULTS,
    DEADLETTER,
    LINEAGE_REDACTIONS,
    LINEAGE_RETRACTIONS,
    PREDICTION_METRICS,
    PREDICTION_OUTCOMES,
    PREDICTION_PAGEVIEWS,
    RECORDS_RECEIVED,
    WORKERS_QUALITY,
    TopicSpec,
    full_name,
)
from streams.workers.models import WorkerQualityEstimated
from streams.workers.view import QualityView
from streams.world import WorldConfig, generate_world, write_world
from tests.factories import T0, record
from tests.lineage_factories import redaction as redaction_of
from tests.unit.test_audit import decision, redaction, retraction

HUGE = 990_000
EACH = 6  # hostile messages per topic (``hostile``)
TOPICS = 7  # topics that carry them
ALL = EACH * TOPICS
KEY = "a snapshot key for the hostile-message test"
TIMEOUT = 120.0


def _avro_long(n: int) -> bytes:
    """Avro's zig-zag varint of a non-negative ``n``."""
    n, out = n << 1, bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def hostile(codec: Codec, sample: Event) -> dict[str, tuple[bytes | None, str]]:
    """The unusable messages for a topic carrying ``sample``'s type: key -> (value, error)."""
    encoded = codec.encode(sample)
    head = encoded[:HEADER_SIZE]
    length = HUGE - HEADER_SIZE - 3  # the event id's length takes 3 bytes
    huge = head + _avro_long(length) + b"\xff" * length  # an id of invalid UTF-8
    assert len(huge) == HUGE
    return {
        "hostile:null": (None, "event_format_error"),
        "hostile:random": (random.Random(7).randbytes(301), "corrupt_event"),
        "hostile:unknown": (MAGIC + b"\x00" * 8 + b"body", "unknown_fingerprint"),
        # the Confluent wire format's header (00 + schema id) with no registry to ask
        "hostile:unknown-id": (wire_header(2**31 - 1) + b"body", "unknown_schema_id"),
        "hostile:cut": (encoded[: len(encoded) // 2], "corrupt_event"),
        "hostile:huge": (huge, "corrupt_event"),
    }


def _meta(kind: type[Event], entity: str, identity: list[Any]) -> EventMeta:
    return new_meta(event_type=kind.schema_name, entity_id=entity, occurred_at=T0,
                    producer=Stage("pytest", "1.0.0", "test"),
                    provenance=Provenance("test", str(identity)), identity=identity)


def outcome(number: int, entity: str) -> PageViewsObserved:
    return PageViewsObserved(meta=_meta(PageViewsObserved, entity, ["post", number]),
                             post_id=f"p{number}", page_views=1000.0 + 97 * number)


def quality(worker: str) -> WorkerQualityEstimated:
    model = WorkerModel(counts={"antdavis23": {"antdavis23": 4.0}}).to_dict()
    return WorkerQualityEstimated(meta=_meta(WorkerQualityEstimated, f"worker:{worker}",
                                             [worker]),
                                  worker_id=worker, accuracy=0.9, uncertainty=0.05,
                                  answers=4.0, gold_answers=1, model=json.dumps(model))


def evaluation() -> ModelEvaluated:
    return ModelEvaluated(meta=_meta(ModelEvaluated, "model:baseline", ["baseline"]),
                          model="baseline", outcomes=1, predicted=1.0, observed=2.0, mae=1.0,
                          mae_log=0.5)


@dataclass
class Placed:
    """What the test put on the log: the valid events per topic in log order, and where each
    hostile message landed with its key, value and the error it must be dead-lettered with."""

    valid: dict[str, list[Event]] = field(default_factory=dict)
    hostile: dict[Coordinates, tuple[str, bytes | None, str]] = field(default_factory=dict)

    def on(self, topic: str) -> set[Coordinates]:
        return {where for where in self.hostile if where.topic == topic}


class Log:
    """Puts messages on partition 0 of catalogue topics, in order, and notes where each went."""

    def __init__(self, settings: Settings, codec: Codec) -> None:
        self._prefix, self._codec = settings.topic_prefix, codec
        self._producer = Producer({**settings.kafka_config(), **PRODUCER_DEFAULTS})
        self.placed = Placed()

    def put(self, spec: TopicSpec, *events: Event, empty_key: bool = False) -> None:
        topic = full_name(spec, self._prefix)
        for event in events:
            self._send(topic, "" if empty_key else event.entity_id, self._codec.encode(event))
        self.placed.valid.setdefault(topic, []).extend(events)

    def put_hostile(self, spec: TopicSpec, sample: Event) -> None:
        topic = full_name(spec, self._prefix)
        for key, (value, error) in hostile(self._codec, sample).items():
            self._send(topic, key, value, error)

    def _send(self, topic: str, key: str, value: bytes | None, error: str | None = None) -> None:
        def landed(failure: Any, msg: Any) -> None:
            assert failure is None, failure
            if error is not None:
                self.placed.hostile[Coordinates(topic, 0, msg.offset())] = (key, value, error)

        self._producer.produce(topic, key=key.encode(), value=value, partition=0,
                               on_delivery=landed)
        self._producer.poll(0)

    def flush(self) -> None:
        assert self._producer.flush(30) == 0


def _wait_for(condition: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def _ends(settings: Settings, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """Every partition's end offset now."""
    consumer = Consumer({**settings.kafka_config(), "group.id": "pytest-ends"})
    try:
        bounds, _missing = watermarks(consumer, list(topics))
    finally:
        consumer.close()
    return {key: high for key, (_low, high) in bounds.items()}


def _thread(target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """``target`` on a daemon thread; its result (or its exception) lands in the dict."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = target()
        except BaseException as exc:
            result["error"] = exc
            raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


@dataclass
class Scene:
    """The test's log and the services' shared places, handed from phase to phase."""

    settings: Settings
    codec: Codec
    tmp_path: Path
    capsys: pytest.CaptureFixture[str]
    log: Log
    records: list[RecordReceived]
    redact_two: RedactionRequested

    @property
    def placed(self) -> Placed:
        return self.log.placed

    def topic(self, spec: TopicSpec) -> str:
        return full_name(spec, self.settings.topic_prefix)

    def run(self, *argv: str) -> tuple[int, list[str], list[str]]:
        """`crowdlog ARGV` in process: exit status, standard output and error lines."""
        self.capsys.readouterr()  # what came before (the services' log lines) is not its own
        status = main(list(argv))
        captured = self.capsys.readouterr()
        return status, captured.out.splitlines(), captured.err.splitlines()

    def events(self, *specs: TopicSpec) -> list[Event]:
        """The events on ``specs`` now, read without writing anything."""
        reader = LogReader(self.settings, [self.topic(spec) for spec in specs])
        return [event for _where, event in reader.events(self.codec)]

    def deadletter_messages(self) -> int:
        return sum(_ends(self.settings, [self.topic(DEADLETTER)]).values())

    def predict(self) -> PredictionReport:
        """The prediction service until its saved position reaches every input's end."""
        snapshots = self.tmp_path / "snapshots"
        ends = _ends(self.settings, [self.topic(spec) for spec in PREDICTION_INPUTS])
        stop = threading.Event()
        thread, result = _thread(lambda: run_prediction_service(
            self.settings, self.codec, PredictionConfig(instance="pytest"),
            snapshot_dir=snapshots, snapshot_seconds=0.5, stop=stop))

        def saved_up_to_the_end() -> bool:
            files = sorted(snapshots.glob("*.snapshot"), key=lambda p: p.name.split("-")[1])
            if not files:
                return False
            _state, position = PredictionState.restore(files[-1].read_bytes(), KEY.encode())
            return all(position.get(key, 0) >= high for key, high in ends.items())

        reached = _wait_for(lambda: not thread.is_alive() or saved_up_to_the_end())
        stop.set()
        thread.join(60)
        assert reached and "error" not in result, result.get("error")
        report: PredictionReport = result["value"]
        return report


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """`crowdlog ...` in process, pointed at this test's topics; a snapshot key of its own."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("CROWDLOG_TOPIC_PREFIX", settings.topic_prefix)
    monkeypatch.setenv("CROWDLOG_SNAPSHOT_KEY", KEY)
    monkeypatch.setenv("CROWDLOG_STATE_DIR", str(tmp_path / "state"))
    return settings


def test_every_reader_reports_and_every_service_dead_letters_each_hostile_message(
        cli: Settings, codec: Codec, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    scene = _put_the_log(cli, codec, tmp_path, capsys)
    _audit_export_and_replay_report_each_one(scene)
    _tail_and_the_quality_view_pass_them_over(scene)
    assert scene.deadletter_messages() == 0  # no reader wrote a dead letter

    first = scene.predict()  # records and retractions; no valid outcome yet
    # records, outcomes, retractions: three topics' hostile messages
    assert (first.events, first.predictions, first.dead_lettered) == (11, 9, 3 * EACH)
    outcomes = [outcome(n, scene.records[n].entity_id) for n in range(7)]
    scene.log.put(PREDICTION_OUTCOMES, *outcomes[:6])  # after the hostile ones
    scene.log.put(PREDICTION_OUTCOMES, outcomes[6], empty_key=True)
    scene.log.flush()
    second = scene.predict()
    assert (second.events, second.evaluations, second.dead_lettered) == (7, 7, 0)

    _rank_and_plot_report_what_they_skip(scene)
    redacted = outcomes[1]
    _lineage_dead_letters_each_one_and_retracts_past_them(scene, redacted)
    _prediction_rebuilds_past_the_hostile_outcomes(scene, outcomes)
    database = _the_sink_dead_letters_each_one_and_indexes_the_rest(scene, redacted)
    _one_letter_per_message_and_nothing_else_wrong(scene, database)


def test_world_score_reads_past_hostile_messages_and_writes_nothing(
        cli: Settings, codec: Codec, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`crowdlog world score`, a read-only command that used to read through a consumer group:
    it lists each hostile message, scores the rest, and the dead-letter topic stays empty."""
    log = Log(cli, codec)
    log.put(WORKERS_QUALITY, quality("W1"))
    log.put_hostile(WORKERS_QUALITY, quality("W2"))
    log.flush()
    world = tmp_path / "world"
    write_world(generate_world(WorldConfig(athletes=20)), world)
    capsys.readouterr()
    status = main(["world", "score", str(world)])
    out, err = capsys.readouterr()
    assert status == 0 and out, err
    assert {line.split(": ")[0] for line in err.splitlines() if line.startswith("skipped ")} == {
        f"skipped {where}" for where in log.placed.on(full_name(WORKERS_QUALITY,
                                                                cli.topic_prefix))}
    assert sum(_ends(cli, [full_name(DEADLETTER, cli.topic_prefix)]).values()) == 0


def _put_the_log(settings: Settings, codec: Codec, tmp_path: Path,
                 capsys: pytest.CaptureFixture[str]) -> Scene:
    """Valid events, one with an empty key, around the hostile set on partition 0 of seven
    topics; of ``prediction.outcomes`` only the hostile set (see the test)."""
    log = Log(settings, codec)
    records = [record(ref=f"r{i}") for i in range(9)]
    decisions = [decision([r], ref=f"H{i}") for i, r in enumerate(records[:4])]
    redact_two = redaction(decisions[:2])
    redact_none = redaction_of(event_ids=("no-such-event",), reason="selects nothing")
    for spec, before, keyless, after in (
            (RECORDS_RECEIVED, records[:4], records[4], records[5:]),
            (CONSENSUS_RESULTS, decisions[:2], decisions[2], decisions[3:]),
            (WORKERS_QUALITY, [quality("W1")], quality("W2"), [quality("W3")]),
            (LINEAGE_REDACTIONS, [redact_two], redact_none, []),
            (LINEAGE_RETRACTIONS, [retraction(redact_two, decisions[0])],
             retraction(redact_two, decisions[1]), []),
            (PREDICTION_METRICS, [], evaluation(), [])):
        log.put(spec, *before)
        log.put_hostile(spec, keyless)
        log.put(spec, keyless, empty_key=True)
        log.put(spec, *after)
    # outcomes come once the prediction service knows the records (else it cannot learn them)
    log.put_hostile(PREDICTION_OUTCOMES, outcome(99, records[0].entity_id))
    log.flush()
    assert len(log.placed.hostile) == ALL
    return Scene(settings, codec, tmp_path, capsys, log, records, redact_two)


def _audit_export_and_replay_report_each_one(scene: Scene) -> None:
    placed = scene.placed
    status, out, _err = scene.run("audit", "verify", "--database-url",
                                  f"sqlite:///{scene.tmp_path / 'none.db'}")
    findings = [line for line in out if line.startswith(("undecodable:", "unknown_schema:"))]
    assert status == 1 and len(findings) == ALL and len(out) == ALL + 2  # a note, the summary
    assert Counter(line.split(":")[0] for line in findings) == {
        "undecodable": 4 * TOPICS, "unknown_schema": 2 * TOPICS}  # fingerprint, schema id
    assert {line.split(": ")[1] for line in findings} == {str(w) for w in placed.hostile}
    assert max(len(line) for line in out) < 1000  # the 3.9-million-character reason is cut

    for topic in sorted({where.topic for where in placed.hostile}):
        path = scene.tmp_path / f"{topic}.avro"
        status, out, err = scene.run("export", "--topic", topic, str(path))
        skipped = {line.split(": ")[0].removeprefix("skipped ") for line in err
                   if line.startswith("skipped ")}
        assert status == 1 and skipped == {str(w) for w in placed.on(topic)}
        assert f"error: {EACH} messages of {topic} skipped, listed above; the file holds every " \
               "other event" in err
        assert out == [f"exported {len(placed.valid.get(topic, []))} events of {topic} to {path}"]

    rebuilt = replay(scene.settings, scene.codec, f"sqlite:///{scene.tmp_path / 'replayed.db'}")
    assert rebuilt.stored == sum(len(v) for v in placed.valid.values()) == 21
    assert sorted(item.split(": ")[0] for item in rebuilt.undecodable) == sorted(
        str(w) for w in placed.hostile)


def _tail_and_the_quality_view_pass_them_over(scene: Scene) -> None:
    """A consumer as `crowdlog tail` runs one, and the view consensus reads worker weights from."""
    records_topic = scene.topic(RECORDS_RECEIVED)
    tailed: list[Event] = []
    reported: list[Undecodable] = []
    with EventConsumer(scene.settings, scene.codec, [records_topic],
                       f"{scene.settings.topic_prefix}tail",
                       on_undecodable=reported.append) as tail:
        for batch in tail.batches(idle_timeout=TIMEOUT):
            tailed += [c.event for c in batch.events]
            if len(tailed) + len(reported) >= 9 + EACH:
                break
    assert tailed == scene.placed.valid[records_topic] and tail.dead_lettered == 0
    assert {u.coordinates for u in reported} == scene.placed.on(records_topic)

    view = QualityView(scene.settings, scene.codec,
                       position_group=f"{scene.settings.topic_prefix}view")
    view.start()
    try:
        assert view.wait_ready(TIMEOUT)
        assert view.skipped == 2 * EACH  # those on workers.quality and lineage.retractions
        assert all(view.model(w) is not None for w in ("W1", "W2", "W3"))
    finally:
        view.stop()


def _rank_and_plot_report_what_they_skip(scene: Scene) -> None:
    written = scene.deadletter_messages()
    status, out, err = scene.run("rank", "--top", "20", "--json")
    assert status == 0 and len(json.loads("\n".join(out))) == 9
    assert {line.split(": ")[0] for line in err} == {
        f"skipped {w}" for w in scene.placed.on(scene.topic(RECORDS_RECEIVED))}
    status, out, err = scene.run("prediction", "plot", "--out", str(scene.tmp_path / "e.png"))
    assert status == 0 and out[0].startswith("model linear: log error")
    assert "over all 7 outcomes" in out[0]  # the service's evaluations, after the hostile set
    assert {line.split(": ")[0] for line in err} == {
        f"skipped {w}" for w in scene.placed.on(scene.topic(PREDICTION_METRICS))}
    assert scene.deadletter_messages() == written


def _lineage_dead_letters_each_one_and_retracts_past_them(scene: Scene,
                                                           redacted: Event) -> None:
    scene.log.put(LINEAGE_REDACTIONS, redaction([redacted]))
    scene.log.flush()
    on_log = scene.events(*[spec for spec in CATALOGUE if spec is not DEADLETTER])
    descendants = {redacted.event_id} | {e.event_id for e in on_log
                                          if redacted.event_id in e.meta.parents}
    assert len(descendants) == 3  # the outcome, its evaluation, the prediction it caused
    report, stop = LineageReport(), threading.Event()
    thread, result = _thread(lambda: run_lineage_service(
        scene.settings, scene.codec, LineageConfig(instance="pytest"), stop=stop, report=report))
    done = _wait_for(lambda: not thread.is_alive() or (
        report.caught_up and report.events >= len(on_log) + 3 and report.dead_lettered >= ALL))
    stop.set()
    thread.join(60)
    assert done and "error" not in result, result.get("error")
    assert (report.preloaded, report.retractions, report.dead_lettered) == (2, 3, ALL)
    assert report.events == len(on_log) + 3  # every valid event, and its own retractions
    retracted = {e.retracted_id for e in scene.events(LINEAGE_RETRACTIONS)
                 if isinstance(e, EventRetracted)
                 and e.redaction_id != scene.redact_two.event_id}
    assert retracted == descendants


def _prediction_rebuilds_past_the_hostile_outcomes(scene: Scene,
                                                   outcomes: list[PageViewsObserved]) -> None:
    before = {e.event_id for e in scene.events(PREDICTION_PAGEVIEWS)}
    third = scene.predict()
    assert (third.rebuilds, third.dead_lettered) == (1, 0)
    rebuilt = [e for e in scene.events(PREDICTION_PAGEVIEWS) if e.event_id not in before]
    assert len(rebuilt) == 9 and all(  # every athlete, by the model without the outcome
        isinstance(e, PageViewsPredicted) and e.model_outcomes == 6 for e in rebuilt)
    topic = scene.topic(PREDICTION_OUTCOMES)
    end = _ends(scene.settings, [topic])[(topic, 0)]
    assert list(read_outcomes(scene.settings, scene.codec, topic, 0, end)) == outcomes


def _the_sink_dead_letters_each_one_and_indexes_the_rest(scene: Scene, redacted: Event) -> str:
    """Sink runs (each resuming where the last stopped) until every event is indexed."""
    database = f"sqlite:///{scene.tmp_path / 'index.db'}"
    expected = len({e.event_id for e in scene.events(*CATALOGUE)})
    sink = SinkReport()

    def indexed() -> bool:
        run = run_event_index(scene.settings, scene.codec, database_url=database,
                              idle_timeout=3)
        sink.stored += run.stored
        sink.dead_lettered += run.dead_lettered
        engine = create_engine(database)
        try:
            with engine.connect() as connection:
                rows = connection.execute(select(func.count()).select_from(events_table))
                return bool(rows.scalar_one() >= expected)
        finally:
            engine.dispose()

    assert _wait_for(indexed)
    assert (sink.stored, sink.dead_lettered) == (expected, ALL)
    status, out, _err = scene.run("lineage", redacted.event_id, "--database-url", database)
    assert status == 0 and "RETRACTED by redaction" in "\n".join(out)
    return database


def _one_letter_per_message_and_nothing_else_wrong(scene: Scene, database: str) -> None:
    letters = [e for e in scene.events(DEADLETTER) if isinstance(e, MessageDeadLettered)]
    assert len(letters) == 3 * EACH + ALL + ALL  # prediction, lineage, the sink: theirs
    distinct = {letter.event_id: letter for letter in letters}
    assert len(distinct) == ALL  # a message's letter has one id, whoever wrote it
    by_source = {Coordinates(str(x.source_topic), int(x.source_partition or 0),
                             int(x.source_offset or 0)): x for x in distinct.values()}
    assert set(by_source) == set(scene.placed.hostile)
    for where, (key, value, error) in scene.placed.hostile.items():
        letter = by_source[where]
        assert (letter.error, letter.original_key) == (error, key.encode()), letter.reason[:300]
        if value is not None and len(value) > MAX_ORIGINAL_VALUE:
            assert letter.original_value == value[:MAX_ORIGINAL_VALUE]
            assert (f"truncated from {len(value)} to {MAX_ORIGINAL_VALUE} bytes; the whole "
                    f"message stays at {where}") in letter.reason
        else:
            assert letter.original_value == value
    status, out, _err = scene.run("audit", "verify", "--database-url", database)
    assert status == 1 and out[-1].startswith(f"audit FAILED: {ALL} violations")  # theirs only
