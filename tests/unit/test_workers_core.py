"""The workers cores: grading against decisions and gold, reviews, quality and blocking."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.consensus import core as consensus
from streams.consensus.core import ConsensusConfig
from streams.consensus.inference import WorkerModel
from streams.consensus.models import HandleAccepted
from streams.consensus.state import EntityState
from streams.events.codec import Codec
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.settings import Settings
from streams.tasks.models import HitExpired
from streams.workers import grading, quality
from streams.workers import stage as workers_stage
from streams.workers.grading import GradingConfig, GradingState
from streams.workers.models import (
    QUALIFICATION,
    AnswerGraded,
    AssignmentReviewed,
    QualificationRevoked,
    ReviewHeld,
    WorkerBlocked,
    WorkerQualified,
    WorkerQualityEstimated,
)
from streams.workers.quality import QualityConfig, WorkerState
from streams.workers.view import QualityView, _Position
from tests.factories import T0, assignment, hit
from tests.lineage_factories import retracted
from tests.view_events import profile, rejection

QUORUM = ConsensusConfig(method="quorum", required=3)


def run_hit(answers: list[str]) -> tuple[GradingState, list[Event]]:
    """A one-platform HIT through consensus and grading, expired after its decision."""
    decisions_state, grades_state = EntityState("acme:42"), GradingState("acme:42")
    out: list[Event] = []
    published = hit(max_assignments=len(answers))
    events: list[Event] = [published] + [assignment(n, {"twitter": a})
                                         for n, a in enumerate(answers)]
    for event in events:
        out += grading.handle(grades_state, event, GradingConfig())
        for decision in consensus.handle(decisions_state, event, consensus.NO_WORKERS, QUORUM):
            out += [decision, *grading.handle(grades_state, decision, GradingConfig())]
    expired_meta = new_meta(event_type=HitExpired.schema_name, entity_id="acme:42",
                            occurred_at=T0, producer=Producer("tasks", "1", "t"),
                            provenance=Provenance("crowd", "H1"), identity=["H1"])
    out += grading.handle(grades_state, HitExpired(meta=expired_meta, hit_id="H1",
                                                   reason="decided", max_assignments=4),
                          GradingConfig())
    return grades_state, out


def test_every_answer_is_graded_against_the_accepted_value() -> None:
    _, out = run_hit(["kingjames", "@KingJames", "kingjames", "spam"])
    grades = [e for e in out if isinstance(e, AnswerGraded)]
    accepted = next(e for e in out if isinstance(e, HandleAccepted))
    assert sorted(g.worker_id for g in grades) == ["W0", "W1", "W2", "W3"]
    assert {g.entity_id for g in grades} == {"worker:W0", "worker:W1", "worker:W2", "worker:W3"}
    assert all(accepted.event_id in g.meta.parents for g in grades)


def test_assignments_are_reviewed_when_the_hit_expires_and_spam_is_rejected() -> None:
    _, out = run_hit(["kingjames", "kingjames", "kingjames", "spam"])
    reviews = {e.worker_id: e for e in out if isinstance(e, AssignmentReviewed)}
    assert reviews["W0"].status == "Approved" and reviews["W0"].reward_cents == 10
    assert reviews["W3"].status == "Rejected" and reviews["W3"].reward_cents == 0


def test_gold_answers_are_graded_against_the_gold_answer_at_once() -> None:
    config = GradingConfig(gold={"42": {"twitter": "kingjames"}})
    state = GradingState("gold:42")
    grading.handle(state, hit(entity_id="gold:42", gold=True), config)
    out = grading.handle(state, assignment(0, {"twitter": "@KingJames"}, entity_id="gold:42",
                                           gold=True), config)
    grade = next(e for e in out if isinstance(e, AnswerGraded))
    assert grade.gold and grade.truth == {"kingjames": 1.0} and grade.answer == "kingjames"
    # not paid yet: the review is held with the worker (keyed by them, after the grade)
    assert not any(isinstance(e, AssignmentReviewed) for e in out)
    assert isinstance(out[-1], ReviewHeld) and out[-1].entity_id == "worker:W0"
    assert out[-1].status == "Approved" and out[-1].reward_cents == 10
    assert out[-1].record == "gold:42"


def _grade(n: int, answer: str, truth: str, replaces: str | None = None) -> AnswerGraded:
    meta = new_meta(event_type=AnswerGraded.schema_name, entity_id="worker:W", occurred_at=T0,
                    producer=Producer("workers", "1", "t"), provenance=Provenance("crowd", "x"),
                    identity=[n, replaces])
    return AnswerGraded(meta=meta, worker_id="W", assignment_id=f"A{n}", platform="twitter",
                        answer=answer, truth={truth: 1.0}, gold=False, replaces=replaces)


def test_a_spammer_is_blocked_after_a_bounded_number_of_answers_and_once() -> None:
    state, blocks = WorkerState("W"), []
    for n in range(30):
        out = quality.handle(state, _grade(n, f"junk{n}", "real"), QualityConfig())
        blocks += [e for e in out if isinstance(e, WorkerBlocked)]
    assert len(blocks) == 1 and blocks[0].answers <= 12


def test_a_good_worker_is_not_blocked_by_an_early_mistake() -> None:
    state = WorkerState("W")
    out: list[Event] = []
    for n in range(40):
        answer = "wrong" if n in (0, 1, 7) else "real"
        out += quality.handle(state, _grade(n, answer, "real"), QualityConfig())
    assert not any(isinstance(e, WorkerBlocked) for e in out)
    assert state.model.accuracy()[0] > 0.8


def test_a_replacing_grade_swaps_the_old_contribution_and_redelivery_is_ignored() -> None:
    state = WorkerState("W")
    first = _grade(0, "aaa", "bbb")
    quality.handle(state, first, QualityConfig())
    before = state.model.accuracy()
    assert quality.handle(state, first, QualityConfig()) == []
    quality.handle(state, _grade(0, "aaa", "aaa", replaces=first.event_id), QualityConfig())
    assert state.model.accuracy()[0] > before[0]
    assert list(state.grades) != [first.event_id]


# ---- following retractions -----------------------------------------------------------------

FAULTY = ConsensusConfig(method="quorum", required=3)
RIGHT = ConsensusConfig(method="quorum", required=4)
ANSWERS = ["wrong", "wrong", "wrong", "right", "right", "right", "right"]


def _expired(*decisions: Event, reason: str = "decided") -> HitExpired:
    """The expiry tasks publishes once the HIT's platforms are decided (named as parents)."""
    meta = new_meta(event_type=HitExpired.schema_name, entity_id="acme:42", occurred_at=T0,
                    producer=Producer("tasks", "1", "t"), provenance=Provenance("crowd", "H1"),
                    parents=tuple(d.event_id for d in decisions), identity=["H1", reason])
    return HitExpired(meta=meta, hit_id="H1", reason=reason, max_assignments=7)


