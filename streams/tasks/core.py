"""When to ask the crowd, how much, and when to stop: the pure core of the tasks stage.

* A record that lacks a handle on some platform gets one HIT for those platforms, with the
  context that tells namesakes apart, ``assignments`` workers wanted and a reward.
* Every ``1 / gold_rate`` HITs or so (decided by a hash of the record, so replays agree)
  ``gold_hits`` gold HITs are mixed in: records from the staff-verified gold set, asked like any
  other, whose answers grade the workers.
* Qualification before pay: with a gold set, every HIT names ``qualification``. Paid HITs are
  offered only to workers who hold it; gold HITs are the qualification HITs, offered only to
  workers who do not hold it yet (the quality stage grants it after 3 gold HITs' worth of
  answers), so qualified workers cannot spend their slots (open to all, the busy workers would take
  most of them: the crowd takes HITs by activity). Slots nobody takes cost nothing, so a draw
  is ``gold_hits`` = 3 HITs of ``gold_assignments`` = 50: a worker can pass on one draw, and the
  busy ones do at once. Measured on ``make demo``'s world: with 1 gold HIT per draw the first
  grant came on the fourth draw, days of feed time in, and the HITs of those days expired
  unanswered (98.5% coverage); 3 HITs of 9 workers spread each draw over too many workers (first
  grant a day in; collecting all 10, 98.7% coverage); 3 of 50 qualify the crowd in time (100%),
  for ~590 gold answers. 10 or more assignments cost MTurk's 20% extra fee: on gold HITs only,
  about $12 there. ``gold_rate`` 0.1: a paid HIT waits for qualified workers only for its
  lifetime (3 days), so a sparse feed needs draws every day or two (at 0.05 a 500-record feed
  over three months had one every ~4 days and lost 3% of its fields); unused gold HITs cost
  nothing.
  Without a gold set nobody could qualify, so HITs then name none.
* When consensus has decided every platform, the HIT expires at once: the answers still to come
  could not change the outcome, so they are not bought. When consensus failed on some platform,
  the HIT is extended by ``extension`` assignments, up to ``max_extensions`` times; after that
  it expires with ``cap_reached``.
* When a redaction withdraws a decision, its platform is undecided again and an expired HIT is
  re-opened; a withdrawn HIT is expired.
* When enrichment rejects an accepted handle (a namesake's account), the record gets a new HIT
  for that platform with the stronger context the rejection carries, up to ``max_reasks``
  times per platform; each such HIT is tracked like the first.

State is one ``TaskState`` per record, passed in and returned (mutated in place).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.consensus.models import ConsensusFailed, Decision, HandleAccepted
from streams.enrichment.models import HandleRejected
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.handles import PLATFORMS
from streams.lineage.models import EventRetracted
from streams.records.models import RecordReceived
from streams.tasks.models import HitExpired, HitExtended, HitPublished
from streams.workers.models import QUALIFICATION

STAGE = "tasks"
STAGE_VERSION = "1.0.0"
_CONTEXT_FIELDS = ("name", "sport", "league", "team", "country")


@dataclass(frozen=True)
class TaskConfig:
    """HIT parameters; the defaults are the mission's (10 workers per record)."""

    assignments: int = 10
    extension: int = 5
    max_extensions: int = 1
    reward_cents: int = 10
    lifetime_seconds: int = 3 * 24 * 3600
    gold_rate: float = 0.1
    gold_hits: int = 3
    gold_assignments: int = 50
    max_reasks: int = 2
    qualification: str | None = QUALIFICATION
    instance: str = "local"

    @property
    def producer(self) -> Producer:
        return Producer(STAGE, STAGE_VERSION, self.instance)


@dataclass(frozen=True)
class GoldItem:
    """A staff-verified record: its context and the true answer per platform (None: no account)."""

    provider_ref: str
    context: Mapping[str, str]
    answers: Mapping[str, str | None]


