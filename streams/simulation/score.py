"""How well the pipeline did on a simulated world: precision, coverage, cost, blocked workers,
and who the qualification kept out.

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
from streams.enrichment.models import HandleRejected, ProfileEnriched
from streams.events.model import Event
from streams.lineage.models import EventRetracted
from streams.tasks.models import AssignmentSubmitted, HitPublished
from streams.workers.models import AssignmentReviewed, WorkerBlocked, WorkerQualified
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
    # Paid (non-gold) assignments a worker submitted before being blocked, per kind.
    paid_before_block: dict[str, list[int]] = field(default_factory=dict)
    # Per kind, the crowd's workers that qualification and blocks kept from paid HITs: blocked,
    # or (when HITs required a qualification) never qualified; and the crowd's size per kind.
    kept_out: Counter[str] = field(default_factory=Counter)
    never_qualified: Counter[str] = field(default_factory=Counter)
    crowd: Counter[str] = field(default_factory=Counter)
    assignments_by_worker: Counter[str] = field(default_factory=Counter)
    blocked_workers: set[str] = field(default_factory=set)
    wrong: list[str] = field(default_factory=list)
    # The namesake check: accepted handles that are the namesake's, how many enrichment
    # rejected, and rejections of handles that were right (false alarms) among those profiled.
    namesake_accepted: int = 0
    namesake_caught: int = 0
    profiled_right: int = 0
    false_alarms: int = 0

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

    @property
    def namesake_catch_rate(self) -> float:
        return self.namesake_caught / self.namesake_accepted if self.namesake_accepted else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.profiled_right if self.profiled_right else 0.0

    def blocked_share(self, kind: str) -> float:
        return self.blocked[kind] / self.workers[kind] if self.workers[kind] else 0.0

    def lines(self) -> list[str]:
        spam = self.answers_before_block.get("spammer", [])
        paid = self.paid_before_block.get("spammer", [])
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
            f"spammers blocked after at most {max(spam, default=0)} assignments "
            f"(median {_median(spam)}), {max(paid, default=0)} paid (median {_median(paid)})",
            "kept out            " + ", ".join(
                f"{kind} {self.kept_out[kind]}/{self.crowd[kind]} "
                f"({self.never_qualified[kind]} never qualified)"
                for kind in sorted(self.crowd)),
            f"namesake check      {self.namesake_caught}/{self.namesake_accepted} namesake "
            f"handles caught ({self.namesake_catch_rate:.1%}), {self.false_alarms} false "
            f"alarms on {self.profiled_right} right handles ({self.false_alarm_rate:.2%})",
        ]


@dataclass
class _Log:
    """What scoring needs from a run's events, gathered in one pass."""

    latest: dict[tuple[str, str], Decision] = field(default_factory=dict)
    hits: dict[str, HitPublished] = field(default_factory=dict)
    answered: dict[str, list[datetime]] = field(default_factory=dict)
    paid_answered: dict[str, list[datetime]] = field(default_factory=dict)  # non-gold HITs
    qualified: set[str] = field(default_factory=set)
    qualifying: bool = False  # some HIT required a qualification
    blocked_at: dict[str, datetime] = field(default_factory=dict)
    rejected: dict[tuple[str, str], str] = field(default_factory=dict)  # (hit, platform)
    profiled: set[str] = field(default_factory=set)  # acceptances with a fetched profile


def score(world: World, events: Iterable[Event]) -> Score:
    """Score a run's events against the world's truth.

    A field is one platform of one record; its answer is the latest decision of the latest HIT
    that asked for it (a HIT sent back after a rejection replaces the first), and an acceptance
    that enrichment rejected is no answer. Retracted events are not scored: a redaction
    withdrew them, and what the stages re-derived stands in their place.
    """
    result = Score()
    logged = list(events)
    retracted = {e.retracted_id for e in logged if isinstance(e, EventRetracted)}
    log = _gather(result, (e for e in logged if e.event_id not in retracted))
    _score_workers(result, world, log)
    _score_fields(result, world, log)
    _score_namesake_check(result, world, log)
    return result


