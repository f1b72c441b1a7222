"""The workers cores: grading against decisions and gold, reviews, quality and blocking."""

from __future__ import annotations

from streams.consensus import core as consensus
from streams.consensus.core import ConsensusConfig
from streams.consensus.models import HandleAccepted
from streams.consensus.state import EntityState
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.tasks.models import HitExpired
from streams.workers import grading, quality
from streams.workers.grading import GradingConfig, GradingState
from streams.workers.models import AnswerGraded, AssignmentReviewed, WorkerBlocked
from streams.workers.quality import QualityConfig, WorkerState
from tests.factories import T0, assignment, hit

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
    assert any(isinstance(e, AssignmentReviewed) and e.status == "Approved" for e in out)


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