def _faulty_hit() -> tuple[EntityState, GradingState, HandleAccepted, list[Event]]:
    """Seven answers, accepted "wrong" by a faulty quorum of three, the HIT then expired."""
    decisions, grades = EntityState("acme:42"), GradingState("acme:42")
    out: list[Event] = []
    for event in [hit(max_assignments=7)] + [assignment(n, {"twitter": a})
                                             for n, a in enumerate(ANSWERS)]:
        out += grading.handle(grades, event, GradingConfig())
        for decision in consensus.handle(decisions, event, consensus.NO_WORKERS, FAULTY):
            out += [decision, *grading.handle(grades, decision, GradingConfig())]
    accepted = next(e for e in out if isinstance(e, HandleAccepted))
    out += grading.handle(grades, _expired(accepted), GradingConfig())
    return decisions, grades, accepted, out


def _accepted_at_once(answer: Event) -> HandleAccepted:
    """The acceptance a quorum of one makes of ``answer``."""
    state, config = EntityState("acme:42"), ConsensusConfig(method="quorum", required=1)
    consensus.handle(state, hit(), consensus.NO_WORKERS, config)
    decision = consensus.handle(state, answer, consensus.NO_WORKERS, config)[0]
    assert isinstance(decision, HandleAccepted)
    return decision


