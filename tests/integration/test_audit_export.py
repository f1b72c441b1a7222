"""`audit verify` and `export` on the real broker, exports read back by Apache's avro-tools, and
`lineage` and the view check on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import fastavro
import pytest
from fastavro.schema import to_parsing_canonical_form
from sqlalchemy import create_engine, text

from sinks.event_index import create_schema
from streams.cli import main
from streams.events.codec import Codec
from streams.events.fingerprint import MAGIC
from streams.events.model import Event
from streams.producer import Delivery, EventProducer
from streams.settings import Settings
from streams.tools.audit import AuditReport, LogAudit, check_views, verify
from tests.conftest import missing_service
from tests.factories import assignment, hit, record
from tests.unit.test_audit import decision, redaction, retraction
from tests.unit.test_export import expired
from tests.unit.test_lineage_view import GRAPH, RETRACTED, fill

AVRO_TOOLS = Path(__file__).parents[2] / "infra" / "avro-tools.sh"
VIOLATION_KINDS = ("undecodable", "unknown_schema", "missing_parent", "live_descendant",
                   "live_row", "incomplete_read")


@pytest.fixture(scope="session")
def avro_tools() -> list[str]:
    """``java -jar avro-tools.jar``, the jar fetched from Maven Central once (cached)."""
    if shutil.which("java") is None or shutil.which("mvn") is None:
        missing_service("no java or mvn to run Apache avro-tools")
    fetched = subprocess.run(["bash", str(AVRO_TOOLS), "jar"], capture_output=True, text=True,
                             timeout=600, check=False)
    assert fetched.returncode == 0, fetched.stderr
    # C1 only: these are short runs, where the JIT's second tier costs more than it gains
    return ["java", "-XX:TieredStopAtLevel=1", "-jar", fetched.stdout.strip()]


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`crowdlog ...` as a user runs it, pointed at this test's topics."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("CROWDLOG_TOPIC_PREFIX", settings.topic_prefix)
    return settings


def publish(settings: Settings, codec: Codec, *events: Event,
            raw: tuple[str, bytes, str] | None = None) -> dict[str, Delivery]:
    """Send ``events`` (and a ``raw`` key, value, topic); where each landed, by event id."""
    deliveries: dict[str, Delivery] = {}
    with EventProducer(settings, codec, on_delivery=lambda d: deliveries.update({d.event_id: d})
                       ) as producer:
        for event in events:
            producer.send(event)
        if raw is not None:
            producer.send_encoded(*raw)
    return deliveries


def avro_tools_outputs(tool: list[str], *commands: list[str]) -> list[str]:
    """Standard output of each avro-tools command, run side by side (the JVM starts slowly)."""
    running = [subprocess.Popen([*tool, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for args in commands]
    outputs = []
    for process in running:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(out)
    return outputs


def violations(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(VIOLATION_KINDS)]


def test_audit_fails_on_a_live_descendant_until_it_is_retracted(
        cli: Settings, codec: Codec, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec, a1 = record(), assignment(1, {"instagram": "antdavis23"})
    dec = decision([rec, a1])
    redact = redaction([a1])
    deliveries = publish(cli, codec, rec, a1, dec, redact, retraction(redact, a1))
    no_database = f"sqlite:///{tmp_path / 'absent.db'}"

    assert main(["audit", "verify", "--database-url", no_database]) == 1
    out = capsys.readouterr().out
    at = deliveries[dec.event_id]
    assert violations(out) == [
        f"live_descendant: {at.topic}/{at.partition}@{at.offset} event {dec.event_id}: "
        f"HandleAccepted is live but descends from retracted event {a1.event_id}"]
    assert f"note: no database at {no_database}, views not checked" in out

    publish(cli, codec, retraction(redact, dec, via=a1))
    assert main(["audit", "verify", "--database-url", no_database]) == 0
    out = capsys.readouterr().out
    assert violations(out) == []
    assert out.splitlines()[-1] == (
        "audit clean: 6 messages, 6 events checked, 6 edges, 2 retracted")
    assert not (tmp_path / "absent.db").exists()


def test_export_is_read_by_fastavro_and_by_apache_avro_tools(
        cli: Settings, codec: Codec, tmp_path: Path, avro_tools: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    records = [record(ref=str(n), name=f"Athlete {n}") for n in range(6)]
    hits = [hit(), expired()]
    topic = f"{cli.topic_prefix}records.received"
    unknown_schema = ("acme:bad", MAGIC + b"\x01" * 8 + b"junk", topic)
    deliveries = publish(cli, codec, *records, *hits, raw=unknown_schema)
    ordered = sorted(records, key=lambda e: (deliveries[e.event_id].partition,
                                             deliveries[e.event_id].offset))

    out_records = tmp_path / "records.avro"
    assert main(["export", "--topic", "records.received", str(out_records),
                 "--codec", "deflate"]) == 1  # one message could not be exported
    captured = capsys.readouterr()
    assert captured.out.strip() == f"exported 6 events of {topic} to {out_records}"
    assert captured.err.startswith(f"skipped {topic}/") and "unknown_fingerprint" in captured.err
    out_hits = tmp_path / "hits.avro"
    assert main(["export", "--topic", f"{cli.topic_prefix}tasks.hits", str(out_hits)]) == 0
    capsys.readouterr()

    with out_records.open("rb") as data:
        assert list(fastavro.reader(data)) == [e.to_avro() for e in ordered]
    with out_hits.open("rb") as data:
        assert list(fastavro.reader(data)) == [e.to_avro() for e in hits]  # one partition

    as_json, schema, union_json = avro_tools_outputs(
        avro_tools, ["tojson", str(out_records)], ["getschema", str(out_records)],
        ["tojson", str(out_hits)])
    lines = [json.loads(line) for line in as_json.splitlines()]
    assert [line["meta"]["event_id"] for line in lines] == [e.event_id for e in ordered]
    assert [line["name"] for line in lines] == [e.name for e in ordered]
    ours = codec.store.current("crowdlog.records.RecordReceived").schema
    assert to_parsing_canonical_form(json.loads(schema)) == to_parsing_canonical_form(ours)
    union = [json.loads(line) for line in union_json.splitlines()]
    assert [(next(iter(line)), next(iter(line.values()))["meta"]["event_id"])
            for line in union] == [(e.schema_name, e.event_id) for e in hits]

    # the audit reads the same bytes raw: it reports the message, it dead-letters nothing
    report = verify(cli, codec, database_url=f"sqlite:///{tmp_path / 'absent.db'}")
    assert report.log.messages == 9  # 6 records, 2 HIT events, the junk; no dead letters
    assert [(v.kind, v.where.startswith(f"{topic}/")) for v in report.violations] == [
        ("unknown_schema", True)]


def test_lineage_and_view_checks_on_each_database(
        database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    with engine.begin() as connection:
        fill(connection, GRAPH, RETRACTED)
        connection.execute(text("CREATE VIEW audit_test_rows AS SELECT event_id FROM events "
                                "WHERE stage IN ('consensus', 'enrichment', 'records')"))
    audit = LogAudit(retracted={"a1", "dec"}, tainted={"prof": "a1"})
    report = AuditReport(audit)
    check_views(engine, audit, report, views=["audit_test_rows", "absent_view"])
    engine.dispose()
    assert sorted((v.event_id, v.related) for v in report.violations) == [
        ("dec", ("dec",)), ("prof", ("a1",))]
    assert report.notes == ["note: view absent_view does not exist in the database, skipped"]

    assert main(["lineage", "acme:42", "--json", "--database-url", database_url]) == 0
    document = json.loads(capsys.readouterr().out)
    # retractions show under what they retract, not as the entity's own events
    assert document["roots"] == ["rec", "hit", "a1", "a2", "dec", "prof"]
    assert set(document["nodes"]) == set(GRAPH) - {"other", "red"}
    assert document["nodes"]["dec"]["retraction"]["via"] == "a1"
    assert document["nodes"]["rec"]["occurred_at"] == "2026-01-02T03:04:05.678Z"
    assert ["a1", "dec"] in document["edges"] and ["a1", "ret-a1"] in document["edges"]
    assert main(["lineage", "dec", "--database-url", database_url]) == 0
    assert capsys.readouterr().out.splitlines()[0:2] == [
        "ancestors:", "  ↑ AssignmentSubmitted a1  crowd@1.0.0  src ref-a1  "
        "2026-01-02T03:06:05.678Z  RETRACTED by redaction red (selected directly; "
        "retraction ret-a1)"]
