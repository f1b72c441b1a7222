"""Consensus on each platform of each HIT: the pure core of the consensus stage.

Events in, events out, state passed explicitly. ``handle`` takes one event of the record (a HIT
published, extended or expired, or an assignment submitted), the record's ``EntityState`` and a
read-only view of the workers (their models and who is blocked) and returns the decisions to
emit. ``reconsider`` re-judges decided fields with the current worker estimates and supersedes
the decisions that would now come out differently; the old decision stays in the log.

Two rules decide a field:

* ``quorum``: accept an answer when ``required`` workers gave it (default 8, of a HIT's 10
  assignments); fail as soon as no answer can reach ``required`` any more.
* ``dawid-skene``: weigh each answer by its worker's estimated confusion (see
  ``streams.consensus.inference``); accept when the posterior of the leading answer reaches
  ``accept_confidence`` with at least ``min_answers`` answers; fail as soon as even the remaining
  assignments, all agreeing, could not lift any answer there.

Both stop as soon as the outcome can no longer change, which is what lets the tasks stage expire
a HIT before paying for answers that would not matter. Answers of a blocked worker are kept (for
audit) but never counted. A decision's parents are exactly the assignments whose votes it used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from streams.consensus.answers import NOT_FOUND, answer_label, handle_of
from streams.consensus.inference import WorkerModel, item_posterior
from streams.consensus.models import ConsensusFailed, Decision, HandleAccepted, Vote
from streams.consensus.quorum import quorum_decision
from streams.consensus.state import CountedAnswer, EntityState, FieldState, HitState
from streams.events.ids import new_meta
from streams.events.jsonable import event_from_json, event_to_json
from streams.events.model import Event, Producer, Provenance
from streams.lineage.models import EventRetracted
from streams.tasks.models import AssignmentSubmitted, HitExpired, HitExtended, HitPublished

STAGE = "consensus"
STAGE_VERSION = "1.0.0"
METHODS = ("quorum", "dawid-skene")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNSEEN = "<unseen-handle>"  # the true answer may be a handle no worker gave


class WorkerView(Protocol):
    """What consensus needs to know about workers; a table, or an in-process model."""

    def model(self, worker_id: str) -> WorkerModel | None: ...

    def blocked(self, worker_id: str) -> bool: ...


@dataclass(frozen=True)
class Workers:
    """A ``WorkerView`` over plain mappings (tests, offline evaluation, table snapshots)."""

    models: Mapping[str, WorkerModel]
    blocked_ids: frozenset[str] = frozenset()

    def model(self, worker_id: str) -> WorkerModel | None:
        return self.models.get(worker_id)

    def blocked(self, worker_id: str) -> bool:
        return worker_id in self.blocked_ids


NO_WORKERS = Workers({})


@dataclass(frozen=True)
class ConsensusConfig:
    """The acceptance rule; the defaults are the mission's (8 of 10) for ``quorum``.

    ``accept_confidence`` is the posterior the weighted rule needs: the precision it aims at.
    ``min_answers`` keeps a single confident worker from deciding alone; "no account" needs
    ``min_answers_not_found``, because an honest worker who fails to find an account says
    ``not-found`` too, so agreeing on it is weaker evidence than agreeing on a handle.
    ``early_stop`` False
    waits for every assignment before deciding: the "always collect all" baseline.
    """

    method: str = "dawid-skene"
    required: int = 8
    accept_confidence: float = 0.9999
    min_answers: int = 2
    min_answers_not_found: int = 3
    early_stop: bool = True
    instance: str = "local"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown consensus method {self.method!r}; use one of {METHODS}")

    @property
    def producer(self) -> Producer:
        """The version names the rule and, for the quorum, its bar: a redaction can select a
        misconfigured deployment (``1.0.0+quorum-5``) without touching the others."""
        rule = f"quorum-{self.required}" if self.method == "quorum" else self.method
        return Producer(STAGE, f"{STAGE_VERSION}+{rule}", self.instance)


@dataclass(frozen=True)
class Verdict:
    """How one field stands: ``accepted``, ``failed`` or ``open``."""

    outcome: str
    label: str | None
    confidence: float
    agreement: float
    posterior: dict[str, float]


def handle(state: EntityState, event: Event, workers: WorkerView,
           config: ConsensusConfig) -> list[Decision]:
    """Apply one event of a record to its state (mutated in place) and return the decisions."""
    if isinstance(event, HitPublished):
        if event.gold:
            return []  # gold answers grade workers; they are not decided
        hit = state.hit(event.hit_id)
        if event.event_id in hit.retracted:
            return []
        hit.published, hit.max_assignments = True, event.max_assignments
        hit.hit_event_id = event.event_id
        hit.published_at_ms = epoch_ms(event.meta.occurred_at)
        for platform in event.platforms:
            hit.fields.setdefault(platform, FieldState())
        return _judge_open(hit, event.entity_id, workers, config)
    if isinstance(event, HitExtended):
        hit = state.hit(event.hit_id)
        hit.max_assignments = max(hit.max_assignments, event.max_assignments)
        hit.expired = False
        return _judge_open(hit, event.entity_id, workers, config)
    if isinstance(event, HitExpired):
        state.hit(event.hit_id).expired = True
        return []
    if isinstance(event, AssignmentSubmitted):
        return _on_assignment(state, event, workers, config)
    if isinstance(event, EventRetracted):
        return _on_retraction(state, event, workers, config)
    return []


_FOLLOWED = frozenset(cls.schema_name for cls in (HitPublished, AssignmentSubmitted,
                                                  HandleAccepted, ConsensusFailed))


def follows(retraction: EventRetracted) -> bool:
    """Whether a record's consensus state holds the retracted event (else it is not read)."""
    return retraction.retracted_type in _FOLLOWED


