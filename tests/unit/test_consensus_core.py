"""The consensus core: rules, normalisation, parents, blocks, redelivery, supersession."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from streams.consensus import core
from streams.consensus.core import ConsensusConfig, Workers
from streams.consensus.inference import WorkerModel
from streams.consensus.models import ConsensusFailed, Decision, HandleAccepted
from streams.consensus.state import EntityState
from streams.events.ids import new_meta
from streams.tasks.models import HitExtended
from tests.factories import PRODUCER, T0, assignment, hit

QUORUM = ConsensusConfig(method="quorum")
WEIGHTED = ConsensusConfig(method="dawid-skene")
LOOSE = ConsensusConfig(method="dawid-skene", accept_confidence=0.99)


def feed(answers: list[str | None], config: ConsensusConfig, *,
         workers: core.WorkerView = core.NO_WORKERS, max_assignments: int = 10,
         state: EntityState | None = None) -> tuple[EntityState, list[Decision]]:
    state = state or EntityState("acme:42")
    decisions = core.handle(state, hit(max_assignments=max_assignments), workers, config)
    for n, answer in enumerate(answers):
        decisions += core.handle(state, assignment(n, {"twitter": answer}), workers, config)
    return state, decisions


def test_quorum_accepts_at_the_eighth_agreeing_answer_with_exactly_those_parents() -> None:
    answers = ["@KingJames", "https://x.com/KingJames/", " kingjames ", "KINGJAMES",
               "kingjames", "twitter.com/kingjames", "@kingjames", "kingjames"]
    _, decisions = feed([*answers, "kingjames", "other"], QUORUM)
    assert len(decisions) == 1
    accepted = decisions[0]
    assert isinstance(accepted, HandleAccepted)
    assert accepted.handle == "kingjames" and accepted.method == "quorum"
    assert accepted.meta.parents == tuple(assignment(n, {}).event_id for n in range(8))
    assert [v.raw for v in accepted.votes] == answers
    assert accepted.agreement == 1.0


def test_quorum_fails_as_soon_as_no_answer_can_reach_the_threshold() -> None:
    _, decisions = feed(["a1", "b2", "c3", "d4"], QUORUM)
    assert [type(d) for d in decisions] == [ConsensusFailed]
    assert len(decisions[0].votes) == 4  # 1 + 6 left < 8: decided at the fourth, not the tenth


@given(st.lists(st.sampled_from(["aaa", "bbb", None, "ccc"]), max_size=10))
def test_quorum_never_accepts_below_its_threshold(answers: list[str | None]) -> None:
    _, decisions = feed(answers, QUORUM)
    for decision in decisions:
        if isinstance(decision, HandleAccepted):
            assert sum(v.answer == (decision.handle or "not-found")
                       for v in decision.votes) >= QUORUM.required


def test_not_found_spellings_agree_and_accept_no_account() -> None:
    _, decisions = feed([None, "N/A", "none", "not found", None, None, None, None], QUORUM)
    assert isinstance(decisions[-1], HandleAccepted) and decisions[-1].handle is None


def test_answers_of_blocked_workers_are_kept_but_not_counted() -> None:
    workers = Workers({}, frozenset({"W0", "W1"}))
    state, decisions = feed(["kingjames"] * 9, QUORUM, workers=workers)
    assert decisions == []  # 7 counted answers: below 8
    field = state.hits["H1"].fields["twitter"]
    assert [a.counted for a in field.answers][:3] == [False, False, True]


def test_a_redelivered_assignment_re_emits_the_same_decision_and_nothing_new() -> None:
    state, decisions = feed(["kingjames"] * 8, QUORUM)
    again = core.handle(state, assignment(7, {"twitter": "kingjames"}), core.NO_WORKERS, QUORUM)
    assert [d.event_id for d in again] == [decisions[-1].event_id]
    assert len(state.hits["H1"].assignments) == 8


def test_weighted_rule_accepts_early_when_workers_agree() -> None:
    _, decisions = feed(["kingjames", "@KingJames", "kingjames", "kingjames"], WEIGHTED)
    accepted = [d for d in decisions if isinstance(d, HandleAccepted)]
    assert accepted and accepted[0].handle == "kingjames"
    assert len(accepted[0].votes) < 10
    assert accepted[0].confidence >= WEIGHTED.accept_confidence


def test_without_early_stopping_nothing_is_decided_before_the_last_assignment() -> None:
    config = ConsensusConfig(early_stop=False)
    _, decisions = feed(["kingjames"] * 9, config)
    assert decisions == []
    _, decisions = feed(["kingjames"] * 10, config)
    assert isinstance(decisions[-1], HandleAccepted) and len(decisions[-1].votes) == 10


@given(st.lists(st.sampled_from(["aaa", "bbb", None]), min_size=1, max_size=6),
       st.integers(min_value=1, max_value=4))
def test_adding_unanimous_answers_never_flips_an_accepted_value(
        prefix: list[str | None], extra: int) -> None:
    state, _ = feed(prefix, WEIGHTED, max_assignments=20)
    core.reconsider(state, core.NO_WORKERS, WEIGHTED)
    field = state.hits["H1"].fields["twitter"]
    if field.outcome != "accepted":
        return
    label = field.label
    more: list[Decision] = []
    for n in range(len(prefix), len(prefix) + extra):
        raw = None if label == "not-found" else label
        more += core.handle(state, assignment(n, {"twitter": raw}), core.NO_WORKERS, WEIGHTED)
        more += core.reconsider(state, core.NO_WORKERS, WEIGHTED)
    assert more == []
    assert field.outcome == "accepted" and field.label == label


def test_reconsider_supersedes_an_acceptance_once_its_voters_turn_out_to_be_spammers() -> None:
    answers = ["spam1", "spam1", "spam1", "real1", "real1"]  # accepted at 0.996 by new workers
    state, decisions = feed(answers, LOOSE, max_assignments=5)
    first = decisions[-1]
    assert isinstance(first, HandleAccepted) and first.handle == "spam1"
    spammer, expert = WorkerModel(open_labels=True), WorkerModel(open_labels=True)
    for _ in range(40):
        spammer.add("zzz", {"yyy": 1.0})
        expert.add("yyy", {"yyy": 1.0})
    workers = Workers({"W0": spammer, "W1": spammer, "W2": spammer, "W3": expert,
                       "W4": expert})
    later = core.reconsider(state, workers, LOOSE)
    assert len(later) == 1
    assert isinstance(later[0], HandleAccepted) and later[0].handle == "real1"
    assert later[0].supersedes == first.event_id and later[0].revision == 1
    assert core.reconsider(state, workers, LOOSE) == []  # settled: no flapping


def test_an_extension_reopens_a_failed_field() -> None:
    state, decisions = feed(["a1", "b2", "c3", "d4"], QUORUM, max_assignments=10)
    failed = decisions[-1]
    assert isinstance(failed, ConsensusFailed)
    extension = core.handle(state, _extended(15), core.NO_WORKERS, QUORUM)
    assert extension == []  # open again: 11 slots left, "a1" could still reach 8
    more: list[Decision] = []
    for n in range(4, 11):
        more += core.handle(state, assignment(n, {"twitter": "a1"}), core.NO_WORKERS, QUORUM)
    assert isinstance(more[-1], HandleAccepted) and more[-1].supersedes == failed.event_id


def test_state_round_trips_through_json() -> None:
    state, _ = feed(["kingjames"] * 8 + [None], QUORUM)
    stored = json.loads(json.dumps(state.to_dict()))
    assert EntityState.from_dict("acme:42", stored).to_dict() == state.to_dict()


def _extended(max_assignments: int) -> HitExtended:
    meta = new_meta(event_type=HitExtended.schema_name, entity_id="acme:42", occurred_at=T0,
                    producer=PRODUCER, provenance=hit().meta.provenance, identity=["x"])
    return HitExtended(meta=meta, hit_id="H1", additional_assignments=5,
                       max_assignments=max_assignments, platforms=["twitter"], round=1)
