"""How good the online models are: against each other, and against a batch fit in hindsight.

Outcomes stream through a ``PageViewsModel`` in ``partner_schedule`` order, and every error
is progressive (the model predicts an outcome before it learns it), so the online numbers are
out-of-sample by construction. The batch reference is ridge regression solved exactly with
numpy on the same features, one-hot and standardised as the linear pipeline sees them, in the
same log space. It is the optimum the online linear model can at best approach, independent
of learning rates and epochs; re-running a River pipeline over shuffled data would measure
the optimiser as much as the model. It is scored by k-fold cross-validation with the folds
split by athlete, so it is never tested on an athlete whose other posts it learned.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.handles import PLATFORMS
from streams.prediction.features import ProfileFacts, athlete_features
from streams.prediction.learners import DEFAULT_MODEL, MODELS, PageViewsModel
from streams.world.model import Athlete, Profile, World
from streams.world.outcomes import observe_page_views, partner_schedule

Features = dict[str, float | str]
Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One partnered post: whose, what the model may see, and the page views it got."""

    ref: str
    features: Features
    views: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """Online against batch on one world. Errors are MAE of ``log1p(views)`` unless ``raw``.

    ``online_log_mae`` covers the whole stream, learning included; ``final_log_mae`` the last
    ``window`` outcomes, i.e. the model as it stands at the end of the stream; ``ratio`` is
    ``final_log_mae / batch_log_mae`` (1.15 means 15% worse than batch). ``curve`` is the
    online error per consecutive window of ``window`` outcomes (the last may be shorter).
    ``top_overlap`` counts the true top 20 athletes in the final model's top 20, and
    ``seconds`` is the time the online stream took.
    """

    model: str
    outcomes: int
    window: int
    online_log_mae: float
    final_log_mae: float
    batch_log_mae: float
    online_raw_mae: float
    final_raw_mae: float
    batch_raw_mae: float
    ratio: float
    curve: tuple[float, ...]
    top_overlap: int
    seconds: float


def profile_facts(profile: Profile | None) -> ProfileFacts | None:
    """The facts of a world profile, as an enrichment stage would have fetched them."""
    if profile is None:
        return None
    return ProfileFacts(platform=profile.platform, followers=profile.followers,
                        following=profile.following, posts=profile.posts,
                        avg_engagement=profile.avg_engagement, verified=profile.verified,
                        category=profile.category)


def true_features(world: World, athlete: Athlete) -> Features:
    """Features of ``athlete`` from their true profiles (enrichment without mistakes)."""
    profiles = {p: profile_facts(world.profile(athlete.ref, p)) for p in PLATFORMS}
    return athlete_features(profiles, athlete.sport, athlete.league, athlete.country)


def outcome_stream(world: World, *, posts_per_athlete: int, seed: int) -> list[Outcome]:
    """Every partnered post's outcome, in the order the schedule delivers them."""
    features = {a.ref: true_features(world, a) for a in world.athletes}
    return [Outcome(ref, features[ref], observe_page_views(world.athlete(ref), number, seed))
            for ref, number in partner_schedule(world, posts_per_athlete=posts_per_athlete,
                                                seed=seed)]


def compare_online_and_batch(world: World, model_name: str = DEFAULT_MODEL, *,
                             posts_per_athlete: int = 3, seed: int = 1, window: int = 500,
                             folds: int = 5, alpha: float = 1.0) -> Comparison:
    """Stream the world's outcomes through the online model, then fit and score the batch one.

    ``alpha`` is the ridge penalty on standardised features; at a few thousand outcomes it
    barely matters (0.1 to 10 moved the batch error by under 1%).
    """
    outcomes = outcome_stream(world, posts_per_athlete=posts_per_athlete, seed=seed)
    model = PageViewsModel(model_name)
    started = time.perf_counter()
    log_errors, raw_errors = _progressive_errors(model, outcomes)
    seconds = time.perf_counter() - started
    batch_log_mae, batch_raw_mae = ridge_cross_validation(outcomes, folds=folds, alpha=alpha,
                                                          seed=seed)
    final_log_mae = _mean(log_errors[-window:])
    ranking = {a.ref: model.predict(true_features(world, a)).mean for a in world.athletes}
    return Comparison(
        model=model_name, outcomes=len(outcomes), window=window,
        online_log_mae=model.metrics()["log_mae"], final_log_mae=final_log_mae,
        batch_log_mae=batch_log_mae, online_raw_mae=model.metrics()["mae"],
        final_raw_mae=_mean(raw_errors[-window:]), batch_raw_mae=batch_raw_mae,
        ratio=final_log_mae / batch_log_mae,
        curve=tuple(_mean(log_errors[i:i + window]) for i in range(0, len(log_errors), window)),
        top_overlap=top_overlap(ranking, world), seconds=seconds)