def _on_retraction(state: EntityState, retraction: EventRetracted, workers: WorkerView,
                   config: ConsensusConfig) -> list[Decision]:
    """Forget a withdrawn HIT, answer or decision, and judge the fields it touched again.

    A retracted decision leaves its field open (its revision counter goes on, so the next
    decision has a new id); re-judged on the answers still live, it is decided again at once
    when they suffice, and otherwise waits for the answers the re-opened HIT brings (the tasks
    stage re-opens it). A retracted HIT is dropped with everything in it.
    """
    retracted = retraction.retracted_id
    for hit_id in sorted(state.hits):
        hit = state.hits[hit_id]
        if retracted in hit.retracted:
            return []  # redelivered
        if retracted == hit.hit_event_id:
            hit.retracted.append(retracted)
            hit.published, hit.fields, hit.expired = False, {}, True
            return []
        if retracted in hit.assignments:
            hit.retracted.append(retracted)
            for field_state in hit.fields.values():
                field_state.answers = [a for a in field_state.answers if a.event_id != retracted]
            return _judge_open(hit, state.entity_id, workers, config)
        for field_state in hit.fields.values():
            if field_state.decision_id == retracted:
                hit.retracted.append(retracted)
                field_state.outcome = field_state.label = field_state.decision = None
                field_state.decision_id, field_state.budget = None, 0
                return _judge_open(hit, state.entity_id, workers, config)
    return []


def _on_assignment(state: EntityState, event: AssignmentSubmitted, workers: WorkerView,
                   config: ConsensusConfig) -> list[Decision]:
    if event.gold:
        return []
    hit = state.hit(event.hit_id)
    if event.event_id in hit.retracted or (hit.hit_event_id in hit.retracted):
        return []  # withdrawn by a redaction: never counted again
    if event.event_id in hit.assignments:
        # Redelivered after a restart: the state already has it. Re-emitting the decisions it
        # led to (same ids) covers the case where they were lost with the crash.
        return _stored_decisions(hit)
    hit.assignments.append(event.event_id)
    counted = not workers.blocked(event.worker_id)
    for platform, raw in sorted(event.answers.items()):
        target = hit.fields.get(platform)
        if target is None:
            if hit.published:
                continue  # an answer to a question the HIT did not ask
            target = hit.fields.setdefault(platform, FieldState())
        target.answers.append(CountedAnswer(event.event_id, event.assignment_id, event.worker_id,
                                            answer_label(platform, raw), raw, counted,
                                            epoch_ms(event.submitted_at)))
    return _judge_open(hit, event.entity_id, workers, config)


def _judge_open(hit: HitState, entity_id: str, workers: WorkerView,
                config: ConsensusConfig) -> list[Decision]:
    if not hit.published:
        return []
    decisions: list[Decision] = []
    for platform in sorted(hit.fields):
        field_state = hit.fields[platform]
        if field_state.outcome == "accepted":
            continue
        verdict = judge(field_state, hit.max_assignments, workers, config)
        unchanged = (verdict.outcome == field_state.outcome and verdict.label == field_state.label
                     and field_state.budget == hit.max_assignments)
        if verdict.outcome == "open" or unchanged:
            continue
        decisions.append(_decide(hit, platform, verdict, entity_id=entity_id, workers=workers,
                                 config=config))
    return decisions