@dataclass(slots=True)
class TaskState:
    """The record's HIT: its platforms, budget, extension round and decisions so far.

    ``reasks`` holds the HITs published after a rejection, each tracked the same way.
    """

    hit_id: str | None = None
    hit_event_id: str | None = None
    platforms: list[str] = field(default_factory=list)
    max_assignments: int = 0
    round: int = 0
    expired: bool = False
    outcomes: dict[str, str] = field(default_factory=dict)  # platform -> accepted | failed
    decision_ids: dict[str, str] = field(default_factory=dict)
    provider_ref: str = ""
    reasks: dict[str, TaskState] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"hit_id": self.hit_id, "hit_event_id": self.hit_event_id,
                "platforms": self.platforms, "max_assignments": self.max_assignments,
                "round": self.round, "expired": self.expired, "outcomes": self.outcomes,
                "decision_ids": self.decision_ids, "provider_ref": self.provider_ref,
                "reasks": {hit_id: r.to_dict() for hit_id, r in self.reasks.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TaskState:
        if not data:
            return cls()
        return cls(data["hit_id"], data["hit_event_id"], list(data["platforms"]),
                   data["max_assignments"], data["round"], data["expired"],
                   dict(data["outcomes"]), dict(data["decision_ids"]),
                   data.get("provider_ref", ""),
                   {h: cls.from_dict(r) for h, r in data.get("reasks", {}).items()})

    def track(self, hit_id: str) -> TaskState | None:
        """The state of HIT ``hit_id``: the record's first HIT or one of its re-asks."""
        return self if hit_id == self.hit_id else self.reasks.get(hit_id)


def _fraction(*parts: str) -> float:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def question(context: Mapping[str, str], platforms: Sequence[str]) -> str:
    """The instructions a worker reads: who exactly, and what to answer when there is nothing."""
    who = context["name"]
    details = ", ".join(context[k] for k in ("team", "league", "sport", "country") if k in context)
    names = {"twitter": "Twitter/X", "instagram": "Instagram", "facebook": "Facebook"}
    wanted = ", ".join(names.get(p, p) for p in platforms)
    return (f"Find the official {wanted} account of {who} ({details}). Several athletes may "
            f"share this name: give the account of this one only, as a handle or profile "
            f"address, or answer 'not found' for a platform where they have no account.")


def on_record(state: TaskState, record: RecordReceived, config: TaskConfig,
              gold: Sequence[GoldItem] = ()) -> list[HitPublished]:
    """A HIT for the platforms a record lacks (and maybe a gold HIT); none if it has them all."""
    missing = [p for p in PLATFORMS if p not in record.known_handles]
    state.provider_ref = record.provider_ref
    if not missing or state.hit_id is not None:
        return []
    context = {k: str(getattr(record, k)) for k in _CONTEXT_FIELDS if getattr(record, k)}
    qualification = config.qualification if gold else None
    hit = _hit(record.entity_id, f"H{record.event_id[:20]}", record.provider_ref, context,
               platforms=missing, assignments=config.assignments, config=config,
               parents=(record.event_id,), provenance=record.meta.provenance,
               at=record.meta.occurred_at, gold=False, qualification=qualification)
    state.hit_id, state.hit_event_id = hit.hit_id, hit.event_id
    state.platforms, state.max_assignments = list(missing), config.assignments
    published = [hit]
    if gold and _fraction("gold", record.entity_id) < config.gold_rate:
        first = int(_fraction("gold-item", record.entity_id) * len(gold))
        for n in range(min(config.gold_hits, len(gold))):  # distinct items
            item = gold[(first + n) % len(gold)]
            published.append(_hit(
                f"gold:{item.provider_ref}", f"G{n}{record.event_id[:20]}", item.provider_ref,
                dict(item.context), platforms=list(item.answers),
                assignments=config.gold_assignments, config=config, parents=(),
                provenance=Provenance("gold", item.provider_ref),
                at=record.meta.occurred_at, gold=True, qualification=qualification))
    return published


def _hit(entity_id: str, hit_id: str, provider_ref: str, context: dict[str, str], *,
         platforms: list[str], assignments: int, config: TaskConfig,
         parents: tuple[str, ...], provenance: Provenance, at: datetime,
         gold: bool, qualification: str | None) -> HitPublished:
    meta = new_meta(event_type=HitPublished.schema_name, entity_id=entity_id, occurred_at=at,
                    producer=config.producer, provenance=provenance, parents=parents,
                    identity=[hit_id])
    return HitPublished(
        meta=meta, hit_id=hit_id, title=f"Find the social accounts of {context['name']}",
        question=question(context, platforms), platforms=platforms,
        max_assignments=assignments, reward_cents=config.reward_cents,
        lifetime_seconds=config.lifetime_seconds, provider_ref=provider_ref, context=context,
        gold=gold, qualification=qualification)


def on_rejection(state: TaskState, rejected: HandleRejected, config: TaskConfig,
                 gold: Sequence[GoldItem] = ()) -> list[HitPublished]:
    """Ask the crowd again for a platform whose accepted handle was a namesake's."""
    hit_id = f"R{rejected.event_id[:20]}"
    if not state.provider_ref or hit_id in state.reasks:
        return []  # not a record of ours, or redelivered
    asked = sum(1 for r in state.reasks.values() if rejected.platform in r.platforms)
    if asked >= config.max_reasks:
        return []
    hit = _hit(rejected.entity_id, hit_id, state.provider_ref, dict(rejected.context),
               platforms=[rejected.platform], assignments=config.assignments, config=config,
               parents=(rejected.event_id,), provenance=rejected.meta.provenance,
               at=rejected.meta.occurred_at, gold=False,
               qualification=config.qualification if gold else None)
    state.reasks[hit_id] = TaskState(hit_id, hit.event_id, [rejected.platform],
                                     config.assignments, provider_ref=state.provider_ref)
    return [hit]


def on_decision(state: TaskState, decision: Decision, config: TaskConfig) -> list[Event]:
    """Expire the HIT once every platform is decided; extend it when some failed."""
    tracked = state.track(decision.hit_id)
    if tracked is None or decision.platform not in tracked.platforms:
        return []
    return _on_decision(tracked, decision, config)


def _on_decision(state: TaskState, decision: Decision, config: TaskConfig) -> list[Event]:
    if state.decision_ids.get(decision.platform) == decision.event_id:
        return []  # redelivered: already acted on
    outcome = "accepted" if isinstance(decision, HandleAccepted) else "failed"
    state.outcomes[decision.platform] = outcome
    state.decision_ids[decision.platform] = decision.event_id
    if len(state.outcomes) < len(state.platforms):
        return []
    failed = sorted(p for p, o in state.outcomes.items() if o == "failed")
    parents = tuple(state.decision_ids[p] for p in sorted(state.decision_ids))
    if failed and state.round < config.max_extensions:
        state.round += 1
        state.max_assignments += config.extension
        state.expired = False
        for platform in failed:
            del state.outcomes[platform]  # undecided again until consensus speaks
        meta = _meta(HitExtended, state, decision, parents=parents, config=config,
                     detail=state.round)
        return [HitExtended(meta=meta, hit_id=decision.hit_id,
                            additional_assignments=config.extension,
                            max_assignments=state.max_assignments, platforms=failed,
                            round=state.round)]
    if state.expired:
        return []
    state.expired = True
    reason = "cap_reached" if failed else "decided"
    meta = _meta(HitExpired, state, decision, parents=parents, config=config, detail=reason)
    return [HitExpired(meta=meta, hit_id=decision.hit_id, reason=reason,
                       max_assignments=state.max_assignments)]


_FOLLOWED = frozenset(cls.schema_name for cls in (HitPublished, HandleAccepted, ConsensusFailed))


def follows(retraction: EventRetracted) -> bool:
    """Whether a record's task state holds the retracted event (else it is not read)."""
    return retraction.retracted_type in _FOLLOWED


def on_retraction(state: TaskState, retraction: EventRetracted,
                  config: TaskConfig) -> list[Event]:
    """Follow a redaction: a withdrawn decision makes its platform undecided again.

    An expired HIT with an undecided platform is re-opened (``HitExtended`` with no additional
    assignments: the budget it had is what it gets), so the answers consensus still needs can
    come. A withdrawn HIT is expired at once: nothing more is paid for a retracted record.
    """
    for tracked in (state, *state.reasks.values()):
        if retraction.retracted_id == tracked.hit_event_id:
            if tracked.expired:
                return []
            tracked.expired = True
            meta = _retraction_meta(HitExpired, tracked, retraction, config, "retracted")
            return [HitExpired(meta=meta, hit_id=tracked.hit_id or "", reason="retracted",
                               max_assignments=tracked.max_assignments)]
        for platform, decision_id in sorted(tracked.decision_ids.items()):
            if decision_id == retraction.retracted_id:
                del tracked.decision_ids[platform]
                tracked.outcomes.pop(platform, None)
                return _reopen(tracked, retraction, config) if tracked.expired else []
    return []


def _reopen(state: TaskState, retraction: EventRetracted, config: TaskConfig) -> list[Event]:
    state.expired = False
    undecided = [p for p in state.platforms if p not in state.outcomes]
    meta = _retraction_meta(HitExtended, state, retraction, config, "reopen")
    return [HitExtended(meta=meta, hit_id=state.hit_id or "", additional_assignments=0,
                        max_assignments=state.max_assignments, platforms=undecided,
                        round=state.round)]


def _retraction_meta(kind: type[Event], state: TaskState, retraction: EventRetracted,
                     config: TaskConfig, detail: str) -> Any:
    return new_meta(event_type=kind.schema_name, entity_id=retraction.entity_id,
                    occurred_at=retraction.meta.occurred_at, producer=config.producer,
                    provenance=Provenance("crowd", state.hit_id or ""),
                    parents=(retraction.event_id,), identity=[state.hit_id, detail])


def _meta(kind: type[Event], state: TaskState, decision: Decision, *,
          parents: tuple[str, ...], config: TaskConfig, detail: object) -> Any:
    return new_meta(event_type=kind.schema_name, entity_id=decision.entity_id,
                    occurred_at=decision.meta.occurred_at, producer=config.producer,
                    provenance=Provenance("crowd", state.hit_id or ""), parents=parents,
                    identity=[state.hit_id, detail])


def handle(state: TaskState, event: Event, config: TaskConfig,
           gold: Sequence[GoldItem] = ()) -> list[Event]:
    """The tasks stage's reaction to one event of a record."""
    if isinstance(event, RecordReceived):
        return list(on_record(state, event, config, gold))
    if isinstance(event, (HandleAccepted, ConsensusFailed)):
        return on_decision(state, event, config)
    if isinstance(event, HandleRejected):
        return list(on_rejection(state, event, config, gold))
    if isinstance(event, EventRetracted):
        return on_retraction(state, event, config)
    return []