def compare_models(world: World, names: Sequence[str] = tuple(MODELS), *,
                   posts_per_athlete: int = 3, seed: int = 1) -> dict[str, dict[str, float]]:
    """Each model's progressive metrics (``PageViewsModel.metrics``) at the end of the stream.

    Every model sees the same outcomes in the same order; ``seconds`` is added to each.
    """
    outcomes = outcome_stream(world, posts_per_athlete=posts_per_athlete, seed=seed)
    results = {}
    for name in names:
        model = PageViewsModel(name)
        started = time.perf_counter()
        for outcome in outcomes:
            model.learn(outcome.features, outcome.views)
        results[name] = model.metrics() | {"seconds": time.perf_counter() - started}
    return results


def _progressive_errors(model: PageViewsModel,
                        outcomes: Sequence[Outcome]) -> tuple[list[float], list[float]]:
    """Each outcome's log-scale and raw error, as the model's own running MAEs scored it.

    The errors are read back from the running sums (MAE times count) rather than recomputed,
    so the curve is exactly the metric a stage reports.
    """
    log_errors, raw_errors = [], []
    log_total = raw_total = 0.0
    for outcome in outcomes:
        model.learn(outcome.features, outcome.views)
        scores = model.metrics()
        log_errors.append(scores["log_mae"] * scores["count"] - log_total)
        raw_errors.append(scores["mae"] * scores["count"] - raw_total)
        log_total += log_errors[-1]
        raw_total += raw_errors[-1]
    return log_errors, raw_errors


def top_overlap(predicted: Mapping[str, float], world: World, n: int = 20) -> int:
    """How many of the true top ``n`` athletes (by page views per post) ``predicted`` ranks
    in its own top ``n``. Ties go to the smaller ref, so the count is deterministic."""
    def top(scores: Mapping[str, float]) -> set[str]:
        return {ref for _, ref in sorted((-score, ref) for ref, score in scores.items())[:n]}
    truth = {a.ref: a.page_views_per_post for a in world.athletes}
    return len(top(truth) & top(predicted))


def ridge_cross_validation(outcomes: Sequence[Outcome], *, folds: int, alpha: float,
                           seed: int) -> tuple[float, float]:
    """Log-scale and raw MAE of ridge regression, k-fold cross-validated by athlete.

    Each fold is encoded and standardised with statistics of its training part only. The
    raw-scale prediction is the log-normal mean ``expm1(z + s**2 / 2)`` with ``s`` the
    training residuals' spread, as ``PageViewsModel`` predicts a mean.
    """
    refs = sorted({o.ref for o in outcomes})
    random.Random(f"crowdlog-folds|{seed}").shuffle(refs)
    fold_of = {ref: i % folds for i, ref in enumerate(refs)}
    log_errors: list[float] = []
    raw_errors: list[float] = []
    for fold in range(folds):
        train = [o for o in outcomes if fold_of[o.ref] != fold]
        test = [o for o in outcomes if fold_of[o.ref] == fold]
        encoder = _Encoder([o.features for o in train])
        x, y = encoder.encode([o.features for o in train]), _log_views(train)
        penalty = alpha * np.eye(x.shape[1])
        penalty[0, 0] = 0.0  # no penalty on the intercept
        weights = np.linalg.solve(x.T @ x + penalty, x.T @ y)
        spread = float(np.mean((y - x @ weights) ** 2))
        guess = encoder.encode([o.features for o in test]) @ weights
        log_errors.extend(np.abs(_log_views(test) - guess).tolist())
        views = np.array([o.views for o in test])
        raw_errors.extend(np.abs(views - np.expm1(guess + spread / 2.0)).tolist())
    return _mean(log_errors), _mean(raw_errors)


class _Encoder:
    """One-hot categories and standardised numbers, as the linear River pipeline sees them."""

    def __init__(self, rows: Sequence[Features]) -> None:
        first = rows[0]
        self.numbers = [k for k, v in first.items() if not isinstance(v, str)]
        categories = sorted({(k, v) for row in rows for k, v in row.items()
                             if isinstance(v, str)})
        self.columns = {pair: i for i, pair in enumerate(categories)}
        raw = self._numbers(rows)
        self.centre = raw.mean(axis=0)
        self.scale = np.where(raw.std(axis=0) > 0.0, raw.std(axis=0), 1.0)

    def encode(self, rows: Sequence[Features]) -> Matrix:
        """Intercept, standardised numbers, then one column per known (feature, category)."""
        one_hot = np.zeros((len(rows), len(self.columns)))
        for i, row in enumerate(rows):
            for k, v in row.items():
                column = self.columns.get((k, v)) if isinstance(v, str) else None
                if column is not None:
                    one_hot[i, column] = 1.0
        numbers = (self._numbers(rows) - self.centre) / self.scale
        return np.hstack([np.ones((len(rows), 1)), numbers, one_hot])

    def _numbers(self, rows: Sequence[Features]) -> Matrix:
        return np.array([[float(row[k]) for k in self.numbers] for row in rows])


def _log_views(outcomes: Sequence[Outcome]) -> Matrix:
    return np.log1p(np.array([o.views for o in outcomes], dtype=np.float64))


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)
