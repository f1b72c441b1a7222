"""Online Dawid-Skene: the worker models learned from the answers alone, one update per answer.

The live consensus stage reads the workers' models from their graded gold answers; this model
learns them from the stream itself (incremental EM) and settles every decision at the end,
which is how it is measured on the public crowd data sets (:mod:`research.consensus.evaluate`).
It runs the live stage's worker model and posterior (:mod:`streams.consensus.confusion`,
:mod:`streams.consensus.inference`), adding a learned class prior. Pure and deterministic: no
I/O, no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial

from research.consensus.config import DEFAULT, OnlineConfig
from research.consensus.drift import local_posteriors
from streams.consensus.confusion import (
    HANDLE,
    NOT_FOUND,
    CrowdShape,
    WorkerModel,
    normalised,
)
from streams.consensus.inference import item_posterior

_FLOOR = 1e-300


def map_label(posterior: Mapping[str, float]) -> tuple[str, float] | None:
    """The most probable label and its probability; ties go to the smallest label."""
    if not posterior:
        return None
    label = min(posterior, key=lambda key: (-posterior[key], key))
    return label, posterior[label]


def top_label(posterior: Mapping[str, float]) -> str | None:
    """The most probable label alone (:func:`map_label`); ``None`` for an empty posterior."""
    decision = map_label(posterior)
    return decision[0] if decision else None


def label_type(label: str, *, open_labels: bool) -> str:
    """The key a label's prior is kept under: the label itself, or its type in the open regime.

    >>> label_type("kingjames", open_labels=True), label_type("2", open_labels=False)
    ('<handle>', '2')
    """
    if not open_labels:
        return label
    return NOT_FOUND if label == NOT_FOUND else HANDLE


def class_log_prior(class_prior: Mapping[str, float], *,
                    open_labels: bool) -> Callable[[str], float]:
    """The log prior of a candidate from weights by :func:`label_type`.

    A label missing from ``class_prior`` gets the smallest weight present; no weights at all
    make every candidate equally likely.
    """
    floor = min(class_prior.values(), default=1.0)

    def log_prior(label: str) -> float:
        return math.log(class_prior.get(label_type(label, open_labels=open_labels), floor))

    return log_prior


class OnlineDawidSkene:
    """Online (incremental-EM) Dawid-Skene: every answer updates the model once, in arrival order.

    The state is each item's answers and posterior, each worker's soft confusion counts, the
    crowd's pooled counts and the class counts. When an answer arrives, the item's previous
    soft contribution is removed from all of these, its posterior is recomputed from the other
    items' evidence (so an item never vouches for itself), and the new contribution is added
    back: one incremental E-step and M-step (Neal & Hinton 1998) per answer, linear in the
    item's answers and independent of the history's length.

    Because answers are kept, earlier items can be re-decided with the latest worker
    estimates (:meth:`redecide`), as the live stage supersedes a decision that its current
    worker estimates would now take differently. :meth:`refine` repeats that for
    ``config.sweeps`` sweeps.

    A repeated (item, worker) pair means the worker changed their mind: the later answer
    replaces the earlier one.

    >>> model = OnlineDawidSkene()
    >>> for worker in ("ann", "bob"):
    ...     _ = model.observe("task-1", worker, "cat")
    >>> _ = model.observe("task-1", "cy", "dog")
    >>> model.decision("task-1")[0]
    'cat'
    >>> sorted(model.posterior("task-1"))
    ['cat', 'dog']
    """

    def __init__(self, config: OnlineConfig = DEFAULT, *, open_labels: bool = False) -> None:
        self.config = config
        self.open_labels = open_labels
        self.repeats = 0
        self._answers: dict[str, dict[str, str]] = {}
        self._arrivals: dict[tuple[str, str], None] = {}
        self._posteriors: dict[str, dict[str, float]] = {}
        self._workers: dict[str, WorkerModel] = {}
        self._crowd = WorkerModel(open_labels)
        self._class_counts: dict[str, float] = {}
        self._classes: dict[str, None] = {}
        self._excluded: set[str] = set()
        self._loss = {"full": 0.0, "coin": 0.0}
        self._scored = 0

    def observe(self, item: str, worker: str, label: str) -> dict[str, float]:
        """Take one answer into account; the item's posterior after the update.

        Answers from an excluded worker are ignored.
        """
        if worker not in self._excluded:
            answers = self._answers.setdefault(item, {})
            if not self.open_labels and worker not in answers and label in self._classes:
                self._score(item, worker, label)
            self._retract(item)
            if worker in answers:
                self.repeats += 1
            answers[worker] = label
            if not self.open_labels:
                self._classes.setdefault(label, None)
                self._arrivals.pop((item, worker), None)
                self._arrivals[item, worker] = None
            self._infer(item)
        return self.posterior(item)

    def posterior(self, item: str) -> dict[str, float]:
        """The item's current posterior over its candidates (empty if it has no answers)."""
        return dict(self._posteriors.get(item, {}))

    def decision(self, item: str) -> tuple[str, float] | None:
        """The MAP label and its probability, ``None`` if the item has no answers."""
        return map_label(self._posteriors.get(item, {}))

    def label(self, item: str) -> str | None:
        """The MAP label alone, ``None`` if the item has no answers."""
        return top_label(self._posteriors.get(item, {}))

    def items(self) -> list[str]:
        """Items with at least one answer, in order of first answer."""
        return [item for item, answers in self._answers.items() if answers]

    def answers(self, item: str) -> dict[str, str]:
        """The item's answers that count: worker to latest label."""
        return dict(self._answers.get(item, {}))

    def redecide(self) -> list[str]:
        """One sweep: re-infer every item with the current estimates; items whose MAP changed.

        Each item is retracted and re-inferred in turn, so later items already see the
        refreshed contributions of earlier ones (a sweep of incremental EM).
        """
        changed = []
        for item in self.items():
            before = self.label(item)
            self._retract(item)
            self._infer(item)
            if self.label(item) != before:
                changed.append(item)
        return changed

    def refine(self, sweeps: int | None = None) -> list[str]:
        """Up to ``sweeps`` (default ``config.sweeps``) calls of :meth:`redecide`.

        Stops early once a sweep changes no decision. Returns the items whose decision differs
        from the one before the first sweep.
        """
        before = {item: self.label(item) for item in self.items()}
        for _ in range(self.config.sweeps if sweeps is None else sweeps):
            if not self.redecide():
                break
        return [item for item, old in before.items() if self.label(item) != old]

    def full_advantage(self) -> float:
        """Nats per answer by which the full reading predicted the stream better than one-coin.

        Every new answer was scored before it was absorbed, under the full and under the
        one-coin reading of its worker (prequential log-loss): held-out evidence from the
        stream itself, which penalises a model that fits noise without looking at any truth.
        0 in the open regime and before the first scored answer.
        """
        if self.open_labels or not self._scored:
            return 0.0
        return (self._loss["coin"] - self._loss["full"]) / self._scored

    def prefers_full(self) -> bool:
        """Whether the full reading's advantage exceeds ``config.full_model_margin``."""
        return not self.open_labels and self.full_advantage() > self.config.full_model_margin

    def settle(self) -> list[str]:
        """The final decisions: a settled model blended with a time-local one (closed regime).

        With ``config.empirical_bayes`` the Beta prior on worker accuracy is first replaced
        by the one fitted to the workers' soft counts (:func:`fitted_accuracy_prior`) and
        kept in ``self.config``. When :meth:`prefers_full`, the workers have class-specific
        biases that the stream confirmed, so ``config.iterations`` batch EM iterations with
        the full confusions (started from the online posteriors) take every answer into
        account; otherwise, with ``config.one_coin_em``, as many iterations with every
        worker read one-coin, else the online estimates are only re-applied
        (:meth:`refine`). In the closed regime, unless ``config.memory`` is ``None``, each
        posterior is then blended (geometric mean) with a time-local model
        (:mod:`research.consensus.drift`) started from the posteriors before settling:
        settled estimates pool a worker's whole history, which misleads when workers change
        over the stream, while the decisions taken at the time knew only the past. Returns
        the items whose decision changed.
        """
        before = {item: self.label(item) for item in self.items()}
        start = {item: dict(posterior) for item, posterior in self._posteriors.items()}
        if self.config.empirical_bayes and self._workers:
            right, wrong = fitted_accuracy_prior(self._workers.values())
            self.config = replace(self.config, correct_prior=right, wrong_prior=wrong)
        if self.prefers_full():
            self._converge(full=True)
        elif self.config.one_coin_em:
            self._converge(full=False)
        else:
            self.refine()
        memory = self.config.memory
        if not self.open_labels and self._arrivals and memory is not None:
            arrivals = [(item, worker, self._answers[item][worker])
                        for item, worker in self._arrivals]
            local = local_posteriors(arrivals, start, list(self._classes), self.config, memory)
            self._rebuild({item: _geometric_mean(posterior, local[item])
                           for item, posterior in self._posteriors.items()})
        return [item for item, old in before.items() if self.label(item) != old]

    def _converge(self, *, full: bool) -> None:
        """``config.iterations`` batch EM iterations, every worker read full or one-coin."""
        classes = list(self._classes)
        layout = {label: classes for label in classes}
        for _ in range(self.config.iterations):
            shape = CrowdShape(self._crowd, layout, self.config)
            confusion = {}
            for worker, model in self._workers.items():
                whole, coin, _ = shape.readings(model)
                confusion[worker] = whole if full else coin
            log_prior = {label: math.log(weight) for label, weight in self.class_prior().items()}
            posteriors = {}
            for item in self.items():
                scores = dict(log_prior)
                for worker, given in self._answers[item].items():
                    for true in classes:
                        scores[true] += math.log(confusion[worker][true][given])
                posteriors[item] = normalised(scores)
            self._rebuild(posteriors)

    def exclude_worker(self, worker: str) -> None:
        """Block a worker: their answers stop counting, now and for every later answer."""
        if worker in self._excluded:
            return
        self._excluded.add(worker)
        for item, answers in self._answers.items():
            if worker in answers:
                self._retract(item)
                del answers[worker]
                self._arrivals.pop((item, worker), None)
                self._infer(item)

    def worker(self, worker: str) -> WorkerModel:
        """A copy of the worker's current model (a fresh one if they have not answered)."""
        model = self._workers.get(worker)
        return model.copy() if model else WorkerModel(self.open_labels)

    def class_prior(self) -> dict[str, float]:
        """The learned prior weights by label type: counts plus ``class_strength``."""
        keys = dict.fromkeys(self._classes) if not self.open_labels else {
            HANDLE: None, NOT_FOUND: None}
        strength = self.config.class_strength
        return {key: max(self._class_counts.get(key, 0.0), 0.0) + strength for key in keys}

    def _score(self, item: str, worker: str, label: str) -> None:
        """Add the log-loss of predicting ``label`` from the item's posterior before it."""
        classes = list(self._classes)
        belief = self._posteriors.get(item) or normalised(
            {key: math.log(value) for key, value in self.class_prior().items()})
        shape = CrowdShape(self._crowd, {true: classes for true in classes}, self.config)
        full, coin, _ = shape.readings(self._workers.get(worker) or WorkerModel(False))
        for name, reading in (("full", full), ("coin", coin)):
            chance = sum(belief.get(true, 0.0) * reading[true][label] for true in classes)
            self._loss[name] -= math.log(chance)
        self._scored += 1

    def _rebuild(self, posteriors: dict[str, dict[str, float]]) -> None:
        """Replace every posterior and recount the workers, crowd and classes from them."""
        self._workers = {worker: WorkerModel(self.open_labels) for worker in self._workers}
        self._crowd = WorkerModel(self.open_labels)
        self._class_counts = {}
        self._posteriors = posteriors
        for item, posterior in posteriors.items():
            self._contribute(item, posterior, 1.0)

    def _retract(self, item: str) -> None:
        posterior = self._posteriors.pop(item, None)
        if posterior:
            self._contribute(item, posterior, -1.0)

    def _infer(self, item: str) -> None:
        answers = self._answers.get(item)
        if not answers:
            return
        posterior = item_posterior(
            list(answers.items()), self._workers, open_labels=self.open_labels,
            classes=list(self._classes), config=self.config, crowd=self._crowd,
            log_prior=class_log_prior(self.class_prior(), open_labels=self.open_labels),
        )
        self._posteriors[item] = posterior
        self._contribute(item, posterior, 1.0)

    def _contribute(self, item: str, posterior: Mapping[str, float], weight: float) -> None:
        for worker, label in self._answers[item].items():
            model = self._workers.setdefault(worker, WorkerModel(self.open_labels))
            model.add(label, posterior, weight)
            self._crowd.add(label, posterior, weight)
        for label, belief in posterior.items():
            key = label_type(label, open_labels=self.open_labels)
            self._class_counts[key] = self._class_counts.get(key, 0.0) + weight * belief


