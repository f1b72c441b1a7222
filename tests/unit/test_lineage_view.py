"""`crowdlog lineage`: walking the index level by level, the tree and the JSON document."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, insert

from sinks.event_index import create_schema
from sinks.tables import event_parents, events, retractions
from streams.cli import main
from streams.lineage.graph import Node
from streams.tools import lineage_view
from streams.tools.lineage_view import (
    LineageView,
    Retraction,
    SqlLineageSource,
    render_json,
    render_text,
    resolve,
    walk,
)
from tests.factories import T0

# id: (type, stage, minute, parents, entity)
GRAPH: dict[str, tuple[str, str, int, tuple[str, ...], str]] = {
    "rec": ("crowdlog.records.RecordReceived", "records", 0, (), "acme:42"),
    "hit": ("crowdlog.tasks.HitPublished", "tasks", 1, ("rec",), "acme:42"),
    "a1": ("crowdlog.tasks.AssignmentSubmitted", "crowd", 2, ("hit",), "acme:42"),
    "a2": ("crowdlog.tasks.AssignmentSubmitted", "crowd", 3, ("hit",), "acme:42"),
    "dec": ("crowdlog.consensus.HandleAccepted", "consensus", 4, ("a1", "a2"), "acme:42"),
    "prof": ("crowdlog.enrichment.ProfileEnriched", "enrichment", 5, ("dec",), "acme:42"),
    "red": ("crowdlog.lineage.RedactionRequested", "lineage", 6, (), "redaction"),
    "ret-a1": ("crowdlog.lineage.EventRetracted", "lineage", 7, ("red", "a1"), "acme:42"),
    "ret-dec": ("crowdlog.lineage.EventRetracted", "lineage", 7, ("red", "dec"), "acme:42"),
    "other": ("crowdlog.records.RecordReceived", "records", 0, (), "acme:43"),
}
# retracted id: (redaction, retraction event, via)
RETRACTED = {"a1": ("red", "ret-a1", None), "dec": ("red", "ret-dec", "a1")}


def fill(connection: Connection, graph: dict[str, tuple[str, str, int, tuple[str, ...], str]],
         retracted: dict[str, tuple[str, str, str | None]]) -> None:
    """The index rows the event index sink writes for these events."""
    for event_id, (kind, stage, minute, parents, entity) in graph.items():
        connection.execute(insert(events).values(
            event_id=event_id, event_type=kind, entity_id=entity,
            occurred_at=T0 + timedelta(minutes=minute), stage=stage, stage_version="1.0.0",
            instance="test", provenance_source="src", provenance_reference=f"ref-{event_id}",
            schema_fingerprint="00" * 8, schema_version=1, topic="t", partition=0, offset=0,
            payload="{}"))
        for position, parent in enumerate(parents):
            connection.execute(insert(event_parents).values(
                event_id=event_id, parent_id=parent, position=position))
    for event_id, (redaction, retraction, via) in retracted.items():
        connection.execute(insert(retractions).values(
            retracted_id=event_id, redaction_id=redaction, retraction_id=retraction, via=via,
            reason="spam worker"))


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'index.db'}"
    engine = create_engine(url)
    create_schema(engine)
    with engine.begin() as connection:
        fill(connection, GRAPH, RETRACTED)
    engine.dispose()
    return url


@pytest.fixture
def source(database: str) -> Iterator[SqlLineageSource]:
    engine = create_engine(database)
    with engine.connect() as connection:
        yield SqlLineageSource(connection)
    engine.dispose()


def line(event_id: str) -> str:
    """How ``describe`` prints an event of GRAPH."""
    kind, stage, minute, _, _ = GRAPH[event_id]
    at = (T0 + timedelta(minutes=minute)).isoformat(timespec="milliseconds")
    text = (f"{kind.rsplit('.', 1)[-1]} {event_id}  {stage}@1.0.0  src ref-{event_id}  "
            f"{at.replace('+00:00', 'Z')}")
    if event_id in RETRACTED:
        redaction, retraction, via = RETRACTED[event_id]
        how = f"via {via}" if via else "selected directly"
        text += f"  RETRACTED by redaction {redaction} ({how}; retraction {retraction})"
    return text


def test_an_event_shows_its_ancestors_above_and_descendants_below(
        source: SqlLineageSource) -> None:
    graph = walk(source, resolve(source, "dec"))
    assert render_text(graph).splitlines() == [
        "ancestors:",
        f"  ↑ {line('a1')}",
        f"    ↑ {line('hit')}",
        f"      ↑ {line('rec')}",
        f"  ↑ {line('a2')}",
        "    ↑ HitPublished hit  (shown above)",
        f"● {line('dec')}",
        "descendants:",
        f"  ↓ {line('prof')}",
        f"  ↓ {line('ret-dec')}",
    ]


def test_json_has_roots_nodes_and_edges(source: SqlLineageSource) -> None:
    document = json.loads(json.dumps(render_json(walk(source, ["a1"]))))
    assert document["roots"] == ["a1"]
    assert set(document["nodes"]) == {"a1", "hit", "rec", "dec", "prof", "ret-a1", "ret-dec"}
    assert sorted(map(tuple, document["edges"])) == sorted([
        ("hit", "a1"), ("rec", "hit"), ("a1", "dec"), ("dec", "prof"), ("a1", "ret-a1"),
        ("dec", "ret-dec")])
    assert document["nodes"]["a1"]["retraction"] == {
        "redaction_id": "red", "retraction_id": "ret-a1", "via": None, "reason": "spam worker"}
    assert document["nodes"]["dec"]["retraction"]["via"] == "a1"
    assert document["nodes"]["rec"] == {
        "event_type": "crowdlog.records.RecordReceived", "type": "RecordReceived",
        "entity_id": "acme:42", "stage": "records", "version": "1.0.0", "source": "src",
        "reference": "ref-rec", "occurred_at": "2026-01-02T03:04:05.678Z", "retraction": None}
    assert document["missing"] == [] and document["truncated"] == []


def test_an_entity_id_selects_every_event_of_the_entity_each_printed_once(
        source: SqlLineageSource) -> None:
    roots = resolve(source, "acme:42")
    # retractions are keyed by the entity they withdraw from, but shown under what they retract
    assert roots == ["rec", "hit", "a1", "a2", "dec", "prof"]
    text = render_text(walk(source, roots))
    full = [row for row in text.splitlines() if "  src ref-" in row]
    assert sorted(row.split()[2] for row in full) == sorted(
        ["rec", "hit", "a1", "a2", "dec", "prof", "ret-a1", "ret-dec"])
    # later events of the entity were shown under the first: one tree, nothing above it
    assert len(text.split("\n\n")) == 1 and text.startswith(f"● {line('rec')}\n")
    assert "  ↓ AssignmentSubmitted a2" in text and "HandleAccepted dec  (shown above)" in text
    # an entity's events come in time order, but ties put a child first now and then: the
    # roots that descend from no other root are printed first, and hold the others
    reordered = render_text(walk(source, ["prof", "rec"])).split("\n\n")
    assert len(reordered) == 1 and reordered[0].startswith(f"● {line('rec')}\n")
    assert resolve(source, "nobody") == []
    assert resolve(source, "other") == ["other"]


def test_depth_limits_each_direction_and_says_where_it_stopped(
        source: SqlLineageSource) -> None:
    graph = walk(source, ["a1"], depth=1)
    assert set(graph.graph.nodes) == {"a1", "hit", "dec", "ret-a1"}
    assert graph.cut_up == {"hit"} and graph.cut_down == {"dec"}
    assert render_text(graph).splitlines()[:3] == [
        "ancestors:", f"  ↑ {line('hit')}", "    ↑ ... (more beyond the depth asked for)"]
    assert render_json(walk(source, ["a1"], depth=0))["truncated"] == ["a1"]


def test_a_parent_missing_from_the_index_is_shown_as_missing(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'gap.db'}")
    create_schema(engine)
    with engine.begin() as connection:
        fill(connection, {"orphan": GRAPH["dec"]}, {})
    with engine.connect() as connection:
        graph = walk(SqlLineageSource(connection), ["orphan"])
    engine.dispose()
    assert graph.missing == {"a1", "a2"}
    assert render_text(graph).splitlines()[:3] == [
        "ancestors:", "  ↑ ? a1  (not in the index)", "  ↑ ? a2  (not in the index)"]


class CountingSource:
    """A wide fan-out in memory, counting the calls the walk makes per direction."""

    def __init__(self, width: int) -> None:
        self.children_of = {"root": [f"c{n}" for n in range(width)]}
        self.children_of.update({f"c{n}": ["leaf"] for n in range(width)})
        self.calls: list[tuple[str, int]] = []

    def events(self, ids: Sequence[str]) -> dict[str, Node]:
        self.calls.append(("events", len(ids)))
        return {i: Node(i, "crowdlog.x.Thing", "e", "s", "1", "src", T0, (), reference=i)
                for i in ids}

    def retractions(self, ids: Sequence[str]) -> dict[str, Retraction]:
        self.calls.append(("retractions", len(ids)))
        return {}

    def children(self, ids: Sequence[str]) -> dict[str, list[str]]:
        self.calls.append(("children", len(ids)))
        return {i: self.children_of[i] for i in ids if i in self.children_of}

    def entity_events(self, entity_id: str) -> list[str]:
        return []


def test_the_walk_asks_once_per_level_however_wide() -> None:
    fake = CountingSource(1200)
    graph: LineageView = walk(fake, ["root"])
    assert len(graph.graph) == 1202
    # walking up costs no query: the nodes name their parents (here none)
    assert fake.calls == [("events", 1), ("children", 1), ("events", 1200),
                          ("children", 1200), ("events", 1), ("children", 1),
                          ("retractions", 1202)]
    assert len(render_text(graph).splitlines()) == 2 + 2 * 1200  # leaf once, then referenced


def test_the_sql_source_batches_long_id_lists(source: SqlLineageSource,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lineage_view, "BATCH", 2)
    assert set(source.events(["rec", "hit", "a1", "a2", "dec", "nope"])) == {
        "rec", "hit", "a1", "a2", "dec"}
    found = source.events(["dec", "hit", "ret-a1", "rec"])
    assert {i: node.parents for i, node in found.items()} == {
        "dec": ("a1", "a2"), "hit": ("rec",), "ret-a1": ("red", "a1"), "rec": ()}
    assert set(source.retractions(["a1", "a2", "dec", "hit"])) == {"a1", "dec"}
    assert source.children(["a1", "dec", "hit"]) == {
        "a1": ["dec", "ret-a1"], "dec": ["prof", "ret-dec"], "hit": ["a1", "a2"]}


def test_the_command_prints_json_or_a_tree_and_fails_on_unknown_ids(
        database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lineage", "prof", "--json", "--database-url", database]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["roots"] == ["prof"] and "rec" in document["nodes"]
    assert main(["lineage", "prof", "--depth", "1", "--database-url", database]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"  ↑ {line('dec')}"
    assert main(["lineage", "nope", "--database-url", database]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "nope is neither an event id nor an entity id" in captured.err
    missing = database.replace("index.db", "absent.db")
    assert main(["lineage", "prof", "--database-url", missing]) == 1
    assert "no event index" in capsys.readouterr().err
    assert not Path(missing.removeprefix("sqlite:///")).exists()


def test_an_index_older_than_retractions_still_shows_lineage(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    events.create(engine)
    event_parents.create(engine)
    with engine.begin() as connection:
        fill(connection, {k: GRAPH[k] for k in ("rec", "hit")}, {})
    with engine.connect() as connection:
        graph = walk(SqlLineageSource(connection), ["hit"])
    engine.dispose()
    assert set(graph.graph.nodes) == {"rec", "hit"}
    assert graph.retractions == {}
