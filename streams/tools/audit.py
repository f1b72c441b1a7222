"""`crowdlog audit verify`: checks that the log keeps its own promises.

The log is the system of record, so its invariants are checked against the log itself:

- every message decodes: its schema fingerprint is in the schema store (or its schema id in
  the registry) and its body fits;
- every parent an event names is an event of the log (lineage has no dangling edges);
- nothing live derives from a retracted event: an event that is not itself retracted must not
  descend from one (the retracted set is the ``retracted_id`` of every ``EventRetracted``);
- the SQL views of current state hold no row derived from a retracted event.

``audit_log`` and ``audit_view_rows`` are pure (entries in, violations out) so the rules are
tested without a broker; ``verify`` is the thin part that reads Kafka and SQL.

An ``EventRetracted`` names the event it retracts as a parent, and a stage that re-derives a
result without the retracted input may name the retraction as a parent too: lineage does not
carry the retraction's taint through a retraction event, which is the fix, not the fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from streams.events.codec import Codec
from streams.events.errors import EventFormatError, UnknownFingerprint
from streams.events.model import Event
from streams.events.registry import UnknownSchemaId
from streams.lineage.models import EventRetracted
from streams.settings import Settings
from streams.tools.log_reader import Coordinates, LogReader, describe
from streams.topics import CATALOGUE, full_name

# The views of current state (sinks/): each has an ``event_id`` column naming the event its row
# was derived from.
CURRENT_VIEWS = ("current_records", "current_handles", "current_profiles",
                 "current_predictions", "current_worker_quality")

LogEntry = tuple[Coordinates, Event | EventFormatError]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant, with the ids a person needs to look into it."""

    kind: str  # undecodable | unknown_schema | missing_parent | live_descendant | live_row
    #            | incomplete_read
    where: str  # topic/partition@offset, a view name, or a partition range
    detail: str
    event_id: str | None = None
    related: tuple[str, ...] = ()  # the missing parent, or the retracted ancestor

    def line(self) -> str:
        ids = f" event {self.event_id}" if self.event_id else ""
        return f"{self.kind}: {self.where}{ids}: {self.detail}"


@dataclass(frozen=True, slots=True)
class _Node:
    parents: tuple[str, ...]
    short_type: str
    where: Coordinates
    is_retraction: bool


@dataclass
class LogAudit:
    """What the log holds and what is wrong with it.

    ``tainted`` maps each live event that descends from a retracted event to one retracted
    ancestor; ``retracted`` is the set of retracted ids.
    """

    messages: int = 0
    events: int = 0
    edges: int = 0
    retracted: set[str] = field(default_factory=set)
    tainted: dict[str, str] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    def derived_from_retracted(self, event_id: str) -> str | None:
        """The retracted event behind ``event_id`` (itself if retracted), or None."""
        if event_id in self.retracted:
            return event_id
        return self.tainted.get(event_id)


def _decode_violation(where: Coordinates, error: EventFormatError) -> Violation:
    unknown = isinstance(error, UnknownFingerprint | UnknownSchemaId)
    kind = "unknown_schema" if unknown else "undecodable"
    return Violation(kind, str(where), describe(error))


def audit_log(entries: Iterable[LogEntry]) -> LogAudit:
    """Check decodability, parent existence and retraction lineage over a whole log.

    ``entries`` is every message of the log with its coordinates, decoded or the decode
    error. An event seen twice (a redelivery, a re-ingest: ids are deterministic) counts once.
    """
    audit = LogAudit()
    nodes: dict[str, _Node] = {}
    for where, item in entries:
        audit.messages += 1
        if isinstance(item, EventFormatError):
            audit.violations.append(_decode_violation(where, item))
            continue
        if item.event_id in nodes:
            continue
        if isinstance(item, EventRetracted):
            audit.retracted.add(item.retracted_id)
        nodes[item.event_id] = _Node(item.meta.parents, type(item).__name__, where,
                                     isinstance(item, EventRetracted))
    audit.events = len(nodes)
    for event_id, node in nodes.items():
        audit.edges += len(node.parents)
        for parent in node.parents:
            if parent not in nodes:
                audit.violations.append(Violation(
                    "missing_parent", str(node.where),
                    f"{node.short_type} names parent {parent}, which is not in the log",
                    event_id, (parent,)))
    audit.tainted = _retracted_ancestors(nodes, audit.retracted)
    for event_id, ancestor in audit.tainted.items():
        node = nodes[event_id]
        audit.violations.append(Violation(
            "live_descendant", str(node.where),
            f"{node.short_type} is live but descends from retracted event {ancestor}",
            event_id, (ancestor,)))
    return audit