def _of(kind: type[Event], events: list[Event]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def test_a_retracted_acceptance_is_forgotten_and_its_successor_graded_afresh() -> None:
    decisions, grades, faulty, before = _faulty_hit()
    old_grades = {g.assignment_id: g for g in _of(AnswerGraded, before)}
    old_reviews = {r.worker_id: r for r in _of(AssignmentReviewed, before)}
    assert old_reviews["W3"].status == "Rejected"  # an honest worker, judged by a wrong value
    withdrawal = retracted(faulty)
    assert grading.handle(grades, withdrawal, GradingConfig()) == []  # nothing settled now
    assert grading.handle(grades, withdrawal, GradingConfig()) == []  # redelivered
    assert grading.handle(grades, faulty, GradingConfig()) == []  # read again after a restart
    assert grading.handle(grades, _expired(faulty), GradingConfig()) == []  # derived from it
    redecided = consensus.handle(decisions, withdrawal, consensus.NO_WORKERS, RIGHT)
    right = redecided[0]
    assert isinstance(right, HandleAccepted) and right.handle == "right"
    regraded = _of(AnswerGraded, grading.handle(grades, right, GradingConfig()))
    assert len(regraded) == 7 and all(g.truth == right.posterior for g in regraded)
    assert all(g.replaces == old_grades[g.assignment_id].event_id for g in regraded)
    assert not {g.event_id for g in regraded} & {g.event_id for g in old_grades.values()}
    reviews = _of(AssignmentReviewed, grading.handle(grades, _expired(right), GradingConfig()))
    statuses = {r.worker_id: r.status for r in reviews}
    assert statuses == {f"W{n}": "Rejected" if n < 3 else "Approved" for n in range(7)}
    assert all(right.event_id in r.meta.parents and faulty.event_id not in r.meta.parents
               for r in reviews)
    assert not {r.event_id for r in reviews} & {r.event_id for r in old_reviews.values()}


def test_reviews_come_out_the_same_when_the_retraction_is_read_last() -> None:
    """A replay reads topics in no joint order: the new decision and expiry may come first."""
    decisions, live, faulty, _ = _faulty_hit()
    _, late, _, _ = _faulty_hit()
    right = consensus.handle(decisions, retracted(faulty), consensus.NO_WORKERS, RIGHT)[0]
    in_order = [*grading.handle(live, retracted(faulty), GradingConfig()),
                *grading.handle(live, right, GradingConfig()),
                *grading.handle(live, _expired(right), GradingConfig())]
    out_of_order = [*grading.handle(late, right, GradingConfig()),
                    *grading.handle(late, _expired(right), GradingConfig()),
                    *grading.handle(late, retracted(faulty), GradingConfig())]
    reviews = _of(AssignmentReviewed, in_order)
    assert len(reviews) == 7 and {r.worker_id for r in reviews if r.status == "Approved"} == \
        {"W3", "W4", "W5", "W6"}
    assert {e.event_id for e in _of(AssignmentReviewed, out_of_order)} == \
        {e.event_id for e in reviews}
    assert {e.event_id for e in _of(AnswerGraded, out_of_order)} == \
        {e.event_id for e in _of(AnswerGraded, in_order)}


def _superseding(previous: HandleAccepted, handle: str) -> HandleAccepted:
    """A later acceptance of the same field (consensus re-judged it), on the same answers."""
    meta = new_meta(event_type=HandleAccepted.schema_name, entity_id="acme:42", occurred_at=T0,
                    producer=previous.meta.producer, provenance=previous.meta.provenance,
                    parents=previous.meta.parents, identity=["H1", "twitter", handle])
    return HandleAccepted(meta=meta, hit_id="H1", platform="twitter", votes=(), agreement=0.6,
                          confidence=0.99, posterior={handle: 0.99}, method="quorum",
                          revision=previous.revision + 1, supersedes=previous.event_id,
                          handle=handle)


def test_a_superseded_acceptance_retracted_leaves_the_hit_settled_and_reviews_again() -> None:
    """Tasks does not re-open a HIT for a decision no longer current: review again at once."""
    _, grades, faulty, _ = _faulty_hit()
    current = _superseding(faulty, "right")
    grading.handle(grades, current, GradingConfig())
    expiry = _expired(faulty)
    out = grading.handle(grades, retracted(faulty), GradingConfig())
    reviews = _of(AssignmentReviewed, out)
    assert {r.worker_id for r in reviews if r.status == "Approved"} == {"W3", "W4", "W5", "W6"}
    assert len(reviews) == 7 and all(current.event_id in r.meta.parents for r in reviews)
    assert not _of(AnswerGraded, out)  # the current acceptance's grades stand
    assert grading.handle(grades, retracted(expiry), GradingConfig()) == []
    assert grades.hits["H1"]["expired"]  # its expiry went with the superseded decision only
    late = assignment(7, {"twitter": "right"})
    assert [type(e) for e in grading.handle(grades, late, GradingConfig())] == \
        [AnswerGraded, AssignmentReviewed]


def test_an_expiry_retracted_on_its_own_unsettles_the_hit() -> None:
    _, grades, faulty, _ = _faulty_hit()
    assert grading.handle(grades, retracted(_expired(faulty)), GradingConfig()) == []
    assert not grades.hits["H1"]["expired"]
    late = assignment(7, {"twitter": "right"})
    assert [type(e) for e in grading.handle(grades, late, GradingConfig())] == [AnswerGraded]


def test_an_acceptance_retracted_before_it_is_read_is_never_graded() -> None:
    grades = GradingState("acme:42")
    grading.handle(grades, hit(), GradingConfig())
    spam = assignment(0, {"twitter": "x"})
    grading.handle(grades, spam, GradingConfig())
    decision = _accepted_at_once(spam)
    assert grading.handle(grades, retracted(decision), GradingConfig()) == []
    assert grading.handle(grades, decision, GradingConfig()) == []
    assert grades.beliefs == {}


def test_a_decision_that_counted_a_retracted_answer_is_ignored_when_read_after_it() -> None:
    """Lineage retracts it too; read late, it must not be believed meanwhile."""
    grades = GradingState("acme:42")
    grading.handle(grades, hit(), GradingConfig())
    spam = assignment(0, {"twitter": "x"})
    grading.handle(grades, retracted(spam), GradingConfig())
    decision = _accepted_at_once(spam)
    assert grading.handle(grades, decision, GradingConfig()) == []
    assert grading.handle(grades, _expired(decision), GradingConfig()) == []
    assert grades.beliefs == {} and not grades.hits["H1"]["expired"]


def test_a_retracted_assignment_is_never_graded_or_reviewed_again() -> None:
    grades = GradingState("acme:42")
    grading.handle(grades, hit(), GradingConfig())
    spam, honest = assignment(0, {"twitter": "junk"}), assignment(1, {"twitter": "real"})
    grading.handle(grades, spam, GradingConfig())
    grading.handle(grades, honest, GradingConfig())
    assert grading.handle(grades, retracted(spam), GradingConfig()) == []
    assert grading.handle(grades, spam, GradingConfig()) == []  # redelivered: stays forgotten
    assert grading.handle(grades, retracted(spam), GradingConfig()) == []
    assert list(grades.assignments) == [honest.assignment_id]
    decision = _accepted_at_once(honest)
    out = grading.handle(grades, decision, GradingConfig())
    out += grading.handle(grades, _expired(decision), GradingConfig())
    assert {e.worker_id for e in out if isinstance(e, (AnswerGraded, AssignmentReviewed))} \
        == {"W1"}


def test_a_withdrawn_hit_takes_no_more_answers_and_its_expiry_pays_nothing() -> None:
    grades = GradingState("acme:42")
    published = hit()
    grading.handle(grades, published, GradingConfig())
    grading.handle(grades, retracted(published), GradingConfig())
    assert grading.handle(grades, assignment(0, {"twitter": "x"}), GradingConfig()) == []
    assert grading.handle(grades, _expired(reason="retracted"), GradingConfig()) == []


def test_each_step_keeps_only_the_retractions_it_follows() -> None:
    _, grades, faulty, out = _faulty_hit()
    grade = _of(AnswerGraded, out)[0]
    review = _of(AssignmentReviewed, out)[0]
    assert workers_stage.grade("worker:W0", None, retracted(grade), GradingConfig()) == (None, [])
    assert workers_stage.assess("acme:42", None, retracted(faulty), QualityConfig()) == (None, [])
    assert workers_stage.assess("acme:42", None, retracted(review), QualityConfig()) == (None, [])
    stored, outputs = workers_stage.grade("acme:42", grades.to_dict(), retracted(review),
                                           GradingConfig())
    assert stored is not None and outputs == []  # the HIT is still settled, its review the same
    state, estimates = workers_stage.assess(grade.entity_id, None, grade, QualityConfig())
    assert state is not None and len(estimates) == 1
    stored, outputs = workers_stage.assess(grade.entity_id, state, retracted(grade),
                                            QualityConfig())
    assert stored is not None and stored["worker_id"] == "W0" and stored["grades"] == {}
    assert _of(WorkerQualityEstimated, outputs)


def _worker(grades: list[AnswerGraded]) -> tuple[WorkerState, list[Event]]:
    state, out = WorkerState("W"), []
    for grade in grades:
        out += quality.handle(state, grade, QualityConfig())
    return state, out


def test_a_retracted_grade_leaves_the_statistics_as_if_it_never_came() -> None:
    grades = [_grade(n, "real" if n % 3 else "fake", "real") for n in range(9)]
    state, _ = _worker(grades)
    without, _ = _worker([g for g in grades if g is not grades[4]])
    withdrawal = retracted(grades[4])
    out = quality.handle(state, withdrawal, QualityConfig())
    assert len(out) == 1 and isinstance(out[0], WorkerQualityEstimated)
    assert out[0].meta.parents == (withdrawal.event_id,)
    assert list(state.grades) == list(without.grades)
    assert state.model.accuracy() == pytest.approx(without.model.accuracy())
    assert out[0].answers == pytest.approx(8.0)
    assert quality.handle(state, withdrawal, QualityConfig()) == []  # redelivered
    assert quality.handle(state, grades[4], QualityConfig()) == []  # read again: never counted


def test_a_grade_retracted_before_it_arrives_is_never_counted() -> None:
    state = WorkerState("W")
    grade = _grade(0, "a", "a")
    assert quality.handle(state, retracted(grade), QualityConfig()) == []
    assert quality.handle(state, grade, QualityConfig()) == []
    assert state.model.answers() == 0.0 and state.estimate_id is None


def test_a_retracted_grade_already_replaced_changes_nothing() -> None:
    first = _grade(0, "aaa", "bbb")
    state, _ = _worker([first, _grade(0, "aaa", "aaa", replaces=first.event_id)])
    before = state.to_dict()
    assert quality.handle(state, retracted(first), QualityConfig()) == []
    assert state.model.to_dict() == before["model"] and state.grades == before["grades"]


def test_a_removed_gold_grade_no_longer_counts_as_gold() -> None:
    meta = new_meta(event_type=AnswerGraded.schema_name, entity_id="worker:W", occurred_at=T0,
                    producer=Producer("workers", "1", "t"), provenance=Provenance("crowd", "g"),
                    identity=["gold"])
    gold = AnswerGraded(meta=meta, worker_id="W", assignment_id="G", platform="twitter",
                        answer="a", truth={"a": 1.0}, gold=True)
    state, _ = _worker([gold, _grade(1, "b", "b")])
    assert state.gold_answers == 1
    out = quality.handle(state, retracted(gold), QualityConfig())
    assert state.gold_answers == 0 and out[0].gold_answers == 0  # type: ignore[attr-defined]
    assert out[0].answers == pytest.approx(1.0)  # type: ignore[attr-defined]


def test_a_honest_worker_wrongly_blocked_is_unblocked_when_the_block_is_retracted() -> None:
    """Graded against a faulty consensus, then the grades and the block are withdrawn."""
    wrong = [_grade(n, "real", "fake") for n in range(12)]
    state, out = _worker(wrong)
    block = _of(WorkerBlocked, out)[0]
    assert state.blocked and state.block_id == block.event_id
    estimates = []
    for grade in wrong:
        step = quality.handle(state, retracted(grade), QualityConfig())
        assert not _of(WorkerBlocked, step)
        estimates += _of(WorkerQualityEstimated, step)
    assert len(estimates) == 12 and state.blocked  # the block is live until retracted
    assert quality.handle(state, retracted(block), QualityConfig()) == []
    assert not state.blocked and state.block_id is None
    assert quality.handle(state, retracted(block), QualityConfig()) == []  # redelivered
    later = []
    for n in range(12, 30):
        later += quality.handle(state, _grade(n, "real", "real"), QualityConfig())
    assert not _of(WorkerBlocked, later) and state.model.accuracy()[0] > 0.9


def test_a_retracted_block_that_the_estimate_still_calls_for_is_a_new_block() -> None:
    state, out = _worker([_grade(n, f"junk{n}", "real") for n in range(12)])
    block = _of(WorkerBlocked, out)[0]
    withdrawal = retracted(block)
    again = quality.handle(state, withdrawal, QualityConfig())
    assert len(again) == 1 and isinstance(again[0], WorkerBlocked)
    assert again[0].event_id != block.event_id and again[0].meta.parents == (withdrawal.event_id,)
    assert state.blocked and state.block_id == again[0].event_id


def test_a_blocked_spammer_stays_blocked_when_some_grades_are_retracted() -> None:
    grades = [_grade(n, f"junk{n}", "real") for n in range(20)]
    state, out = _worker(grades)
    block = _of(WorkerBlocked, out)[0]
    for grade in grades[:15]:
        step = quality.handle(state, retracted(grade), QualityConfig())
        assert [type(e) for e in step] == [WorkerQualityEstimated]
    assert state.blocked and state.block_id == block.event_id
    other_block = _of(WorkerBlocked, _worker([_grade(n, "x", "y") for n in range(40, 60)])[1])[0]
    assert quality.handle(state, retracted(other_block), QualityConfig()) == []
    assert state.blocked  # not the block in force


def test_a_retracted_latest_estimate_is_published_anew() -> None:
    grades = [_grade(n, "a", "a") for n in range(3)]
    state, out = _worker(grades)
    first, latest = out[0], out[-1]
    assert quality.handle(state, retracted(first), QualityConfig()) == []  # not the latest
    withdrawal = retracted(latest)
    again = quality.handle(state, withdrawal, QualityConfig())
    assert len(again) == 1 and isinstance(again[0], WorkerQualityEstimated)
    assert again[0].meta.parents == (withdrawal.event_id,)
    assert again[0].accuracy == latest.accuracy  # type: ignore[attr-defined]
    assert quality.handle(state, withdrawal, QualityConfig()) == []  # redelivered


def test_the_view_drops_a_retracted_block_and_a_retracted_latest_estimate(codec: Codec) -> None:
    view = QualityView(Settings(), codec, position_group="unused")

    def read(event: Event) -> None:  # as the view's thread does: from the bytes on the log
        view.apply(codec.decode(codec.encode(event)))

    state, out = _worker([_grade(n, f"junk{n}", "real") for n in range(12)])
    block = _of(WorkerBlocked, out)[0]
    estimates = _of(WorkerQualityEstimated, out)
    for event in out:
        read(event)
    assert view.blocked("W") and view.model("W") is not None
    read(retracted(estimates[0]))  # an older estimate: the latest stands
    assert view.model("W") == WorkerModel.from_dict(json.loads(estimates[-1].model))
    read(retracted(block))
    assert not view.blocked("W")
    read(block)  # read again (the topics are read in no joint order): stays withdrawn
    assert not view.blocked("W")
    read(retracted(estimates[-1]))
    assert view.model("W") is None
    again = quality.handle(state, retracted(block), QualityConfig())
    for event in again:
        read(event)
    assert view.blocked("W")  # the new block holds
    late = _of(WorkerBlocked, _worker([_grade(n, "x", "y") for n in range(40, 60)])[1])[0]
    read(retracted(late))
    read(late)
    assert view.blocked("W")  # another worker's id, withdrawn before it arrived
    read(retracted(hit()))  # not a quality event: ignored
    assert view.blocked("W")


# ---- qualification before pay --------------------------------------------------------------

def _gold_assignment(n: int, right: bool) -> list[Event]:
    """Worker W's ``n``-th gold HIT, three platforms, graded and reviewed by grading."""
    truth = {"twitter": "kingjames", "instagram": "kingjames", "facebook": "not-found"}
    config = GradingConfig(gold={"42": truth})
    state, hit_id = GradingState("gold:42"), f"G{n}"
    grading.handle(state, hit(entity_id="gold:42", hit_id=hit_id, gold=True,
                              platforms=tuple(truth)), config)
    answers: dict[str, str | None] = ({"twitter": "kingjames", "instagram": "kingjames",
                                       "facebook": None} if right else
                                      {p: f"junk{n}" for p in truth})
    return grading.handle(state, assignment(n, answers, worker="W", entity_id="gold:42",
                                            hit_id=hit_id, gold=True), config)


def _qualifying(hits: list[bool], config: QualityConfig | None = None) -> tuple[
        WorkerState, list[Event]]:
    state, out = WorkerState("W"), []
    for n, right in enumerate(hits):
        for event in _gold_assignment(n, right):
            out += quality.handle(state, event, config or QualityConfig())
    return state, out


def test_a_worker_right_on_three_gold_hits_is_qualified_and_paid_for_them_then() -> None:
    state, before = _qualifying([True, True])
    assert not _of(WorkerQualified, before) and not _of(AssignmentReviewed, before)
    assert len(state.held) == 2  # answers graded, pay held
    after = quality.handle(state, _gold_assignment(2, True)[0], QualityConfig())
    assert not _of(WorkerQualified, after)  # 7 gold answers so far: not yet
    _, out = _qualifying([True, True, True])
    qualified = _of(WorkerQualified, out)
    assert len(qualified) == 1 and qualified[0].qualification == QUALIFICATION
    assert qualified[0].gold_answers == 9 and qualified[0].entity_id == "worker:W"
    paid = _of(AssignmentReviewed, out)
    assert [r.assignment_id for r in paid] == ["G0-A0", "G1-A1", "G2-A2"]
    assert all(r.status == "Approved" and r.reward_cents == 10 for r in paid)
    assert {r.entity_id for r in paid} == {"gold:42"}  # keyed like every review: the record
    assert out.index(qualified[0]) < out.index(paid[0])


def test_a_review_after_qualifying_is_paid_at_once_and_redelivery_changes_nothing() -> None:
    state, _ = _qualifying([True, True, True])
    late = _gold_assignment(3, True)
    out = [e for event in late for e in quality.handle(state, event, QualityConfig())]
    assert [r.assignment_id for r in _of(AssignmentReviewed, out)] == ["G3-A3"]
    assert quality.handle(state, late[-1], QualityConfig()) == []
    assert not _of(WorkerQualified, out)  # granted once


def test_a_worker_failing_qualification_is_blocked_and_never_paid() -> None:
    state, out = _qualifying([False, False, True])
    blocked = _of(WorkerBlocked, out)
    assert len(blocked) == 1 and not _of(WorkerQualified, out)
    rejected = _of(AssignmentReviewed, out)
    assert [r.assignment_id for r in rejected] == ["G0-A0", "G1-A1", "G2-A2"]
    assert all(r.status == "Rejected" and r.reward_cents == 0 for r in rejected)
    assert all(r.reason.startswith("qualification failed") for r in rejected)
    assert state.held == {}


def test_an_undecided_worker_takes_more_gold_before_being_paid() -> None:
    state, out = _qualifying([True, False, True])  # 6 of 9 right: 0.67 ± 0.10
    assert not _of(WorkerQualified, out) and not _of(WorkerBlocked, out)
    assert len(state.held) == 3
    restored = WorkerState.from_dict("W", json.loads(json.dumps(state.to_dict())))
    assert restored.held == state.held and not restored.qualified


def test_without_a_qualification_gold_is_paid_at_once() -> None:
    _, out = _qualifying([True], QualityConfig(qualification=None))
    assert [r.status for r in _of(AssignmentReviewed, out)] == ["Approved"]
    assert not _of(WorkerQualified, out)


def test_a_retracted_qualification_is_lifted_and_a_retracted_held_review_forgotten() -> None:
    state, out = _qualifying([True, True, True])
    granted = _of(WorkerQualified, out)[0]
    assert quality.follows(retracted(granted))
    withdrawn = retracted(granted)
    again = _of(WorkerQualified, quality.handle(state, withdrawn, QualityConfig()))
    # lifted; the grades still call for it, so it is granted anew (as a block would be)
    assert len(again) == 1 and again[0].event_id != granted.event_id
    assert again[0].meta.parents == (withdrawn.event_id,)
    assert state.qualified_id == again[0].event_id
    undecided, _ = _qualifying([True])
    held_review = next(e for e in _gold_assignment(0, True) if isinstance(e, ReviewHeld))
    quality.handle(undecided, retracted(held_review), QualityConfig())
    assert undecided.held == {}


def test_a_retracted_qualification_the_grades_left_do_not_earn_is_revoked() -> None:
    """A redaction takes back the gold answers that qualified the worker, then the grant."""
    state, out = WorkerState("W"), []
    inputs = [e for n in range(3) for e in _gold_assignment(n, True)]
    for event in inputs:
        out += quality.handle(state, event, QualityConfig())
    granted = _of(WorkerQualified, out)[0]
    for grade in [e for e in inputs if isinstance(e, AnswerGraded)][:6]:
        quality.handle(state, retracted(grade), QualityConfig())
    assert state.qualified  # its own event stands until it is retracted too
    withdrawn = retracted(granted)
    revoked = quality.handle(state, withdrawn, QualityConfig())
    assert [type(e) for e in revoked] == [QualificationRevoked]
    assert revoked[0].meta.parents == (withdrawn.event_id,)
    assert (revoked[0].worker_id, revoked[0].qualification) == ("W", granted.qualification)
    assert "3 gold answers" in revoked[0].reason and not state.qualified
    assert quality.handle(state, withdrawn, QualityConfig()) == []  # redelivered: once


# ---- grades follow enrichment's verdict ----------------------------------------------------

def test_answers_giving_a_rejected_handle_are_graded_again_as_wrong() -> None:
    state, out = run_hit(["kingjames", "kingjames", "kingjames", "someoneelse"])
    accepted = next(e for e in out if isinstance(e, HandleAccepted))
    first = {g.worker_id: g for g in _of(AnswerGraded, out)}
    rejected = rejection(accepted, profile(accepted))
    regrades = grading.handle(state, rejected, GradingConfig())
    assert sorted(g.worker_id for g in _of(AnswerGraded, regrades)) == ["W0", "W1", "W2"]
    for grade in _of(AnswerGraded, regrades):
        assert grade.replaces == first[grade.worker_id].event_id
        assert grade.truth == {grading.ANOTHER_ACCOUNT: 1.0}
        assert rejected.event_id in grade.meta.parents
    assert grading.handle(state, rejected, GradingConfig()) == []  # redelivered
    worker = WorkerState("W0")
    quality.handle(worker, first["W0"], QualityConfig())
    quality.handle(worker, _of(AnswerGraded, regrades)[0], QualityConfig())
    assert worker.model.correct() == 0 and worker.model.answers() == 1  # swapped, not added
    stored, outputs = workers_stage.grade("acme:42", GradingState("acme:42").to_dict(),
                                           profile(accepted), GradingConfig())
    assert stored is None and outputs == []  # a profile is nothing to grade


def test_a_retracted_rejection_grades_the_handle_right_again() -> None:
    state, out = run_hit(["kingjames", "kingjames", "kingjames", "spam"])
    accepted = next(e for e in out if isinstance(e, HandleAccepted))
    rejected = rejection(accepted, profile(accepted))
    regrades = grading.handle(state, rejected, GradingConfig())
    assert grading.follows(retracted(rejected))
    again = grading.handle(state, retracted(rejected), GradingConfig())
    assert [g.replaces for g in _of(AnswerGraded, again)] == [
        g.event_id for g in _of(AnswerGraded, regrades)]
    assert all(g.truth == dict(accepted.posterior) or g.truth == {"kingjames": g.truth.get(
        "kingjames", 0.0)} for g in _of(AnswerGraded, again))


class _Coordinator:
    """A consumer's commit as the broker answers it: refused while ``down``."""

    def __init__(self) -> None:
        self.down, self.committed = True, list[list[tuple[str, int, int]]]()

    def commit(self, *, offsets: list[Any], asynchronous: bool) -> None:
        if self.down:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        self.committed.append([(tp.topic, tp.partition, tp.offset) for tp in offsets])


@dataclass
class _Answered:
    """A partition as librdkafka's commit callback hands it back, with its own error."""

    topic: str
    partition: int
    offset: int
    error: KafkaError | None = None


def test_the_quality_view_commits_its_position_until_the_broker_confirms_it() -> None:
    """A position is committed again until the commit callback confirms it: refused at once,
    failed when answered, or failed for one partition only (a broker-outage run waited forever
    on the crowd simulator, lag 40 once, 142 another time)."""
    position, broker = _Position(), _Coordinator()
    q3, q4 = ("workers.quality", 3, 41), ("workers.quality", 4, 7)
    position.save(broker, {q3[:2]: 41}, now=0.0)  # type: ignore[arg-type]  # refused
    broker.down = False
    position.save(broker, {}, now=0.5)  # type: ignore[arg-type]  # nothing new: not yet
    assert broker.committed == []
    position.save(broker, {}, now=1.0)  # type: ignore[arg-type]
    position.on_commit(KafkaError(KafkaError.REQUEST_TIMED_OUT), [])  # failed when answered
    position.save(broker, {q4[:2]: 7}, now=1.2)  # type: ignore[arg-type]  # new: at once
    assert broker.committed == [[q3], [q3, q4]]
    position.on_commit(None, [_Answered(*q3, KafkaError(KafkaError.NOT_COORDINATOR)),  # type: ignore[list-item]
                              _Answered(*q4)])
    position.save(broker, {}, now=2.5)  # type: ignore[arg-type]
    assert broker.committed[-1] == [q3]  # only the partition that failed
    position.on_commit(None, [_Answered(*q3)])  # type: ignore[list-item]
    position.save(broker, {}, now=4.0)  # type: ignore[arg-type]  # all confirmed: nothing
    assert len(broker.committed) == 3
