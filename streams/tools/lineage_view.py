"""`crowdlog lineage ID`: an event's (or an entity's) ancestors, descendants and retractions.

The graph comes from the event index (``events``, ``event_parents``, ``retractions``) through a
small ``LineageSource`` interface, as the lineage stage's own model (:class:`Node`, with its
parents, in a :class:`LineageGraph`). It is walked one level at a time with one batched ``IN``
query per level and direction (upward the nodes already name their parents, so only the new
nodes are read), so a wide fan-out costs a few queries rather than one per node. Walking and
rendering are pure: tests give them a source backed by a dict or a SQLite database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, inspect, select

from sinks.tables import event_parents, events, retractions
from streams.lineage.graph import LineageGraph, Node

BATCH = 500  # ids per IN (...): well under every database's bound-parameter limit


@dataclass(frozen=True, slots=True)
class Retraction:
    """How an event was withdrawn: by which redaction, through which retracted parent."""

    redaction_id: str
    retraction_id: str
    via: str | None  # None: the redaction selected the event itself
    reason: str


class LineageSource(Protocol):
    """What the walk needs from a store of events and edges (each call takes a batch of ids)."""

    def events(self, ids: Sequence[str]) -> dict[str, Node]:
        """The known events among ``ids``, each with its parents in the event's own order."""
        ...

    def children(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """Parent id -> the ids of events that name it as a parent."""
        ...

    def retractions(self, ids: Sequence[str]) -> dict[str, Retraction]:
        """How each retracted event among ``ids`` was withdrawn."""
        ...

    def entity_events(self, entity_id: str) -> list[str]:
        """Ids of the events about ``entity_id``, oldest first (retractions aside)."""
        ...


@dataclass
class LineageView:
    """The part of the lineage graph reachable from ``roots`` (within the depth asked for).

    ``graph`` holds the events reached. ``up`` holds the edges followed walking to ancestors
    (child -> parents), ``down`` those followed walking to descendants (parent -> children).
    ``missing`` are ids named as parents that the index does not hold; ``cut_up``/``cut_down``
    are nodes whose ancestors/descendants go on past the depth asked for.
    """

    roots: list[str]
    graph: LineageGraph = field(default_factory=LineageGraph)
    up: dict[str, list[str]] = field(default_factory=dict)
    down: dict[str, list[str]] = field(default_factory=dict)
    retractions: dict[str, Retraction] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    cut_up: set[str] = field(default_factory=set)
    cut_down: set[str] = field(default_factory=set)

    def edges(self) -> list[tuple[str, str]]:
        """Every (parent, child) edge found, each once, in a stable order."""
        found = {(p, c) for c, ps in self.up.items() for p in ps}
        found |= {(p, c) for p, cs in self.down.items() for c in cs}
        return sorted(found)


def resolve(source: LineageSource, ident: str) -> list[str]:
    """The roots for ``ident``: that event if it is one, else every event of that entity."""
    if source.events([ident]):
        return [ident]
    return source.entity_events(ident)


def walk(source: LineageSource, roots: Sequence[str], depth: int | None = None) -> LineageView:
    """Ancestors and descendants of ``roots``, at most ``depth`` levels each way (None: all)."""
    view = LineageView(list(roots))
    for node in source.events(roots).values():
        view.graph.add(node)
    _walk_direction(source, view, upward=True, depth=depth)
    _walk_direction(source, view, upward=False, depth=depth)
    view.retractions = source.retractions(list(view.graph.nodes))
    return view


def _walk_direction(source: LineageSource, view: LineageView, *, upward: bool,
                    depth: int | None) -> None:
    """Breadth first from the roots: per level one query for the new nodes, and walking down
    one for the edges (walking up, the nodes name their parents)."""
    nodes = view.graph.nodes

    def parents(ids: Sequence[str]) -> dict[str, list[str]]:
        return {i: list(nodes[i].parents) for i in ids if i in nodes and nodes[i].parents}

    fetch = parents if upward else source.children
    edges, cut = (view.up, view.cut_up) if upward else (view.down, view.cut_down)
    seen = set(view.roots)
    frontier = list(view.roots)
    level = 0
    while frontier and (depth is None or level < depth):
        found = fetch(frontier)
        reached: list[str] = []
        for node in frontier:
            neighbours = found.get(node, [])
            if neighbours:
                edges[node] = neighbours
            for neighbour in neighbours:
                if neighbour not in seen:
                    seen.add(neighbour)
                    reached.append(neighbour)
        unknown = [n for n in reached if n not in nodes]
        if unknown:
            for new in source.events(unknown).values():
                view.graph.add(new)
            view.missing.update(n for n in unknown if n not in nodes)
        frontier = [n for n in reached if n in nodes]
        level += 1
    if frontier:
        cut.update(fetch(frontier))


# ---- rendering ----------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite gives naive datetimes back; the log's times are UTC
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def describe(node: Node, retraction: Retraction | None = None) -> str:
    """One line: type, id, stage@version, provenance, time, and the retraction if any."""
    line = (f"{node.short_type} {node.event_id}  {node.stage}@{node.version}  "
            f"{node.source} {node.reference}  {_iso(node.occurred_at)}")
    if retraction is not None:
        how = (f"via {retraction.via}" if retraction.via
               else "selected directly")
        line += (f"  RETRACTED by redaction {retraction.redaction_id} ({how}; "
                 f"retraction {retraction.retraction_id})")
    return line


def _node_json(node: Node, retraction: Retraction | None) -> dict[str, Any]:
    return {
        "event_type": node.event_type,
        "type": node.short_type,
        "entity_id": node.entity_id,
        "stage": node.stage,
        "version": node.version,
        "source": node.source,
        "reference": node.reference,
        "occurred_at": _iso(node.occurred_at),
        "retraction": None if retraction is None else {
            "redaction_id": retraction.redaction_id,
            "retraction_id": retraction.retraction_id,
            "via": retraction.via,
            "reason": retraction.reason,
        },
    }


def _tree(view: LineageView, start: str, *, edges: Mapping[str, list[str]], cut: set[str],
          arrow: str, shown: set[str]) -> Iterator[str]:
    """The nodes beyond ``start`` along ``edges``, indented, each printed in full once."""
    if start in cut:
        yield f"  {arrow} ... (more beyond the depth asked for)"
    stack = [(n, 1) for n in reversed(edges.get(start, []))]
    while stack:
        current, level = stack.pop()
        pad = "  " * level
        node = view.graph.nodes.get(current)
        if node is None:
            yield f"{pad}{arrow} ? {current}  (not in the index)"
            continue
        if current in shown:
            yield f"{pad}{arrow} {node.short_type} {current}  (shown above)"
            continue
        shown.add(current)
        yield f"{pad}{arrow} {describe(node, view.retractions.get(current))}"
        if current in cut:
            yield f"{pad}  {arrow} ... (more beyond the depth asked for)"
        stack.extend((n, level + 1) for n in reversed(edges.get(current, [])))


def _sources_first(view: LineageView) -> list[str]:
    """The roots, those that descend from no other root first (so their trees hold the rest)."""
    derived: set[str] = set()
    frontier = [c for root in view.roots for c in view.down.get(root, [])]
    while frontier:
        current = frontier.pop()
        if current not in derived:
            derived.add(current)
            frontier.extend(view.down.get(current, []))
    return ([r for r in view.roots if r not in derived]
            + [r for r in view.roots if r in derived])


def render_text(view: LineageView) -> str:
    """Each root with its ancestors above it and its descendants below it.

    A node is printed in full once and referenced after that. A root already printed (an
    entity's later event shown among the descendants of its first) is left out, unless it
    has lineage that was not printed yet.
    """
    lines: list[str] = []
    shown: set[str] = set()
    for root in _sources_first(view):
        node = view.graph.nodes[root]
        seen_before = root in shown
        parents, children = view.up.get(root, []), view.down.get(root, [])
        show_up = bool(parents) and (not seen_before or any(p not in shown for p in parents))
        show_down = bool(children) and (not seen_before or any(c not in shown for c in children))
        if not seen_before:
            show_up = show_up or root in view.cut_up
            show_down = show_down or root in view.cut_down
        elif not (show_up or show_down):
            continue  # an earlier root's tree showed it and all of its lineage
        if lines:
            lines.append("")
        if show_up:
            lines.append("ancestors:")
            lines += _tree(view, root, edges=view.up, cut=view.cut_up, arrow="↑", shown=shown)
        if seen_before:
            lines.append(f"● {node.short_type} {root}  (shown above)")
        else:
            shown.add(root)
            lines.append(f"● {describe(node, view.retractions.get(root))}")
        if show_down:
            lines.append("descendants:")
            lines += _tree(view, root, edges=view.down, cut=view.cut_down, arrow="↓",
                           shown=shown)
    return "\n".join(lines)


def render_json(view: LineageView) -> dict[str, Any]:
    """``{"roots", "nodes", "edges"}`` plus the ids not in the index and the cut-off nodes."""
    return {
        "roots": list(view.roots),
        "nodes": {event_id: _node_json(node, view.retractions.get(event_id))
                  for event_id, node in sorted(view.graph.nodes.items())},
        "edges": [list(edge) for edge in view.edges()],
        "missing": sorted(view.missing),
        "truncated": sorted(view.cut_up | view.cut_down),
    }


# ---- the event index as a source ----------------------------------------------------------


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


class SqlLineageSource:
    """Read-only lineage queries on the event index (SQLite or PostgreSQL).

    An index created before retractions existed has no ``retractions`` table: its events are
    shown without retraction information rather than not at all.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._has_retractions = inspect(connection).has_table(retractions.name)

    def events(self, ids: Sequence[str]) -> dict[str, Node]:
        query = (select(events.c.event_id, events.c.event_type, events.c.entity_id,
                        events.c.stage, events.c.stage_version, events.c.provenance_source,
                        events.c.provenance_reference, events.c.occurred_at,
                        event_parents.c.parent_id)
                 .select_from(events.outerjoin(
                     event_parents, event_parents.c.event_id == events.c.event_id))
                 .order_by(events.c.event_id, event_parents.c.position))
        first: dict[str, Any] = {}  # an event's row; one more per further parent
        parents: dict[str, list[str]] = {}
        for chunk in _chunks(ids):
            for row in self._connection.execute(query.where(events.c.event_id.in_(chunk))):
                first.setdefault(row.event_id, row)
                if row.parent_id is not None:
                    parents.setdefault(row.event_id, []).append(row.parent_id)
        return {event_id: Node(row.event_id, row.event_type, row.entity_id, row.stage,
                               row.stage_version, row.provenance_source, row.occurred_at,
                               tuple(parents.get(event_id, ())),
                               reference=row.provenance_reference)
                for event_id, row in first.items()}

    def retractions(self, ids: Sequence[str]) -> dict[str, Retraction]:
        if not self._has_retractions:
            return {}
        query = select(retractions.c.retracted_id, retractions.c.redaction_id,
                       retractions.c.retraction_id, retractions.c.via, retractions.c.reason)
        found: dict[str, Retraction] = {}
        for chunk in _chunks(ids):
            for row in self._connection.execute(
                    query.where(retractions.c.retracted_id.in_(chunk))):
                found[row.retracted_id] = Retraction(row.redaction_id, row.retraction_id,
                                                     row.via, row.reason)
        return found

    def children(self, ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for chunk in _chunks(ids):
            rows = self._connection.execute(
                select(event_parents.c.parent_id, event_parents.c.event_id)
                .select_from(event_parents.outerjoin(
                    events, events.c.event_id == event_parents.c.event_id))
                .where(event_parents.c.parent_id.in_(chunk))
                .order_by(event_parents.c.parent_id, events.c.occurred_at,
                          event_parents.c.event_id))
            for parent, child in rows:
                found.setdefault(parent, []).append(child)
        return found

    def entity_events(self, entity_id: str) -> list[str]:
        rows = self._connection.execute(
            select(events.c.event_id).where(events.c.entity_id == entity_id)
            # a retraction is keyed by the entity it withdraws from, but it is not about it:
            # it shows under the event it retracts
            .where(events.c.event_type != "crowdlog.lineage.EventRetracted")
            .order_by(events.c.occurred_at, events.c.event_id))
        return list(rows.scalars())