def reconsider(state: EntityState, workers: WorkerView,
               config: ConsensusConfig) -> list[Decision]:
    """Supersede decisions that the current worker estimates would take differently.

    Only the weighted rule changes its mind (the fixed quorum's counts do not depend on worker
    estimates, except through blocks). An acceptance is superseded by another acceptance when a
    different answer now reaches the bar, or by a failure when its answer has fallen below an
    even chance; a failure is superseded when an answer now reaches the bar. The hysteresis
    keeps a decision from flapping on small changes of the estimates.
    """
    decisions: list[Decision] = []
    for hit_id in sorted(state.hits):
        hit = state.hits[hit_id]
        if not hit.published:
            continue
        for platform in sorted(hit.fields):
            field_state = hit.fields[platform]
            if field_state.outcome is None:
                continue
            verdict = judge(field_state, hit.max_assignments, workers, config, settled=True)
            if _changes(field_state, verdict):
                decisions.append(_decide(hit, platform, verdict, entity_id=state.entity_id,
                                         workers=workers, config=config))
    return decisions


def _changes(field_state: FieldState, verdict: Verdict) -> bool:
    if field_state.outcome == "accepted":
        if verdict.outcome == "accepted":
            return verdict.label != field_state.label
        return verdict.posterior.get(field_state.label or "", 0.0) < 0.5
    return verdict.outcome == "accepted"


def judge(field_state: FieldState, max_assignments: int, workers: WorkerView,
          config: ConsensusConfig, *, settled: bool = False) -> Verdict:
    """Where one field stands under the configured rule.

    ``settled`` judges as if no more answers will come (used when reconsidering decisions).
    """
    if not (config.early_stop or settled) and len(field_state.answers) < max_assignments:
        return Verdict("open", None, 0.0, 0.0, {})
    counted = [a for a in field_state.answers if a.counted and not workers.blocked(a.worker_id)]
    slots_left = 0 if settled else max(0, max_assignments - len(field_state.answers))
    tallies: dict[str, int] = {}
    for answer in counted:
        tallies[answer.label] = tallies.get(answer.label, 0) + 1
    if config.method == "quorum":
        return _quorum_verdict(counted, tallies, slots_left, config)
    return _weighted_verdict(counted, tallies, slots_left, workers, config)


def _quorum_verdict(counted: Sequence[CountedAnswer], tallies: Mapping[str, int],
                    slots_left: int, config: ConsensusConfig) -> Verdict:
    labels = [a.label for a in counted]
    outcome, label = quorum_decision(labels, required=config.required,
                                     max_answers=len(labels) + slots_left)
    shares = {k: v / len(labels) for k, v in tallies.items()} if labels else {}
    leading = label or (max(sorted(tallies), key=tallies.__getitem__) if tallies else None)
    share = shares.get(leading or "", 0.0)
    return Verdict(outcome, leading, share, share, shares)


def _weighted_verdict(counted: Sequence[CountedAnswer], tallies: Mapping[str, int],
                      slots_left: int, workers: WorkerView, config: ConsensusConfig) -> Verdict:
    if not counted:
        return Verdict("failed" if slots_left == 0 else "open", None, 0.0, 0.0, {})
    models = _models(counted, workers)
    pairs = [(a.worker_id, a.label) for a in counted]
    posterior = _posterior(pairs, models)
    named = {label: p for label, p in posterior.items() if label != UNSEEN}
    leading = max(sorted(named), key=named.__getitem__)
    confidence = named[leading]
    agreement = tallies.get(leading, 0) / len(counted)
    if confidence >= config.accept_confidence and len(counted) >= _needed(leading, config):
        return Verdict("accepted", leading, confidence, agreement, posterior)
    if slots_left == 0 or not _reachable(pairs, models, posterior, slots_left, config):
        return Verdict("failed", leading, confidence, agreement, posterior)
    return Verdict("open", leading, confidence, agreement, posterior)


def _needed(label: str, config: ConsensusConfig) -> int:
    return config.min_answers_not_found if label == NOT_FOUND else config.min_answers