def fitted_accuracy_prior(workers: Iterable[WorkerModel]) -> tuple[float, float]:
    """The Beta(right, wrong) prior on worker accuracy that best explains the workers' counts.

    Empirical Bayes: the beta-binomial marginal likelihood of every worker's soft numbers
    of right and wrong answers, maximised over the prior's mean and strength (golden-section
    search on each in turn, mean in (0.01, 0.99), strength in (0.5, 1000)). A crowd of
    similar workers gets a strong prior, so a worker seen a few times is read like the
    crowd; a varied crowd gets a weak one, so their own answers speak sooner.

    >>> right, wrong = fitted_accuracy_prior(
    ...     [WorkerModel(False, {"a": {"a": 8.0, "b": 2.0}})] * 20)
    >>> round(right / (right + wrong), 2), right + wrong > 100
    (0.8, True)
    """
    counts = [(max(model.correct(), 0.0), max(model.answers() - model.correct(), 0.0))
              for model in workers]

    def log_likelihood(mean: float, log_strength: float) -> float:
        strength = math.exp(log_strength)
        a, b = mean * strength, (1.0 - mean) * strength
        base = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
        return sum(math.lgamma(a + right) + math.lgamma(b + wrong)
                   - math.lgamma(a + b + right + wrong) - base for right, wrong in counts)

    mean, log_strength = 2.0 / 3.0, math.log(3.0)
    for _ in range(4):
        mean = _golden_max(partial(_swap, log_likelihood, log_strength), 0.01, 0.99)
        log_strength = _golden_max(partial(log_likelihood, mean),
                                   math.log(0.5), math.log(1000.0))
    strength = math.exp(log_strength)
    return mean * strength, (1.0 - mean) * strength


def _swap(function: Callable[[float, float], float], second: float, first: float) -> float:
    return function(first, second)


def _golden_max(function: Callable[[float], float], low: float, high: float) -> float:
    """The argmax of a unimodal ``function`` on [low, high] (golden-section, 40 steps)."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    left, right = high - ratio * (high - low), low + ratio * (high - low)
    f_left, f_right = function(left), function(right)
    for _ in range(40):
        if f_left < f_right:
            low, left, f_left = left, right, f_right
            right = low + ratio * (high - low)
            f_right = function(right)
        else:
            high, right, f_right = right, left, f_left
            left = high - ratio * (high - low)
            f_left = function(left)
    return (low + high) / 2.0


def _geometric_mean(first: Mapping[str, float], second: Mapping[str, float]) -> dict[str, float]:
    """The normalised geometric mean of two posteriors over the same candidates.

    Probabilities that underflowed to zero are floored so that the other posterior can
    still speak for the label.
    """
    return normalised({label: 0.5 * (math.log(max(first[label], _FLOOR))
                                     + math.log(max(second[label], _FLOOR)))
                       for label in first})
