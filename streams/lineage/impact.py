"""What a redaction would touch, in the terms an operator decides with.

The same core that propagates a redaction computes its preview (``crowdlog redact --dry-run``),
so the preview and what actually happens cannot drift apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from streams.lineage.graph import LineageGraph
from streams.lineage.models import EventRetracted

_HEADLINES = (
    ("accepted handles", "crowdlog.consensus.HandleAccepted"),
    ("profiles", "crowdlog.enrichment.ProfileEnriched"),
    ("predictions", "crowdlog.prediction.PageViewsPredicted"),
    ("model updates", "crowdlog.prediction.ModelEvaluated"),
    ("outcomes learned from", "crowdlog.prediction.PageViewsObserved"),
)


@dataclass(frozen=True)
class Impact:
    """Counts of the events a redaction retracts, by kind, and of the entities they concern."""

    events: int
    entities: int
    selected: int
    by_type: dict[str, int]

    @classmethod
    def of(cls, retractions: Iterable[EventRetracted], graph: LineageGraph) -> Impact:
        retracted = list(retractions)
        by_type = Counter(r.retracted_type for r in retracted)
        entities = {graph.nodes[r.retracted_id].entity_id for r in retracted
                    if r.retracted_id in graph.nodes}
        return cls(len(retracted), len(entities), sum(r.via is None for r in retracted),
                   dict(sorted(by_type.items())))

    def headline(self, label: str) -> int:
        return sum(self.by_type.get(kind, 0) for name, kind in _HEADLINES if name == label)

    def as_dict(self) -> dict[str, object]:
        return {"events": self.events, "selected": self.selected, "entities": self.entities,
                **{name: self.by_type.get(kind, 0) for name, kind in _HEADLINES},
                "by_type": self.by_type}

    def lines(self) -> list[str]:
        out = [f"events retracted: {self.events} ({self.selected} selected, "
               f"{self.events - self.selected} derived), entities: {self.entities}"]
        out += [f"  {name:<22} {self.by_type.get(kind, 0)}" for name, kind in _HEADLINES]
        out.append("by event type:")
        out += [f"  {kind.rsplit('.', 1)[-1]:<28} {count}" for kind, count in self.by_type.items()]
        return out
