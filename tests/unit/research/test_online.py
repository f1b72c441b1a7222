"""The online research model: closed-regime posteriors, learning, settling, the time-local model."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from research.consensus.config import OnlineConfig
from research.consensus.drift import local_posteriors, nearby_counts
from research.consensus.evaluate import majority_vote
from research.consensus.online import OnlineDawidSkene, map_label
from streams.consensus.inference import NOT_FOUND, WorkerModel, item_posterior

CLASSES = ("a", "b", "c")
workers_ids = st.sampled_from(["w1", "w2", "w3", "w4", "w5"])
closed_labels = st.sampled_from(CLASSES)
answer_lists = st.lists(st.tuples(workers_ids, closed_labels), min_size=1, max_size=12)
posteriors = st.dictionaries(closed_labels, st.floats(0.01, 1.0), min_size=1).map(
    lambda d: {k: v / sum(d.values()) for k, v in d.items()})


def trained_workers(history: list[tuple[str, str, str]], *, open_regime: bool = False) -> (
        dict[str, WorkerModel]):
    model = OnlineDawidSkene(open_labels=open_regime)
    for item, worker, label in history:
        model.observe(item, worker, label)
    return {worker: model.worker(worker) for _, worker, _ in history}


def top(posterior: dict[str, float]) -> str | None:
    decision = map_label(posterior)
    return decision[0] if decision else None


histories = st.lists(st.tuples(st.sampled_from(["i1", "i2", "i3", "i4"]), workers_ids,
                               closed_labels), max_size=25)


@given(answer_lists, histories)
def test_posterior_is_a_distribution(answers: list[tuple[str, str]],
                                     history: list[tuple[str, str, str]]) -> None:
    posterior = item_posterior(answers, trained_workers(history), open_labels=False,
                               classes=CLASSES)
    assert set(posterior) == set(CLASSES)
    assert math.isclose(sum(posterior.values()), 1.0)
    assert all(0.0 <= p <= 1.0 for p in posterior.values())


@given(closed_labels, st.lists(workers_ids, min_size=1, max_size=6, unique=True), histories)
def test_unanimous_answers_win(label: str, workers: list[str],
                               history: list[tuple[str, str, str]]) -> None:
    posterior = item_posterior([(w, label) for w in workers], trained_workers(history),
                               open_labels=False, classes=CLASSES)
    assert map_label(posterior) == (label, max(posterior.values()))


@given(answer_lists, histories, st.sampled_from(["w6", "w7"]))
def test_agreeing_with_the_map_label_never_flips_it(answers: list[tuple[str, str]],
                                                    history: list[tuple[str, str, str]],
                                                    newcomer: str) -> None:
    workers = trained_workers(history)
    before = item_posterior(answers, workers, open_labels=False, classes=CLASSES)
    label = map_label(before)
    assert label is not None
    after = item_posterior([*answers, (newcomer, label[0])], workers, open_labels=False,
                           classes=CLASSES)
    assert top(after) == label[0]
    assert after[label[0]] >= before[label[0]] - 1e-12


@given(histories, closed_labels, posteriors, st.booleans())
def test_removing_a_contribution_restores_the_worker(history: list[tuple[str, str, str]],
                                                     label: str, posterior: dict[str, float],
                                                     open_regime: bool) -> None:
    worker = trained_workers(history).get("w1", WorkerModel()) if not open_regime else (
        WorkerModel(open_labels=True))
    before = worker.copy()
    worker.add(label, posterior)
    assert math.isclose(worker.answers(), before.answers() + 1.0)
    worker.add(label, posterior, weight=-1.0)
    assert set(worker.counts) == set(before.counts)
    for row, cells in before.counts.items():
        assert set(worker.counts[row]) == set(cells)
        for col, value in cells.items():
            assert math.isclose(worker.counts[row][col], value, abs_tol=1e-9)


def test_a_reliable_worker_outweighs_two_unknown_ones() -> None:
    model = OnlineDawidSkene()
    for index in range(40):
        truth = "a" if index % 2 else "b"
        for worker in ("good", "peer1", "peer2"):
            model.observe(f"t{index}", worker, truth)
        model.observe(f"t{index}", "flip", "b" if truth == "a" else "a")
    model.observe("new", "good", "a")
    posterior = model.observe("new", "flip", "a")  # the contrarian agreeing is evidence for b
    assert posterior["b"] > model.observe("other", "good", "a")["b"]
    posterior = model.observe("new", "peer1", "a")
    assert top(posterior) == "a"
    assert model.worker("good").accuracy()[0] > 0.9
    assert model.worker("flip").accuracy()[0] < 0.1


def test_online_model_basics() -> None:
    model = OnlineDawidSkene()
    assert model.decision("unknown") is None
    assert model.posterior("unknown") == {}
    model.observe("t", "ann", "x")
    model.observe("t", "bob", "y")
    model.observe("t", "bob", "x")  # bob changes his mind: the later answer replaces
    assert model.repeats == 1
    assert model.answers("t") == {"ann": "x", "bob": "x"}
    assert top(model.posterior("t")) == "x"
    assert model.worker("bob").answers() == pytest.approx(1.0)


def test_excluded_worker_loses_all_influence() -> None:
    model = OnlineDawidSkene(open_labels=True)
    model.observe("t", "spammer", NOT_FOUND)
    model.observe("t", "spammer2", NOT_FOUND)
    model.observe("t", "ann", "kingjames")
    assert top(model.posterior("t")) == NOT_FOUND
    model.exclude_worker("spammer")
    model.exclude_worker("spammer2")
    model.observe("t", "spammer", NOT_FOUND)
    assert model.posterior("t") == {"kingjames": 1.0}
    assert model.worker("spammer").answers() == pytest.approx(0.0, abs=1e-9)


def test_redecide_and_refine_report_changed_items() -> None:
    model = OnlineDawidSkene(OnlineConfig(full_model_log_odds=0.0))
    # item "early" is decided before anyone knows that "liar" is always wrong
    model.observe("early", "liar", "b")
    model.observe("early", "liar2", "b")
    model.observe("early", "honest", "a")
    assert top(model.posterior("early")) == "b"
    for index in range(30):
        for worker in ("honest", "peer1", "peer2"):
            model.observe(f"t{index}", worker, "a" if index % 2 else "b")
        for worker in ("liar", "liar2"):
            model.observe(f"t{index}", worker, "b" if index % 2 else "a")
    assert "early" in model.refine(3)
    assert top(model.posterior("early")) == "a"
    assert model.redecide() == []


@settings(max_examples=50)
@given(st.lists(st.tuples(st.sampled_from(["i1", "i2", "i3"]), workers_ids, closed_labels),
                min_size=1, max_size=30))
def test_online_posteriors_stay_distributions(history: list[tuple[str, str, str]]) -> None:
    model = OnlineDawidSkene()
    for item, worker, label in history:
        posterior = model.observe(item, worker, label)
        assert math.isclose(sum(posterior.values()), 1.0)
    total = sum(model.worker(w).answers() for w in {w for _, w, _ in history})
    assert total == pytest.approx(sum(len(model.answers(i)) for i in model.items()))


def test_majority_vote() -> None:
    assert majority_vote([]) is None
    assert majority_vote(["x", "y", "y"]) == "y"
    assert majority_vote(["y", "x", "x", "y"]) == "x"  # x reached two first


def test_settle_converges_the_full_model_only_when_the_stream_favours_it() -> None:
    # w4 always answers "a": a class bias that only the full reading predicts
    model = OnlineDawidSkene()
    for index in range(40):
        truth = CLASSES[index % 2]
        for worker in ("w1", "w2", "w3", "w4"):
            model.observe(f"i{index}", worker, "a" if worker == "w4" else truth)
    assert model.prefers_full()
    assert isinstance(model.settle(), list)
    assert all(math.isclose(sum(model.posterior(item).values()), 1.0) for item in model.items())
    open_model = OnlineDawidSkene(open_labels=True)
    open_model.observe("i1", "w1", "kingjames")
    assert not open_model.prefers_full()


def test_nearby_counts_leave_the_answer_out_and_decay_with_distance() -> None:
    posteriors = {"i1": {"a": 1.0}, "i2": {"a": 1.0}, "i3": {"b": 1.0}}
    counts = nearby_counts([("i1", "a"), ("i2", "a"), ("i3", "b")], posteriors, 0.5)
    assert counts[0] == {"a": {"a": 0.5}, "b": {"b": 0.25}}
    assert counts[1] == {"a": {"a": 0.5}, "b": {"b": 0.5}}


def test_time_local_model_reads_a_worker_by_their_skill_at_the_time() -> None:
    # w is right on their first 20 answers and always wrong on the last 20; the probes are
    # answered by w and, the other way, by a stranger: early w is trusted, late w is not
    arrivals = [("early", "w", "a"), ("early", "stranger", "b")]
    start = {"early": {"a": 0.5, "b": 0.5}, "late": {"a": 0.5, "b": 0.5}}
    for index in range(40):
        truth, wrong = ("a", "b") if index % 2 else ("b", "a")
        item = f"i{index}"
        start[item] = {truth: 1.0, wrong: 0.0}
        arrivals += [(item, "x1", truth), (item, "x2", truth),
                     (item, "w", truth if index < 20 else wrong)]
    arrivals += [("late", "w", "a"), ("late", "stranger", "b")]
    local = local_posteriors(arrivals, start, ["a", "b"], OnlineConfig(), 5.0)
    assert local["early"]["a"] > 0.7
    assert local["late"]["b"] > 0.7
    assert all(math.isclose(sum(p.values()), 1.0) for p in local.values())


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="sweeps"):
        OnlineConfig(sweeps=-1)
    with pytest.raises(ValueError, match="memory"):
        OnlineConfig(memory=0.0)
    with pytest.raises(ValueError, match="crowd_strength"):  # the live priors' checks still run
        OnlineConfig(crowd_strength=0.0)
