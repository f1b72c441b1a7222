"""The tasks core: which records get HITs, gold mixing, expiry and extension."""

from __future__ import annotations

from dataclasses import replace

from streams.consensus.models import ConsensusFailed, Decision, HandleAccepted
from streams.events.ids import new_meta
from streams.events.model import Producer, Provenance
from streams.tasks import core
from streams.tasks.core import GoldItem, TaskConfig, TaskState
from streams.tasks.models import HitExpired, HitExtended, HitPublished
from streams.workers.models import QUALIFICATION
from tests.factories import T0, record
from tests.view_events import profile, rejection

CONFIG = TaskConfig(gold_rate=0.0)
GOLD = (GoldItem("g1", {"name": "Gold Athlete", "sport": "tennis"},
                 {"twitter": "goldie", "instagram": None, "facebook": "gold.athlete"}),)


def decide(state: TaskState, platform: str, accepted: bool, revision: int = 0) -> Decision:
    kind = HandleAccepted if accepted else ConsensusFailed
    meta = new_meta(event_type=kind.schema_name, entity_id="acme:42", occurred_at=T0,
                    producer=Producer("consensus", "1", "t"), provenance=Provenance("crowd", "h"),
                    identity=[platform, accepted, revision])
    return kind(meta=meta, hit_id=state.hit_id or "", platform=platform, votes=(),
                agreement=1.0, confidence=1.0, posterior={}, method="quorum",
                revision=revision, supersedes=None)


def test_a_record_lacking_handles_gets_one_hit_for_exactly_those_platforms() -> None:
    state = TaskState()
    rec = record(instagram="antdavis23")
    hits = core.handle(state, rec, CONFIG)
    assert len(hits) == 1 and isinstance(hits[0], HitPublished)
    published = hits[0]
    assert published.platforms == ["twitter", "facebook"]
    assert published.max_assignments == 10 and published.meta.parents == (rec.event_id,)
    assert published.context["team"] == "Lakers" and "Lakers" in published.question
    assert core.handle(state, rec, CONFIG) == []  # one HIT per record


def test_a_complete_record_gets_no_hit() -> None:
    rec = record(twitter="@ad", facebook="anthony.davis")
    assert core.handle(TaskState(), rec, CONFIG) == []


def test_gold_hits_are_mixed_in_at_the_configured_rate() -> None:
    every = TaskConfig(gold_rate=1.0)
    hits = core.handle(TaskState(), record(), every, GOLD)
    gold = [h for h in hits if isinstance(h, HitPublished) and h.gold]
    assert len(gold) == 1 and gold[0].entity_id == "gold:g1"
    assert gold[0].max_assignments == every.gold_assignments
    rate = TaskConfig(gold_rate=0.2)
    count = sum(any(isinstance(h, HitPublished) and h.gold
                    for h in core.handle(TaskState(), record(ref=str(n)), rate, GOLD))
                for n in range(1000))
    assert 150 < count < 250


def test_the_hit_expires_once_every_platform_is_accepted_and_only_once() -> None:
    state = TaskState()
    core.handle(state, record(), CONFIG)
    assert core.handle(state, decide(state, "twitter", True), CONFIG) == []
    final = decide(state, "facebook", True)
    out = core.handle(state, final, CONFIG)
    assert len(out) == 1 and isinstance(out[0], HitExpired) and out[0].reason == "decided"
    assert core.handle(state, final, CONFIG) == []  # redelivered


def test_a_failure_extends_the_hit_then_the_cap_expires_it() -> None:
    state = TaskState()
    core.handle(state, record(), CONFIG)
    core.handle(state, decide(state, "twitter", True), CONFIG)
    out = core.handle(state, decide(state, "facebook", False), CONFIG)
    assert len(out) == 1 and isinstance(out[0], HitExtended)
    assert out[0].platforms == ["facebook"] and out[0].max_assignments == 15
    again = core.handle(state, decide(state, "facebook", False, revision=1), CONFIG)
    assert len(again) == 1 and isinstance(again[0], HitExpired)
    assert again[0].reason == "cap_reached"


def test_state_round_trips() -> None:
    state = TaskState()
    core.handle(state, record(), CONFIG)
    assert TaskState.from_dict(state.to_dict()) == state


def test_with_a_gold_set_paid_hits_require_the_qualification_gold_hits_grant_it() -> None:
    items = tuple(GoldItem(f"g{n}", {"name": f"Gold {n}"}, {"twitter": f"gold{n}"})
                  for n in range(5))
    hits = [h for h in core.handle(TaskState(), record(), TaskConfig(gold_rate=1.0), items)
            if isinstance(h, HitPublished)]
    paid = [h for h in hits if not h.gold]
    gold = [h for h in hits if h.gold]
    assert len(paid) == 1 and paid[0].qualification == QUALIFICATION
    # a draw is a whole qualification: 3 distinct gold records, for workers without it
    assert len(gold) == 3 and len({h.entity_id for h in gold}) == 3
    assert len({h.hit_id for h in gold}) == 3
    assert all(h.qualification == QUALIFICATION for h in gold)
    without = core.handle(TaskState(), record(), TaskConfig(gold_rate=1.0))
    assert [h.qualification for h in without if isinstance(h, HitPublished)] == [None]


def test_a_reask_requires_the_qualification_too() -> None:
    state = TaskState()
    core.handle(state, record(), CONFIG, GOLD)
    accepted = replace(decide(state, "twitter", True), handle="ad")
    assert isinstance(accepted, HandleAccepted)
    rejected = replace(rejection(accepted, profile(accepted)),
                       context={"name": "Anthony Davis", "not_twitter": "ad"})
    reask = core.handle(state, rejected, CONFIG, GOLD)
    assert [h.qualification for h in reask if isinstance(h, HitPublished)] == [QUALIFICATION]