def _gather(result: Score, events: Iterable[Event]) -> _Log:
    log = _Log()
    for event in events:
        if isinstance(event, HitPublished):
            log.hits[event.hit_id] = event
            log.qualifying |= event.qualification is not None
        elif isinstance(event, HandleAccepted | ConsensusFailed):
            key = (event.hit_id, event.platform)
            if key not in log.latest or log.latest[key].revision < event.revision:
                log.latest[key] = event
            result.superseded += event.revision > 0
        elif isinstance(event, AssignmentSubmitted):
            result.submitted += 1
            result.gold_submitted += event.gold
            log.answered.setdefault(event.worker_id, []).append(event.submitted_at)
            if not event.gold:
                log.paid_answered.setdefault(event.worker_id, []).append(event.submitted_at)
        elif isinstance(event, AssignmentReviewed):
            result.approved += event.status == "Approved"
            result.rejected += event.status != "Approved"
            result.paid_cents += event.reward_cents
        elif isinstance(event, WorkerBlocked):
            log.blocked_at.setdefault(event.worker_id, event.meta.occurred_at)
        elif isinstance(event, WorkerQualified):
            log.qualified.add(event.worker_id)
        elif isinstance(event, HandleRejected):
            log.rejected[(event.hit_id, event.platform)] = event.handle
        elif isinstance(event, ProfileEnriched):
            log.profiled.update(event.meta.parents)
    return log


def _score_workers(result: Score, world: World, log: _Log) -> None:
    for worker_id, moments in log.answered.items():
        result.workers[world.worker(worker_id).kind] += 1
        result.assignments_by_worker[worker_id] = len(moments)
    result.blocked_workers = set(log.blocked_at)
    for worker_id, at in log.blocked_at.items():
        kind = world.worker(worker_id).kind
        result.blocked[kind] += 1
        before = sum(moment <= at for moment in log.answered.get(worker_id, []))
        result.answers_before_block.setdefault(kind, []).append(before)
        paid = sum(moment <= at for moment in log.paid_answered.get(worker_id, []))
        result.paid_before_block.setdefault(kind, []).append(paid)
    for worker in world.workers:
        result.crowd[worker.kind] += 1
        unqualified = log.qualifying and worker.worker_id not in log.qualified
        result.never_qualified[worker.kind] += unqualified
        result.kept_out[worker.kind] += unqualified or worker.worker_id in log.blocked_at


def _median(values: list[int]) -> int:
    return sorted(values)[len(values) // 2] if values else 0


def _score_fields(result: Score, world: World, log: _Log) -> None:
    asked: dict[tuple[str, str], str] = {}  # (record, platform) -> its latest HIT
    for hit in log.hits.values():
        if not hit.gold:
            for platform in hit.platforms:
                key = (hit.provider_ref, platform)
                if (hit.hit_id, platform) in log.latest or key not in asked:
                    asked[key] = hit.hit_id
    result.fields = len(asked)
    for (ref, platform), hit_id in sorted(asked.items()):
        decision = log.latest.get((hit_id, platform))
        if not isinstance(decision, HandleAccepted) or (hit_id, platform) in log.rejected:
            result.failed += 1
            continue
        truth = true_answer(world, ref, platform)
        given = decision.handle or NOT_FOUND
        result.accepted += 1
        result.correct += given == truth
        if decision.handle is not None:
            result.accepted_handles += 1
            result.correct_handles += given == truth
        if given != truth:
            result.wrong.append(f"{ref}/{platform}: {given} != {truth}")


def _score_namesake_check(result: Score, world: World, log: _Log) -> None:
    for (hit_id, platform), decision in log.latest.items():
        if not isinstance(decision, HandleAccepted) or decision.handle is None:
            continue
        athlete = world.athlete(log.hits[hit_id].provider_ref)
        namesake = world.athlete(athlete.namesake_of) if athlete.namesake_of else None
        caught = log.rejected.get((hit_id, platform)) == decision.handle
        if namesake is not None and decision.handle == namesake.handles[platform]:
            result.namesake_accepted += 1
            result.namesake_caught += caught
        elif decision.handle == athlete.handles[platform] and decision.event_id in log.profiled:
            result.profiled_right += 1
            result.false_alarms += caught
