"""The leave-one-data-set-out protocol: no set's gold ever chooses its own setting."""

import math

from benchmarks.crowd_accuracy import render
from research.consensus.config import OnlineConfig
from research.consensus.online import OnlineDawidSkene, fitted_accuracy_prior
from research.consensus.protocol import GRID, PRIORS, SetScores, choose, leave_one_out, measure_set
from streams.consensus.confusion import WorkerModel


def _scores(name: str, x: float, y: float) -> SetScores:
    return SetScores(name, {"x": 0.5, "y": 0.5}, {"x": x, "y": y}, {})


def test_held_out_choice_ignores_the_held_out_set() -> None:
    bar = {"a": 0.8, "b": 0.8, "c": 0.8}
    others = [_scores("a", 0.81, 0.79), _scores("b", 0.82, 0.80)]
    for held_out in (_scores("c", 0.1, 1.0), _scores("c", 1.0, 0.1)):
        assert leave_one_out([*others, held_out], bar)["c"] == "x"
    # in-sample, the same set's gold can swing the choice: the gap the protocol reports
    assert choose([*others, _scores("c", 0.1, 1.0)], bar) == "y"


def test_choice_uses_the_margin_over_each_sets_own_bar() -> None:
    # x is better on the easy set by more accuracy, y beats the bar on both sets
    easy, hard = _scores("easy", 0.99, 0.96), _scores("hard", 0.60, 0.65)
    assert choose([easy, hard], {"easy": 0.95, "hard": 0.62}) == "y"


def test_ties_go_to_the_simpler_point_listed_first() -> None:
    assert choose([_scores("a", 0.9, 0.9)], {"a": 0.9}) == "x"


def test_grid_settings_are_valid_configs() -> None:
    for settings in GRID.values():
        OnlineConfig(**settings)  # type: ignore[arg-type]
    assert len(GRID) == len(set(map(str, GRID.values())))


def test_measure_set_scores_every_grid_point() -> None:
    answers = [(f"t{i}", w, "a" if (i + n) % 5 else "b") for i in range(30)
               for n, w in enumerate(("ann", "bob", "cy"))]
    truth = {f"t{i}": "a" for i in range(30)}
    scores = measure_set("toy", answers, truth)
    assert set(scores.final) == {f"{prior} {point}" for prior in PRIORS for point in GRID}
    assert set(scores.at_the_time) == set(scores.final) and set(scores.advantage) == set(PRIORS)
    assert all(0.0 <= value <= 1.0 for value in scores.final.values())
    assert min(scores.at_the_time.values()) >= 0.8


def test_fitted_prior_follows_the_crowd() -> None:
    alike = [WorkerModel(False, {"a": {"a": 9.0, "b": 1.0}})] * 30
    right, wrong = fitted_accuracy_prior(alike)
    assert math.isclose(right / (right + wrong), 0.9, abs_tol=0.02)
    varied = [WorkerModel(False, {"a": {"a": float(k), "b": float(10 - k)}}) for k in range(11)]
    right_v, wrong_v = fitted_accuracy_prior(varied * 3)
    assert right_v + wrong_v < right + wrong  # a varied crowd earns a weaker prior


def test_settle_with_empirical_bayes_and_without_blend_keeps_fitted_priors() -> None:
    model = OnlineDawidSkene(OnlineConfig(empirical_bayes=True, memory=None, one_coin_em=True,
                                          full_model_margin=math.inf))
    for index in range(20):
        for worker in ("ann", "bob", "cy"):
            model.observe(f"t{index}", worker, "a" if worker != "cy" or index % 2 else "b")
    model.settle()
    assert (model.config.correct_prior, model.config.wrong_prior) != (2.0, 1.0)
    assert all(model.decision(f"t{index}") is not None for index in range(20))
    assert model.decision("t0")[0] == "a"  # type: ignore[index]


def test_benchmark_table_reports_leave_one_out_beside_in_sample() -> None:
    reference = {"crowd_kit": "1.4.2", "methods": {"DawidSkene": {}, "GLAD": {}}, "sets": {
        name: {"DawidSkene": {"accuracy": 0.8}, "GLAD": {"accuracy": 0.7}}
        for name in ("a", "b", "c")}}
    scores = [_scores("a", 0.81, 0.79), _scores("b", 0.82, 0.80), _scores("c", 0.1, 1.0)]
    text = render(scores, reference)
    row = next(line for line in text.splitlines() if line.startswith("c "))
    # c is scored with x (chosen on a and b), in-sample with y (chosen with c's own gold)
    assert row.split()[7:10] == ["0.5000", "0.1000", "1.0000"]
    assert "on 1 of 3 data sets" in text  # a and c: each scored with the choice of the other two


def test_benchmark_counts_each_methods_sets_at_the_per_set_best() -> None:
    reference = {"crowd_kit": "1.4.2", "methods": {"DawidSkene": {}, "GLAD": {}}, "sets": {
        "a": {"DawidSkene": {"accuracy": 0.8}, "GLAD": {"accuracy": 0.7}},
        "b": {"DawidSkene": {"accuracy": 0.6}, "GLAD": {"accuracy": 0.7}},
        "c": {"DawidSkene": {"accuracy": 0.8}, "GLAD": {"accuracy": 0.8}}}}
    scores = [_scores("a", 0.81, 0.79), _scores("b", 0.82, 0.80), _scores("c", 0.1, 1.0)]
    text = render(scores, reference)
    assert "  DawidSkene: 2 of 3" in text and "  GLAD: 2 of 3" in text
    # only b meets its bar when scored with the point chosen on the other two sets
    assert "  ours, leave-one-out: 1 of 3" in text
    assert "  ours, at the time (LOO prior): 0 of 3" in text