def _retracted_ancestors(nodes: Mapping[str, _Node], retracted: set[str]) -> dict[str, str]:
    """For each live, non-retraction event with a retracted ancestor: one such ancestor.

    Iterative depth-first search with memoisation (lineage chains can be long); a node's
    parents are settled before the node. ``carried[n]`` is what a child of ``n`` inherits:
    ``n`` itself when retracted, nothing through a retraction event, else ``n``'s own taint.
    """
    taint: dict[str, str | None] = {}
    carried: dict[str, str | None] = {}

    def inherit(parent: str) -> str | None:
        if parent in carried:
            return carried[parent]
        return parent if parent in retracted else None  # absent from the log (or a cycle)

    for start in nodes:
        if start in carried:
            continue
        stack: list[tuple[str, bool]] = [(start, False)]
        visiting: set[str] = set()
        while stack:
            current, settled = stack.pop()
            if current in carried:
                continue
            node = nodes[current]
            if settled:
                found = next((a for a in map(inherit, node.parents) if a is not None), None)
                taint[current] = found
                carried[current] = (None if node.is_retraction
                                    else current if current in retracted else found)
                continue
            if current in visiting:
                continue
            visiting.add(current)
            stack.append((current, True))
            stack.extend((p, False) for p in node.parents if p in nodes and p not in carried)
    return {
        event_id: ancestor for event_id, ancestor in taint.items()
        if ancestor is not None and event_id not in retracted
        and not nodes[event_id].is_retraction
    }


def audit_view_rows(view: str, event_ids: Iterable[str | None],
                    audit: LogAudit) -> list[Violation]:
    """Rows of a current-state view that were derived from a retracted event."""
    violations = []
    for event_id in event_ids:
        if event_id is None:
            continue
        ancestor = audit.derived_from_retracted(event_id)
        if ancestor is None:
            continue
        detail = ("row derived from retracted event " + ancestor if ancestor != event_id
                  else "row derived from an event that is retracted")
        violations.append(Violation("live_row", view, detail, event_id, (ancestor,)))
    return violations


def incomplete_read_violation(where: str, end: int) -> Violation:
    return Violation("incomplete_read", where,
                     f"no message arrived before the idle timeout; end offset {end} not reached")


# ---- the thin part: Kafka and SQL ---------------------------------------------------------


@dataclass
class AuditReport:
    log: LogAudit
    notes: list[str] = field(default_factory=list)
    views_checked: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[Violation]:
        return self.log.violations

    @property
    def clean(self) -> bool:
        return not self.log.violations

    def lines(self) -> list[str]:
        log = self.log
        summary = (f"{log.messages} messages, {log.events} events checked, {log.edges} edges, "
                   f"{len(log.retracted)} retracted")
        views = f"; views checked: {', '.join(self.views_checked)}" if self.views_checked else ""
        out = [*self.notes]
        if self.clean:
            out.append(f"audit clean: {summary}{views}")
        else:
            out += [v.line() for v in log.violations]
            out.append(f"audit FAILED: {len(log.violations)} violations; {summary}{views}")
        return out


def sqlite_file_missing(url: str) -> bool:
    """True for a SQLite URL whose file does not exist (opening it would create it)."""
    parsed = make_url(url)
    database = parsed.database
    return (parsed.get_backend_name() == "sqlite" and bool(database)
            and database != ":memory:" and not Path(str(database)).exists())


def check_views(engine: Engine, audit: LogAudit, report: AuditReport,
                views: Sequence[str] = CURRENT_VIEWS) -> None:
    """Check each current-state view that exists; note the ones that do not (yet)."""
    inspector = inspect(engine)
    present = set(inspector.get_view_names()) | set(inspector.get_table_names())
    for view in views:
        if view not in present:
            report.notes.append(f"note: view {view} does not exist in the database, skipped")
            continue
        with engine.connect() as connection:
            ids = connection.execute(text(f"SELECT event_id FROM {view}")).scalars()
            audit.violations.extend(audit_view_rows(view, ids, audit))
        report.views_checked.append(view)


def verify(settings: Settings, codec: Codec, *, database_url: str | None,
           idle_timeout: float = 10.0) -> AuditReport:
    """Read every catalogue topic to its current end, audit it, then check the SQL views."""
    topics = [full_name(spec, settings.topic_prefix) for spec in CATALOGUE]
    reader = LogReader(settings, topics, idle_timeout=idle_timeout)
    audit = audit_log(reader.decoded(codec))
    report = AuditReport(audit)
    report.notes += [f"note: topic {t} does not exist, skipped" for t in reader.missing_topics]
    audit.violations += [
        incomplete_read_violation(f"{p.topic}/{p.partition}", p.end) for p in reader.incomplete]
    url = database_url or settings.database_url
    shown = make_url(url).render_as_string(hide_password=True)
    if sqlite_file_missing(url):
        report.notes.append(f"note: no database at {shown}, views not checked")
        return report
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("events"):
            report.notes.append(f"note: {shown} has no event index (no events table), "
                                "views not checked")
            return report
        check_views(engine, audit, report)
    finally:
        engine.dispose()
    return report
