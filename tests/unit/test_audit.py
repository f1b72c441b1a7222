"""The audit's rules over a log given as entries: decodability, parents, retraction lineage."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from streams.consensus.models import HandleAccepted, Vote
from streams.events.codec import Codec
from streams.events.errors import EventFormatError
from streams.events.fingerprint import MAGIC
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.lineage.models import EventRetracted, RedactionRequested
from streams.records.models import RecordReceived
from streams.tools.audit import (
    CURRENT_VIEWS,
    AuditReport,
    LogEntry,
    Violation,
    audit_log,
    audit_view_rows,
    check_views,
)
from streams.tools.log_reader import Coordinates
from tests.factories import T0, assignment, record


def decision(parents: Sequence[Event], *, ref: str = "H1", revision: int = 0) -> HandleAccepted:
    """A HandleAccepted counting ``parents`` (an assignment, a record, a retraction...)."""
    meta = new_meta(event_type=HandleAccepted.schema_name, entity_id="acme:42",
                    occurred_at=T0 + timedelta(minutes=30),
                    producer=Producer("consensus", "1.0.0", "test"),
                    provenance=Provenance("crowd:test", ref),
                    parents=[p.event_id for p in parents], identity=[ref, revision])
    return HandleAccepted(meta=meta, hit_id=ref, platform="instagram",
                          votes=(Vote("H1-A1", "W1", "antdavis23", "@antdavis23", 1.0),),
                          agreement=1.0, confidence=0.9999, posterior={"antdavis23": 0.9999},
                          method="quorum", revision=revision, supersedes=None,
                          handle="antdavis23")


def redaction(selected: Iterable[Event]) -> RedactionRequested:
    ids = [e.event_id for e in selected]
    meta = new_meta(event_type=RedactionRequested.schema_name, entity_id="redaction",
                    occurred_at=T0 + timedelta(hours=1),
                    producer=Producer("lineage", "1.0.0", "test"),
                    provenance=Provenance("operator", "ticket-7"), identity=ids)
    return RedactionRequested(meta=meta, event_ids=ids, stage=None, stage_version_min=None,
                              stage_version_max=None, worker_id=None, source=None,
                              occurred_from=None, occurred_to=None, reason="spam worker",
                              requested_by="ops")


def retraction(by: RedactionRequested, target: Event, via: Event | None = None) -> EventRetracted:
    meta = new_meta(event_type=EventRetracted.schema_name, entity_id=target.entity_id,
                    occurred_at=T0 + timedelta(hours=1),
                    producer=Producer("lineage", "1.0.0", "test"),
                    provenance=target.meta.provenance,
                    parents=[by.event_id, target.event_id], identity=[target.event_id])
    return EventRetracted(meta=meta, redaction_id=by.event_id, retracted_id=target.event_id,
                          retracted_type=target.schema_name,
                          retracted_stage=target.meta.producer.stage,
                          via=None if via is None else via.event_id, reason="spam worker")


def entries(*events: Event | EventFormatError, topic: str = "t") -> list[LogEntry]:
    return [(Coordinates(topic, 0, offset), item) for offset, item in enumerate(events)]


def kinds(violations: Iterable[Violation]) -> list[tuple[str, str | None, tuple[str, ...]]]:
    return sorted((v.kind, v.event_id, v.related) for v in violations)


def chain(length: int) -> list[RecordReceived]:
    """Records each derived from the one before (a long lineage chain)."""
    events: list[RecordReceived] = [record(ref="0")]
    for n in range(1, length):
        base = record(ref=str(n))
        meta = new_meta(event_type=base.schema_name, entity_id=base.entity_id, occurred_at=T0,
                        producer=Producer("records", "1.0.0", "t"),
                        provenance=base.meta.provenance, parents=[events[-1].event_id],
                        identity=n)
        events.append(RecordReceived(meta=meta, name=base.name, sport=base.sport,
                                     provider=base.provider, provider_ref=base.provider_ref))
    return events


REC = record()
A1 = assignment(1, {"instagram": "antdavis23"})
A2 = assignment(2, {"instagram": "@antdavis23"})
DEC = decision([REC, A1, A2])


def test_a_clean_log_passes_and_is_counted() -> None:
    audit = audit_log(entries(REC, A1, A2, DEC, DEC))  # a redelivered event counts once
    assert audit.violations == []
    assert (audit.messages, audit.events, audit.edges, audit.retracted) == (5, 4, 3, set())


def test_a_parent_missing_from_the_log_is_named() -> None:
    audit = audit_log(entries(REC, A1, DEC))
    assert kinds(audit.violations) == [("missing_parent", DEC.event_id, (A2.event_id,))]
    assert audit.violations[0].where == "t/0@2"


def test_unknown_fingerprints_and_corrupt_bodies_are_reported_where_they_are(
        codec: Codec) -> None:
    good = codec.encode(REC)
    failures: list[EventFormatError] = []
    for data in (MAGIC + b"\x01" * 8 + good[10:], good[:-3]):
        try:
            codec.decode(data)
        except EventFormatError as exc:
            failures.append(exc)
    audit = audit_log(entries(REC, *failures))
    assert [(v.kind, v.where) for v in audit.violations] == [
        ("unknown_schema", "t/0@1"), ("undecodable", "t/0@2")]
    assert "0101010101010101" in audit.violations[0].detail
    assert audit.events == 1 and audit.messages == 3


def test_live_descendants_of_a_retracted_event_fail_until_retracted_too() -> None:
    redact = redaction([A1])
    profile_source = decision([DEC], ref="H1-profile")  # a grandchild of the retracted A1
    log = [REC, A1, A2, DEC, profile_source, redact, retraction(redact, A1)]
    audit = audit_log(entries(*log))
    assert kinds(audit.violations) == sorted([
        ("live_descendant", DEC.event_id, (A1.event_id,)),
        ("live_descendant", profile_source.event_id, (A1.event_id,)),
    ])
    assert audit.retracted == {A1.event_id}

    fixed = [*log, retraction(redact, DEC, via=A1), retraction(redact, profile_source, via=DEC)]
    audit = audit_log(entries(*fixed))
    assert audit.violations == []
    assert audit.retracted == {A1.event_id, DEC.event_id, profile_source.event_id}


def test_an_event_derived_through_a_retraction_event_is_not_tainted() -> None:
    redact = redaction([A1])
    retracted_a1 = retraction(redact, A1)
    # consensus re-derived without A1, naming the retraction that made it re-decide
    redecided = decision([REC, A2, retracted_a1], revision=1)
    audit = audit_log(entries(REC, A1, A2, DEC, redact, retracted_a1,
                              retraction(redact, DEC, via=A1), redecided))
    assert audit.violations == []
    assert audit.derived_from_retracted(redecided.event_id) is None
    assert audit.derived_from_retracted(DEC.event_id) == DEC.event_id


def test_a_long_chain_is_walked_without_recursion() -> None:
    events = chain(5000)
    redact = redaction(events[:1])
    # the log's order need not be lineage order: children before their parents
    audit = audit_log(entries(*reversed(events), redact, retraction(redact, events[0])))
    assert len(audit.violations) == 4999
    assert {v.related for v in audit.violations} == {(events[0].event_id,)}


def test_view_rows_derived_from_retracted_events_are_violations() -> None:
    redact = redaction([A1])
    audit = audit_log(entries(REC, A1, A2, DEC, redact, retraction(redact, A1)))
    rows = audit_view_rows("current_handles", [REC.event_id, None, DEC.event_id, A1.event_id],
                           audit)
    assert kinds(rows) == sorted([("live_row", DEC.event_id, (A1.event_id,)),
                                  ("live_row", A1.event_id, (A1.event_id,))])
    assert all(v.where == "current_handles" for v in rows)


def test_views_are_read_from_the_database_and_absent_ones_noted(tmp_path: Path) -> None:
    redact = redaction([A1])
    audit = audit_log(entries(REC, A1, A2, DEC, redact, retraction(redact, A1)))
    engine = create_engine(f"sqlite:///{tmp_path / 'views.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE handle_rows (event_id TEXT, handle TEXT)"))
        connection.execute(text("INSERT INTO handle_rows VALUES (:a, 'x'), (:b, 'y')"),
                           {"a": DEC.event_id, "b": A2.event_id})
        connection.execute(text("CREATE VIEW current_handles AS "
                                "SELECT event_id, handle FROM handle_rows"))
    report = AuditReport(audit)
    check_views(engine, audit, report)
    engine.dispose()
    assert report.views_checked == ["current_handles"]
    assert kinds(report.violations) == sorted([
        ("live_descendant", DEC.event_id, (A1.event_id,)),
        ("live_row", DEC.event_id, (A1.event_id,))])
    absent = [v for v in CURRENT_VIEWS if v != "current_handles"]
    assert report.notes == [f"note: view {v} does not exist in the database, skipped"
                            for v in absent]
    assert report.lines()[-1].startswith("audit FAILED: 2 violations; 6 messages, 6 events")