def _posterior(pairs: list[tuple[str, str]],
               models: Mapping[str, WorkerModel]) -> dict[str, float]:
    """Belief over the answers given and over ``UNSEEN``, a handle nobody has named yet."""
    return item_posterior(pairs, models, open_labels=True, extra_candidates=(UNSEEN,))


def _models(counted: Sequence[CountedAnswer], workers: WorkerView) -> dict[str, WorkerModel]:
    models: dict[str, WorkerModel] = {}
    for answer in counted:
        model = workers.model(answer.worker_id)
        if model is not None:
            models[answer.worker_id] = model
    return models


def _reachable(pairs: list[tuple[str, str]], models: Mapping[str, WorkerModel],
               posterior: Mapping[str, float], slots_left: int, config: ConsensusConfig) -> bool:
    """Could the remaining assignments, all giving one answer, lift it to the bar?

    The hypothetical workers are new ones (the prior model), the most neutral assumption; the
    two leading answers and a not-yet-seen handle are tried.
    """
    ranked = sorted(posterior, key=lambda label: (-posterior[label], label))[:2]
    for label in [*(r for r in ranked if r != UNSEEN), "<hypothetical-handle>"]:
        extra = [(f"\x00hypothetical-{i}", label) for i in range(slots_left)]
        trial = _posterior([*pairs, *extra], models)
        if (trial.get(label, 0.0) >= config.accept_confidence
                and len(pairs) + slots_left >= _needed(label, config)):
            return True
    return False


def _stored_decisions(hit: HitState) -> list[Decision]:
    decisions: list[Decision] = []
    for platform in sorted(hit.fields):
        stored = hit.fields[platform].decision
        if stored is not None:
            decisions.append(event_from_json(_KINDS[stored["type"]], stored))
    return decisions


def _decide(hit: HitState, platform: str, verdict: Verdict, *, entity_id: str,
            workers: WorkerView, config: ConsensusConfig) -> Decision:
    """The decision event for ``verdict``, superseding the field's previous one, if any."""
    field_state = hit.fields[platform]
    revision, supersedes = field_state.revision + 1, field_state.decision_id
    counted = [a for a in field_state.answers if a.counted and not workers.blocked(a.worker_id)]
    votes = tuple(Vote(a.assignment_id, a.worker_id, a.label, a.raw, _weight(a, workers, config))
                  for a in counted)
    parents = tuple(dict.fromkeys(a.event_id for a in counted))
    kind: type[Decision] = HandleAccepted if verdict.outcome == "accepted" else ConsensusFailed
    meta = new_meta(
        event_type=kind.schema_name, entity_id=entity_id, occurred_at=_latest(hit, counted),
        producer=config.producer, provenance=Provenance("crowd", hit.hit_id), parents=parents,
        identity=[hit.hit_id, platform, revision, verdict.label, supersedes],
    )
    common: dict[str, Any] = {
        "meta": meta, "hit_id": hit.hit_id, "platform": platform, "votes": votes,
        "agreement": verdict.agreement, "confidence": verdict.confidence,
        "posterior": dict(sorted(verdict.posterior.items())), "method": config.method,
        "revision": revision, "supersedes": supersedes}
    decision: Decision
    if verdict.outcome == "accepted":
        decision = HandleAccepted(**common, handle=handle_of(verdict.label or NOT_FOUND))
    else:
        decision = ConsensusFailed(**common, leading=verdict.label)
    field_state.outcome, field_state.label = verdict.outcome, verdict.label
    field_state.decision_id, field_state.revision = decision.event_id, revision
    field_state.decision, field_state.budget = event_to_json(decision), hit.max_assignments
    return decision


def _weight(answer: CountedAnswer, workers: WorkerView, config: ConsensusConfig) -> float:
    if config.method == "quorum":
        return 1.0
    model = workers.model(answer.worker_id) or WorkerModel(open_labels=True)
    return model.accuracy()[0]


def _latest(hit: HitState, counted: Sequence[CountedAnswer]) -> datetime:
    """Event time of a decision: that of its latest input, never the wall clock."""
    stamp = max([hit.published_at_ms, *(a.at_ms for a in counted)])
    return EPOCH + timedelta(milliseconds=stamp)


def epoch_ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


_KINDS: dict[str, type[Decision]] = {
    HandleAccepted.schema_name: HandleAccepted, ConsensusFailed.schema_name: ConsensusFailed,
}
