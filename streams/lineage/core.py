"""The lineage stage's pure core: redactions in, one ``EventRetracted`` per descendant out.

``observe`` takes every event of the log, in whatever order the topics deliver them, and keeps
the lineage graph and the active redactions in a ``LineageState``. A redaction retracts what
it selects and everything derived from it; an event seen after the redaction is retracted as
soon as it is seen when it matches the selection or a parent of it is retracted, so the result
does not depend on the order in which topics are read, nor on stages that were still running
the bad logic when the redaction was asked for.

A redaction never retracts its own causes (its parents): the ``WorkerBlocked`` that made the
block-redacts policy ask for one stays, or the worker would be unblocked by their own redaction.

With ``block_redacts`` on, a ``WorkerBlocked`` makes the stage ask for a redaction of that
worker's answers; the request goes through ``lineage.redactions`` like any other, so it is
applied in log order and is visible to auditors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.lineage.graph import LineageGraph, Node
from streams.lineage.models import EventRetracted, RedactionRequested
from streams.lineage.selection import Selection
from streams.workers.models import WorkerBlocked

STAGE = "lineage"
STAGE_VERSION = "1.0.0"
BLOCK_POLICY = "policy:block-redacts"


@dataclass(frozen=True)
class LineageConfig:
    """``block_redacts``: blocking a worker also redacts every answer they gave."""

    block_redacts: bool = False
    instance: str = "local"

    @property
    def producer(self) -> Producer:
        return Producer(STAGE, STAGE_VERSION, self.instance)


@dataclass(frozen=True)
class Redaction:
    request: RedactionRequested
    selection: Selection
    causes: frozenset[str]


@dataclass
class LineageState:
    """The graph of everything seen, the redactions asked for, and what is retracted (by whom)."""

    graph: LineageGraph = field(default_factory=LineageGraph)
    redactions: dict[str, Redaction] = field(default_factory=dict)
    retracted: dict[str, str] = field(default_factory=dict)  # event id -> redaction id

    def retracted_by(self, event_id: str) -> str | None:
        return self.retracted.get(event_id)


def observe(state: LineageState, event: Event, config: LineageConfig) -> list[Event]:
    """Apply one event of the log; return the retractions (and policy redactions) to emit."""
    if isinstance(event, EventRetracted):
        # Our own earlier output, read back (after a restart): never retract it twice.
        state.retracted.setdefault(event.retracted_id, event.redaction_id)
        return []
    if isinstance(event, RedactionRequested):
        return _on_redaction(state, event, config)
    node = Node.of(event)
    if not state.graph.add(node):
        return []
    outputs: list[Event] = []
    if config.block_redacts and isinstance(event, WorkerBlocked):
        outputs.append(block_redaction(event, config))
    outputs += _on_new_node(state, node, config)
    return outputs


def block_redaction(blocked: WorkerBlocked, config: LineageConfig) -> RedactionRequested:
    """The policy's request: redact every answer of the worker just blocked."""
    meta = new_meta(event_type=RedactionRequested.schema_name, entity_id="lineage",
                    occurred_at=blocked.meta.occurred_at, producer=config.producer,
                    provenance=Provenance(BLOCK_POLICY, blocked.worker_id),
                    parents=(blocked.event_id,), identity=[blocked.worker_id])
    return RedactionRequested(
        meta=meta, event_ids=[], stage=None, stage_version_min=None, stage_version_max=None,
        worker_id=blocked.worker_id, source=None, occurred_from=None, occurred_to=None,
        reason=f"worker {blocked.worker_id} blocked: {blocked.reason}",
        requested_by=BLOCK_POLICY)


def _on_redaction(state: LineageState, request: RedactionRequested,
                  config: LineageConfig) -> list[Event]:
    if request.event_id in state.redactions:
        return []
    redaction = Redaction(request, Selection.of(request), frozenset(request.meta.parents))
    state.redactions[request.event_id] = redaction
    roots = [node.event_id for node in state.graph if redaction.selection.matches(node)]
    return _retract(state, redaction, roots, config)


def _on_new_node(state: LineageState, node: Node, config: LineageConfig) -> list[Event]:
    for redaction in state.redactions.values():
        if node.event_id not in redaction.causes and redaction.selection.matches(node):
            return _retract(state, redaction, [node.event_id], config)
    for parent in node.parents:
        redaction_id = state.retracted.get(parent)
        if redaction_id is not None and redaction_id in state.redactions:
            redaction = state.redactions[redaction_id]
            if node.event_id not in redaction.causes:
                return _retract(state, redaction, [node.event_id], config, via=parent)
    return []


def _retract(state: LineageState, redaction: Redaction, roots: Iterable[str],
             config: LineageConfig, *, via: str | None = None) -> list[Event]:
    reached = state.graph.descendants(roots, skip=state.retracted.keys(),
                                      exempt=redaction.causes)
    outputs: list[Event] = []
    for event_id, reached_via in reached.items():
        state.retracted[event_id] = redaction.request.event_id
        outputs.append(retraction(redaction.request, state.graph.nodes[event_id],
                                  via=reached_via if reached_via is not None else via,
                                  producer=config.producer))
    return outputs


def retraction(request: RedactionRequested, node: Node, *, via: str | None,
               producer: Producer) -> EventRetracted:
    """The retraction of ``node`` by ``request``; its id depends on those two alone."""
    meta = new_meta(event_type=EventRetracted.schema_name, entity_id=node.entity_id,
                    occurred_at=request.meta.occurred_at, producer=producer,
                    provenance=Provenance(STAGE, request.event_id),
                    parents=(request.event_id, node.event_id), identity=[])
    return EventRetracted(meta=meta, redaction_id=request.event_id, retracted_id=node.event_id,
                          retracted_type=node.event_type, retracted_stage=node.stage,
                          via=via, reason=request.reason)
