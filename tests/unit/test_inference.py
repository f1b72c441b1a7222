"""Truth inference: the open-regime posterior, the worker models and the quorum rule."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.consensus.inference import NOT_FOUND, InferenceConfig, WorkerModel, item_posterior
from streams.consensus.quorum import quorum_decision, quorum_outcome

workers_ids = st.sampled_from(["w1", "w2", "w3", "w4", "w5"])
open_labels = st.sampled_from(["kingjames", "lebron", "kj23", NOT_FOUND])


@given(st.lists(st.tuples(workers_ids, open_labels), min_size=1, max_size=10))
def test_open_posterior_ranges_over_the_answers(answers: list[tuple[str, str]]) -> None:
    posterior = item_posterior(answers, {}, open_labels=True)
    assert set(posterior) == {label for _, label in answers}
    assert math.isclose(sum(posterior.values()), 1.0)


@given(open_labels)
def test_open_unanimity(label: str) -> None:
    posterior = item_posterior([("w1", label), ("w2", label)], {}, open_labels=True)
    assert posterior == {label: 1.0}


def test_worker_model_round_trips_through_json() -> None:
    worker = WorkerModel(open_labels=True)
    worker.add("kingjames", {"kingjames": 0.75, NOT_FOUND: 0.25})
    again = WorkerModel.from_dict(json.loads(json.dumps(worker.to_dict())))
    assert again == worker
    assert again.accuracy() == worker.accuracy()


def test_accuracy_is_the_beta_posterior() -> None:
    worker = WorkerModel()
    for _ in range(7):
        worker.add("a", {"a": 1.0})
    for _ in range(2):
        worker.add("b", {"a": 1.0})
    mean, sd = worker.accuracy(InferenceConfig(correct_prior=2.0, wrong_prior=1.0))
    assert mean == pytest.approx(9 / 12)
    assert sd == pytest.approx(math.sqrt(9 * 3 / (12**2 * 13)))
    assert worker.answers() == pytest.approx(9.0)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="crowd_strength"):
        InferenceConfig(crowd_strength=0.0)
    with pytest.raises(ValueError, match="other_handle_chance"):
        InferenceConfig(other_handle_chance=0.0)


quorum_labels = st.lists(st.sampled_from(["x", "y", "z"]), max_size=14)


@given(quorum_labels, st.integers(1, 10), st.integers(1, 12))
def test_quorum_never_accepts_below_required(labels: list[str], required: int,
                                             max_answers: int) -> None:
    status, label = quorum_decision(labels, required=required, max_answers=max_answers)
    if status == "accepted":
        assert label is not None
        assert labels[:max_answers].count(label) >= required
    else:
        assert label is None
        counted = labels[:max_answers]
        assert all(counted.count(x) < required for x in set(counted))


@given(quorum_labels, st.integers(1, 10), st.integers(1, 12))
def test_quorum_fails_exactly_when_no_label_can_reach_required(
        labels: list[str], required: int, max_answers: int) -> None:
    status, _ = quorum_decision(labels, required=required, max_answers=max_answers)
    counted = labels[:max_answers]
    if status == "accepted":
        return
    best = max((counted.count(x) for x in set(counted)), default=0)
    reachable = best + max_answers - len(counted) >= required
    assert (status == "failed") == (not reachable)


@given(quorum_labels, st.integers(1, 10), st.integers(1, 12), quorum_labels)
def test_a_settled_quorum_never_changes(labels: list[str], required: int, max_answers: int,
                                       more: list[str]) -> None:
    first = quorum_outcome(labels, required=required, max_answers=max_answers)
    if first.status != "open":
        later = quorum_outcome(labels + more, required=required, max_answers=max_answers)
        assert (later.status, later.label, later.used) == (first.status, first.label,
                                                           first.used)
