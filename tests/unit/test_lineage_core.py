"""The lineage core: selections, descendants in any arrival order, and the block policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from streams.consensus.core import ConsensusConfig, Workers
from streams.consensus.core import handle as consensus_handle
from streams.consensus.models import HandleAccepted
from streams.consensus.state import EntityState
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.lineage.core import BLOCK_POLICY, LineageConfig, LineageState, observe
from streams.lineage.models import EventRetracted, RedactionRequested
from streams.lineage.selection import Selection, version_key
from streams.workers.models import WorkerBlocked
from tests.factories import T0, assignment, hit, record
from tests.lineage_factories import redaction

CONFIG = LineageConfig(instance="test")
FAULTY = ConsensusConfig(method="quorum", required=2)


def _pipeline() -> tuple[list[Event], HandleAccepted]:
    """A record, its HIT, three answers and the faulty quorum's acceptance."""
    events: list[Event] = [record(), hit()]
    state = EntityState("acme:42")
    consensus_handle(state, events[1], Workers({}), FAULTY)
    accepted: list[Event] = []
    for n in range(3):
        answer = assignment(n, {"twitter": "kingjames"})
        events.append(answer)
        accepted += consensus_handle(state, answer, Workers({}), FAULTY)
    decision = accepted[0]
    assert isinstance(decision, HandleAccepted)
    events.append(decision)
    return events, decision


def _child(parent: Event, name: str) -> Event:
    meta = new_meta(event_type="crowdlog.records.RecordReceived", entity_id="acme:42",
                    occurred_at=T0, producer=Producer("enrichment", "1.0.0", "test"),
                    provenance=Provenance("platform:twitter", name), parents=(parent.event_id,),
                    identity=[name])
    base = record()  # any event type will do: lineage looks only at the meta
    return type(base)(meta=meta, **{f: getattr(base, f) for f in base.payload_fields()})


def _retracted_ids(outputs: list[Event]) -> list[str]:
    return [o.retracted_id for o in outputs if isinstance(o, EventRetracted)]


def test_versions_compare_numerically_with_local_labels_as_text() -> None:
    assert version_key("1.10.0") > version_key("1.9.0")
    assert version_key("1.0.0+quorum-5") != version_key("1.0.0+quorum-8")
    assert version_key("1.0.0") < version_key("1.0.0+quorum-5") < version_key("1.0.1")


def test_a_selection_needs_a_criterion() -> None:
    with pytest.raises(ValueError, match="at least one criterion"):
        Selection()


def test_a_stage_version_redaction_retracts_exactly_its_decisions_and_their_descendants() -> None:
    events, decision = _pipeline()
    profile = _child(decision, "profile")
    prediction = _child(profile, "prediction")
    unrelated = _child(events[0], "unrelated")
    state = LineageState()
    for event in [*events, profile, prediction, unrelated]:
        assert observe(state, event, CONFIG) == []
    request = redaction(stage="consensus", version_min=decision.meta.producer.version,
                        version_max=decision.meta.producer.version)
    outputs = observe(state, request, CONFIG)
    assert _retracted_ids(outputs) == [decision.event_id, profile.event_id, prediction.event_id]
    first = outputs[0]
    assert isinstance(first, EventRetracted)
    assert first.meta.parents == (request.event_id, decision.event_id) and first.via is None
    assert first.entity_id == decision.entity_id
    assert [o.via for o in outputs[1:] if isinstance(o, EventRetracted)] == [
        decision.event_id, profile.event_id]
    assert observe(state, request, CONFIG) == []  # a redelivered request changes nothing


def test_events_seen_after_the_redaction_are_retracted_when_they_arrive() -> None:
    """Topics are read in any order: a child before its parent, a late faulty decision."""
    events, decision = _pipeline()
    profile = _child(decision, "profile")
    grandchild = _child(profile, "prediction")
    state = LineageState()
    for event in events[:-1]:
        observe(state, event, CONFIG)
    request = redaction(stage="consensus")
    assert observe(state, request, CONFIG) == []
    assert observe(state, grandchild, CONFIG) == []  # its parent is not known yet
    assert _retracted_ids(observe(state, decision, CONFIG)) == [decision.event_id]
    assert _retracted_ids(observe(state, profile, CONFIG)) == [profile.event_id,
                                                               grandchild.event_id]


def test_a_worker_redaction_selects_their_assignments() -> None:
    events, decision = _pipeline()
    state = LineageState()
    for event in events:
        observe(state, event, CONFIG)
    outputs = observe(state, redaction(worker_id="W1"), CONFIG)
    assert _retracted_ids(outputs) == [assignment(1, {}).event_id, decision.event_id]


def test_a_source_redaction_reaches_everything_from_the_feed() -> None:
    events, decision = _pipeline()
    state = LineageState()
    for event in events:
        observe(state, event, CONFIG)
    ids = _retracted_ids(observe(state, redaction(source="provider:acme",
                                                  occurred_from=T0 - timedelta(days=1)),
                                 CONFIG))
    # the record and the HIT carry the provider's provenance; the HIT also descends from it
    assert ids[0] == events[0].event_id and set(ids) >= {events[1].event_id}
    assert decision.event_id not in ids  # its parents are the crowd's answers, not the feed's


def test_the_block_policy_redacts_the_workers_answers_but_never_the_block() -> None:
    events, decision = _pipeline()
    config = LineageConfig(block_redacts=True, instance="test")
    state = LineageState()
    for event in events:
        observe(state, event, config)
    meta = new_meta(event_type=WorkerBlocked.schema_name, entity_id="worker:W1", occurred_at=T0,
                    producer=Producer("workers", "1.0.0", "test"),
                    provenance=Provenance("crowd", "W1"),
                    parents=(assignment(1, {}).event_id,), identity=["W1"])
    blocked = WorkerBlocked(meta=meta, worker_id="W1", accuracy=0.2, uncertainty=0.1,
                            answers=5.0, threshold=0.6, reason="below the bar")
    outputs = observe(state, blocked, config)
    assert len(outputs) == 1 and isinstance(outputs[0], RedactionRequested)
    request = outputs[0]
    assert request.worker_id == "W1" and request.requested_by == BLOCK_POLICY
    assert request.meta.parents == (blocked.event_id,)
    retracted = _retracted_ids(observe(state, request, config))
    assert retracted == [assignment(1, {}).event_id, decision.event_id]
    assert blocked.event_id not in retracted
