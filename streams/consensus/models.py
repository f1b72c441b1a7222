"""Events of the consensus domain: accepted handles and failures, with the votes behind them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from streams.events.model import Event


@dataclass(frozen=True, slots=True)
class Vote:
    """One worker's answer for one platform as consensus counted it."""

    assignment_id: str
    worker_id: str
    answer: str
    raw: str | None
    weight: float

    def to_avro(self) -> dict[str, Any]:
        return {"assignment_id": self.assignment_id, "worker_id": self.worker_id,
                "answer": self.answer, "raw": self.raw, "weight": self.weight}

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Vote:
        return cls(record["assignment_id"], record["worker_id"], record["answer"],
                   record["raw"], record["weight"])


@dataclass(frozen=True, slots=True)
class Decision(Event):
    """Fields shared by both outcomes of consensus on one platform of one HIT."""

    hit_id: str
    platform: str
    votes: tuple[Vote, ...]
    agreement: float
    confidence: float
    posterior: dict[str, float]
    method: str
    revision: int
    supersedes: str | None

    def payload_to_avro(self) -> dict[str, Any]:
        record = {name: getattr(self, name) for name in self.payload_fields()}
        record["votes"] = [vote.to_avro() for vote in self.votes]
        return record

    @classmethod
    def payload_from_avro(cls, record: Mapping[str, Any]) -> dict[str, Any]:
        payload = {name: record[name] for name in cls.payload_fields()}
        payload["votes"] = tuple(Vote.from_avro(vote) for vote in record["votes"])
        return payload


@dataclass(frozen=True, slots=True)
class HandleAccepted(Decision):
    """The accepted answer for a platform; ``handle`` None means "no account" was agreed."""

    schema_name: ClassVar[str] = "crowdlog.consensus.HandleAccepted"

    handle: str | None = None


@dataclass(frozen=True, slots=True)
class ConsensusFailed(Decision):
    """No answer can reach the rule with the assignments the HIT has; ``leading`` is the best."""

    schema_name: ClassVar[str] = "crowdlog.consensus.ConsensusFailed"

    leading: str | None = None
