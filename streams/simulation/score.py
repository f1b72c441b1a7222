"""How well the pipeline did on a simulated world: precision, coverage, cost, blocked workers.

Scoring reads the ground truth, so it lives with the simulation, never in a stage. It takes
the events a run emitted (in process, or read back from Kafka) and the world, and counts the
latest decision per field (superseded decisions are history, not output).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from streams.consensus.answers import NOT_FOUND
from streams.consensus.models import ConsensusFailed, Decision, HandleAccepted
from streams.events.model import Event
from streams.tasks.models import AssignmentSubmitted, HitPublished
from streams.workers.models import AssignmentReviewed, WorkerBlocked
from streams.world.model import World
from streams.world.truth import true_answer


@dataclass
class Score:
    """The figures of one run; ``lines()`` renders them for people."""

    fields: int = 0
    accepted: int = 0
    correct: int = 0
    accepted_handles: int = 0
    correct_handles: int = 0
    failed: int = 0
    superseded: int = 0
    submitted: int = 0
    gold_submitted: int = 0
    approved: int = 0
    rejected: int = 0
    paid_cents: int = 0
    blocked: Counter[str] = field(default_factory=Counter)
    workers: Counter[str] = field(default_factory=Counter)
    answers_before_block: dict[str, list[int]] = field(default_factory=dict)
    assignments_by_worker: Counter[str] = field(default_factory=Counter)
    blocked_workers: set[str] = field(default_factory=set)
    wrong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct / self.accepted if self.accepted else 0.0

    @property
    def handle_precision(self) -> float:
        return self.correct_handles / self.accepted_handles if self.accepted_handles else 0.0

    @property
    def coverage(self) -> float:
        return self.accepted / self.fields if self.fields else 0.0

    @property
    def assignments_per_field(self) -> float:
        return self.approved / self.accepted if self.accepted else 0.0

    def blocked_share(self, kind: str) -> float:
        return self.blocked[kind] / self.workers[kind] if self.workers[kind] else 0.0

    def lines(self) -> list[str]:
        spam = self.answers_before_block.get("spammer", [])
        worst = max(spam) if spam else 0
        return [
            f"fields asked        {self.fields}",
            f"accepted            {self.accepted} (coverage {self.coverage:.1%}), "
            f"failed {self.failed}, superseded decisions {self.superseded}",
            f"precision           {self.precision:.2%} of accepted answers "
            f"({self.accepted - self.correct} wrong); handles only "
            f"{self.handle_precision:.2%} of {self.accepted_handles}",
            f"assignments         {self.submitted} submitted ({self.gold_submitted} on gold), "
            f"{self.approved} approved, {self.rejected} rejected",
            f"cost                ${self.paid_cents / 100:,.2f} paid, "
            f"{self.assignments_per_field:.2f} paid assignments per accepted field",
            "blocked workers     " + ", ".join(
                f"{kind} {self.blocked[kind]}/{self.workers[kind]}"
                for kind in sorted(self.workers)),
            f"spammers blocked after at most {worst} assignments "
            f"(median {sorted(spam)[len(spam) // 2] if spam else 0})",
        ]


def score(world: World, events: Iterable[Event]) -> Score:
    """Score a run's events against the world's truth."""
    result = Score()
    latest: dict[tuple[str, str], Decision] = {}
    hits: dict[str, HitPublished] = {}
    answered: dict[str, list[datetime]] = {}
    blocked_at: dict[str, datetime] = {}
    for event in events:
        if isinstance(event, HitPublished):
            hits[event.hit_id] = event
        elif isinstance(event, HandleAccepted | ConsensusFailed):
            key = (event.hit_id, event.platform)
            if key not in latest or latest[key].revision < event.revision:
                latest[key] = event
            result.superseded += event.revision > 0
        elif isinstance(event, AssignmentSubmitted):
            result.submitted += 1
            result.gold_submitted += event.gold
            answered.setdefault(event.worker_id, []).append(event.submitted_at)
        elif isinstance(event, AssignmentReviewed):
            result.approved += event.status == "Approved"
            result.rejected += event.status != "Approved"
            result.paid_cents += event.reward_cents
        elif isinstance(event, WorkerBlocked):
            blocked_at.setdefault(event.worker_id, event.meta.occurred_at)
    for worker_id, moments in answered.items():
        result.workers[world.worker(worker_id).kind] += 1
        result.assignments_by_worker[worker_id] = len(moments)
    result.blocked_workers = set(blocked_at)
    for worker_id, at in blocked_at.items():
        kind = world.worker(worker_id).kind
        result.blocked[kind] += 1
        before = sum(moment <= at for moment in answered.get(worker_id, []))
        result.answers_before_block.setdefault(kind, []).append(before)
    result.fields = sum(len(h.platforms) for h in hits.values() if not h.gold)
    for (hit_id, platform), decision in sorted(latest.items()):
        if not isinstance(decision, HandleAccepted):
            result.failed += 1
            continue
        truth = true_answer(world, hits[hit_id].provider_ref, platform)
        given = decision.handle or NOT_FOUND
        result.accepted += 1
        result.correct += given == truth
        if decision.handle is not None:
            result.accepted_handles += 1
            result.correct_handles += given == truth
        if given != truth:
            result.wrong.append(f"{hits[hit_id].provider_ref}/{platform}: {given} != {truth}")
    return result
