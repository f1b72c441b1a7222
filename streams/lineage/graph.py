"""The lineage graph: every event seen, as a node with its parents, and who derives from whom.

One model for the lineage stage, which folds the whole log into it, and for the lineage view
(``crowdlog lineage``, :mod:`streams.tools.lineage_view`), which loads the part of the event
index around the events asked about. A node keeps only what selections, impact reports and the
view look at, and holds each string once, so the graph of a whole log fits in memory (about 300
bytes per event, ``benchmarks/lineage.py``). Children are indexed by parent id even before the
parent itself is seen: topics are read in no particular order across partitions, so a child can
arrive before its parent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from sys import intern

from streams.events.model import Event

ASSIGNMENT_TYPE = "crowdlog.tasks.AssignmentSubmitted"


@dataclass(frozen=True, slots=True)
class Node:
    """One event of the log, as lineage sees it."""

    event_id: str
    event_type: str
    entity_id: str
    stage: str
    version: str
    source: str
    occurred_at: datetime
    parents: tuple[str, ...]
    worker_id: str | None = None  # the crowd worker, for assignments
    reference: str | None = None  # the provenance reference (a row, a HIT), where it is shown

    @classmethod
    def of(cls, event: Event) -> Node:
        meta = event.meta
        worker = getattr(event, "worker_id", None) if meta.event_type == ASSIGNMENT_TYPE else None
        # Every string is held once: ids recur as parents and in the children index, and
        # types, stages, versions, sources and entities repeat across events.
        return cls(intern(meta.event_id), intern(meta.event_type), intern(meta.entity_id),
                   intern(meta.producer.stage), intern(meta.producer.version),
                   intern(meta.provenance.source), meta.occurred_at,
                   tuple(intern(parent) for parent in meta.parents),
                   None if worker is None else intern(worker))

    @property
    def short_type(self) -> str:
        return self.event_type.rsplit(".", 1)[-1]


class LineageGraph:
    """Nodes by id and the children of every id, for descendant walks."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._children: dict[str, list[str]] = {}

    def add(self, node: Node) -> bool:
        """Add ``node``; False if it was already there (a redelivery)."""
        if node.event_id in self.nodes:
            return False
        self.nodes[node.event_id] = node
        for parent in node.parents:
            self._children.setdefault(parent, []).append(node.event_id)
        return True

    def children(self, event_id: str) -> list[str]:
        return self._children.get(event_id, [])

    def __contains__(self, event_id: object) -> bool:
        return event_id in self.nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def descendants(self, roots: Iterable[str], *, skip: Container[str] = frozenset(),
                    exempt: frozenset[str] = frozenset()) -> dict[str, str | None]:
        """Every root and every event derived from one, breadth first (parents before children).

        Maps each id to the parent it was reached through (``None`` for a root). Ids in ``skip``
        (already retracted) are neither returned nor walked through again; ids in ``exempt``
        (the redaction's own causes) are never returned, and their children are not reached
        through them. Children not yet seen as nodes are still returned: the parent's id is
        enough to know they descend from it.
        """
        reached: dict[str, str | None] = {}
        queue: deque[tuple[str, str | None]] = deque(
            (root, None) for root in sorted(set(roots)) if root not in exempt)
        while queue:
            event_id, via = queue.popleft()
            if event_id in reached or event_id in skip:
                continue
            reached[event_id] = via
            for child in self.children(event_id):
                if child not in reached and child not in exempt:
                    queue.append((child, event_id))
        return reached

    def ancestors(self, event_id: str) -> set[str]:
        """Every id ``event_id`` derives from (not including itself)."""
        seen: set[str] = set()
        stack = list(self.nodes[event_id].parents) if event_id in self.nodes else []
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            node = self.nodes.get(current)
            if node is not None:
                stack.extend(node.parents)
        return seen
