"""How consensus and tasks follow a redaction: forget, re-judge, re-open."""

from __future__ import annotations

from streams.consensus import core
from streams.consensus.core import ConsensusConfig, Workers
from streams.consensus.models import ConsensusFailed, HandleAccepted
from streams.consensus.state import EntityState
from streams.events.model import Event
from streams.tasks import core as tasks
from streams.tasks.core import TaskConfig, TaskState
from streams.tasks.models import HitExpired, HitExtended
from tests.factories import assignment, hit, record
from tests.lineage_factories import retracted

NOBODY = Workers({})
FAULTY = ConsensusConfig(method="quorum", required=3)
RIGHT = ConsensusConfig(method="quorum", required=4)


def _decided(config: ConsensusConfig, answers: list[str]) -> tuple[EntityState, list[Event]]:
    state = EntityState("acme:42")
    outputs: list[Event] = [*core.handle(state, hit(), NOBODY, config)]
    for n, answer in enumerate(answers):
        outputs += core.handle(state, assignment(n, {"twitter": answer}), NOBODY, config)
    return state, outputs


def test_the_faulty_version_names_its_bar() -> None:
    assert FAULTY.producer.version == "1.0.0+quorum-3"
    assert ConsensusConfig().producer.version == "1.0.0+dawid-skene"


def test_a_retracted_decision_is_judged_again_by_the_running_rule() -> None:
    answers = ["wrong", "wrong", "wrong", "right", "right", "right", "right"]
    state, outputs = _decided(FAULTY, answers)
    faulty = outputs[0]
    assert isinstance(faulty, HandleAccepted) and faulty.handle == "wrong"
    # the fixed rule takes over the state, then the faulty decision is withdrawn
    redecided = core.handle(state, retracted(faulty), NOBODY, RIGHT)
    assert len(redecided) == 1 and isinstance(redecided[0], HandleAccepted)
    assert redecided[0].handle == "right" and redecided[0].event_id != faulty.event_id
    assert redecided[0].supersedes is None and redecided[0].revision == faulty.revision + 1
    assert set(redecided[0].meta.parents) == {assignment(n, {}).event_id for n in range(7)}
    assert core.handle(state, retracted(faulty), NOBODY, RIGHT) == []  # redelivered


def test_a_retracted_decision_without_enough_answers_waits_for_more() -> None:
    state, outputs = _decided(FAULTY, ["wrong"] * 3)
    assert core.handle(state, retracted(outputs[0]), NOBODY, RIGHT) == []
    more = core.handle(state, assignment(3, {"twitter": "wrong"}), NOBODY, RIGHT)
    assert [type(d) for d in more] == [HandleAccepted]


def test_retracted_answers_no_longer_count_and_are_never_counted_again() -> None:
    state, outputs = _decided(RIGHT, ["a", "a", "a"])
    assert outputs == []
    spam = assignment(1, {"twitter": "a"})
    assert core.handle(state, retracted(spam), NOBODY, RIGHT) == []
    assert core.handle(state, spam, NOBODY, RIGHT) == []  # redelivered after its retraction
    fourth = core.handle(state, assignment(3, {"twitter": "a"}), NOBODY, RIGHT)
    assert fourth == []  # three live answers, not four
    fifth = core.handle(state, assignment(4, {"twitter": "a"}), NOBODY, RIGHT)
    assert isinstance(fifth[0], HandleAccepted)
    assert spam.event_id not in fifth[0].meta.parents


def test_tasks_reopen_an_expired_hit_when_its_decision_is_withdrawn() -> None:
    config = TaskConfig(instance="test")
    state = TaskState()
    published = tasks.handle(state, record(), config)
    hit_id = published[0].hit_id  # type: ignore[attr-defined]
    platforms = state.platforms
    decisions: list[Event] = []
    for platform in platforms:
        hit_state = EntityState("acme:42")
        decision = core.handle(hit_state, hit(hit_id=hit_id, platforms=(platform,)),
                               NOBODY, ConsensusConfig(method="quorum", required=1))
        decision += core.handle(hit_state, assignment(0, {platform: "x"}, hit_id=hit_id),
                                NOBODY, ConsensusConfig(method="quorum", required=1))
        decisions += decision
    outputs: list[Event] = []
    for decision in decisions:
        outputs += tasks.handle(state, decision, config)
    assert [type(o) for o in outputs] == [HitExpired] and state.expired
    reopened = tasks.handle(state, retracted(decisions[0]), config)
    assert len(reopened) == 1 and isinstance(reopened[0], HitExtended)
    assert reopened[0].additional_assignments == 0 and not state.expired
    assert reopened[0].platforms == [decisions[0].platform]  # type: ignore[attr-defined]
    assert tasks.handle(state, retracted(decisions[0]), config) == []
    again = tasks.handle(state, decisions[0], config)
    assert again == [] or isinstance(again[0], HitExpired)


def test_tasks_expire_a_withdrawn_hit() -> None:
    config = TaskConfig(instance="test")
    state = TaskState()
    published = tasks.handle(state, record(), config)
    outputs = tasks.handle(state, retracted(published[0]), config)
    assert len(outputs) == 1 and isinstance(outputs[0], HitExpired)
    assert outputs[0].reason == "retracted"
    assert not [o for o in outputs if isinstance(o, ConsensusFailed)]
