"""Online models of page views per post, and the wrapper the prediction stage runs.

Every registered model learns ``log1p(page views)`` from ``features.athlete_features``: in
log space the noise of one post is symmetric and of the same size for stars and unknowns, so a
squared loss treats them alike and a residual spread turns into a multiplicative interval.
``PageViewsModel`` owns that transform, the interval and the progressive-validation metrics,
so the registered estimators stay plain River pipelines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from river import compose, forest, linear_model, metrics, optim, preprocessing, stats

# River estimators are duck-typed pipelines (learn_one / predict_one) with no common static
# type, so the registry and the wrapper hold them as Any and nothing else does.
Estimator = Any
# River's metrics are unannotated; this typed handle keeps their Any to the two metric fields.
_MAE: Callable[[], Any] = metrics.MAE

# Before this many scored outcomes the residual quantiles mean little: claim a factor of ten.
_MIN_RESIDUALS = 30
_PRIOR_HALF_WIDTH = math.log(10.0)
# Cap on a log prediction (about 10^11 views): a diverging optimiser must not overflow exp.
_MAX_LOG = 25.0


def _linear() -> Estimator:
    """Linear regression in log space on standardised numbers and one-hot categories.

    AdaGrad gives each weight its own decaying step: the rare categories (a small sport) keep
    learning while the dense follower features settle, and no schedule needs tuning per world
    size. The target is standardised online so the intercept starts near the mean instead of
    crawling up from 0. On 2000 athletes plain SGD diverged at a learning rate of 0.03 and
    was worse than AdaGrad at every smaller rate tried; AdaGrad's best rate of 0.02, 0.03 and
    0.05 was 0.03.
    """
    numbers = compose.SelectType(float) | preprocessing.StandardScaler()
    categories = compose.SelectType(str) | preprocessing.OneHotEncoder()
    regression = linear_model.LinearRegression(optimizer=optim.AdaGrad(0.03))
    return (numbers + categories) | preprocessing.TargetStandardScaler(regression)


def _forest() -> Estimator:
    """Aggregated Mondrian forest: no feature shape assumed, at about thirteen times the cost.

    Trees need no scaling; only the sport is one-hot encoded, because the extra sparse
    columns (league, country) made the forest four times slower and measurably worse. The
    seed is fixed so that a replayed log rebuilds the same forest.
    """
    categories = compose.Select("sport") | preprocessing.OneHotEncoder()
    features = compose.TransformerUnion(compose.SelectType(float), categories)
    return features | forest.AMFRegressor(n_estimators=10, seed=1)


MODELS: dict[str, Callable[[], Estimator]] = {"linear": _linear, "forest": _forest}
# The lower progressive log-scale MAE on generate_world(WorldConfig(athletes=2000, seed=1)),
# three posts per athlete; see ``evaluate.compare_models``.
DEFAULT_MODEL = "linear"


@dataclass(frozen=True, slots=True)
class Prediction:
    """Page views of one post: the expected value and an interval of the stated coverage."""

    mean: float
    low: float
    high: float


class PageViewsModel:
    """Predicts page views per post online, scoring itself on each outcome before learning it.

    Parameters
    ----------
    name:
        A key of ``MODELS``.
    coverage:
        Share of outcomes the interval ``[low, high]`` should contain.
    window:
        Number of recent outcomes whose residuals set the interval. Recent, because the
        residuals of a model that is still learning shrink over time.

    Notes
    -----
    The interval comes from quantiles of the log residuals of predictions made before each
    outcome was learned (progressive validation), so it reflects errors on unseen outcomes,
    not the fit. ``mean`` is the log-normal mean implied by that spread, slightly above the
    median (``exp(sigma**2 / 2)``), because the expected sum of views is what a budget needs.

    The model has no file format of its own: it is saved whole, estimator, residual window
    and metrics, inside the prediction state's signed snapshot (``core.PredictionState``).

    Examples
    --------
    >>> from streams.prediction.features import ProfileFacts, athlete_features
    >>> def athlete(followers):
    ...     facts = ProfileFacts("instagram", followers, 300, 500, followers * 0.03, False, "x")
    ...     return athlete_features({"instagram": facts}, "soccer", None, "US")
    >>> model = PageViewsModel("linear")
    >>> for followers, views in [(2_000, 60.0), (50_000, 500.0), (900_000, 6_000.0)] * 60:
    ...     _ = model.learn(athlete(followers), views)
    >>> model.metrics()["count"]
    180.0
    >>> p = model.predict(athlete(50_000))
    >>> p.low < 500 < p.high and p.low < p.mean < p.high
    True
    """

    def __init__(self, name: str, *, coverage: float = 0.8, window: int = 500) -> None:
        if name not in MODELS:
            raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
        if not 0.0 < coverage < 1.0:
            raise ValueError("coverage must be between 0 and 1")
        self.name = name
        self.coverage = coverage
        # Half the interval, in standard deviations of normal residuals (1.28 for 80%).
        self._z = NormalDist().inv_cdf((1.0 + coverage) / 2.0)
        self._estimator = MODELS[name]()
        tail = (1.0 - coverage) / 2.0
        self._low = stats.RollingQuantile(tail, window)
        self._high = stats.RollingQuantile(1.0 - tail, window)
        self._log_mean = stats.Mean()
        self._mae = _MAE()
        self._log_mae = _MAE()
        self._hits = stats.Mean()

    def predict(self, features: Mapping[str, float | str]) -> Prediction:
        """Expected page views of one post and an interval of ``coverage``."""
        return self._predict(self._log_predict(features))

    def learn(self, features: Mapping[str, float | str], observed: float) -> Prediction:
        """Score the prediction for this outcome, then learn it; returns that prediction.

        ``observed`` must be the page views one post actually got (finite, not negative).
        """
        if not math.isfinite(observed) or observed < 0.0:
            raise ValueError(f"observed page views must be finite and >= 0, not {observed}")
        guess = self._log_predict(features)
        prediction = self._predict(guess)
        target = math.log1p(observed)
        self._mae.update(observed, prediction.mean)
        self._log_mae.update(target, guess)
        self._hits.update(1.0 if prediction.low <= observed <= prediction.high else 0.0)
        self._low.update(target - guess)
        self._high.update(target - guess)
        self._log_mean.update(target)
        self._estimator.learn_one(dict(features), target)
        return prediction

    def metrics(self) -> dict[str, float]:
        """Progressive-validation metrics over every outcome learned so far.

        ``mae`` is on page views, ``log_mae`` on ``log1p`` of them (a relative error: 0.29 is
        a typical miss of about a third), ``coverage`` the share of outcomes that fell in
        their interval, ``count`` the number of outcomes.
        """
        return {"count": float(self._log_mean.n), "mae": float(self._mae.get()),
                "log_mae": float(self._log_mae.get()), "coverage": float(self._hits.get())}

    def _log_predict(self, features: Mapping[str, float | str]) -> float:
        """The estimator's log1p prediction; the mean log so far while it has none."""
        guess = self._estimator.predict_one(dict(features))
        value = float(self._log_mean.get() if guess is None else guess)
        return min(max(value, 0.0), _MAX_LOG)

    def _predict(self, guess: float) -> Prediction:
        low_q, high_q = self._low.get(), self._high.get()
        if self._log_mean.n < _MIN_RESIDUALS or low_q is None or high_q is None:
            low_q, high_q = -_PRIOR_HALF_WIDTH, _PRIOR_HALF_WIDTH
        # Normal residuals: the interval's centre is their median, its width 2 z sigma.
        sigma = (high_q - low_q) / (2.0 * self._z)
        centre = (low_q + high_q) / 2.0
        return Prediction(mean=math.expm1(min(guess + centre + sigma**2 / 2.0, _MAX_LOG)),
                          low=max(0.0, math.expm1(guess + low_q)),
                          high=math.expm1(min(guess + high_q, _MAX_LOG)))
