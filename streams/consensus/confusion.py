"""Worker models for truth inference: soft confusion counts and how to read them.

Each worker is described by soft confusion counts: how often they gave label ``g`` when the
truth was ``t``, weighted by the current belief in ``t``. Two readings of those counts are
mixed per worker, weighted by their Bayes factor (Bayesian model averaging):

* a *full* confusion matrix, each row shrunk toward the crowd's pooled confusion. It can
  express systematic biases (a worker who keeps picking the same wrong class) but has
  K(K-1) free parameters;
* a *one-coin* reading: one accuracy per worker, with errors distributed like the crowd's
  errors. It needs few answers and resists being fitted to noise.

Labels come in two regimes. Open, the consensus stage's: answers are normalised social handles
or :data:`NOT_FOUND`; workers are then described by a small *type* confusion: "the truth is a
handle" / "the truth is not-found" against "gave the true handle", "gave another handle" and
"said not-found". Closed: a fixed, small class set (the public benchmark data sets); the model
is the same, only the cells differ, and the research package (``research.consensus``) runs it.

Pure: no I/O, no Kafka; :mod:`streams.consensus.inference` builds the posterior on top.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NOT_FOUND: str = "not-found"
"""The answer a worker gives when the record has no such profile (open regime)."""

HANDLE = "<handle>"
"""Open regime: the row "the truth is a handle" and the column "gave the true handle"."""

OTHER_HANDLE = "<other-handle>"
"""Open regime: the column "gave a handle that is not the truth"."""

OPEN_LAYOUT: dict[str, tuple[str, ...]] = {
    # open regime: the columns an answer can fall in, per type of truth
    HANDLE: (HANDLE, OTHER_HANDLE, NOT_FOUND),
    NOT_FOUND: (NOT_FOUND, OTHER_HANDLE),
}
_NEGLIGIBLE = 1e-9


@dataclass(frozen=True)
class InferenceConfig:
    """Priors of the worker model: one set of defaults for every data set.

    Parameters
    ----------
    correct_prior, wrong_prior
        Beta pseudo-counts on a worker's accuracy (2 and 1: a new worker is believed right
        two times in three, the belief worth three answers). They are also the diagonal and
        off-diagonal Dirichlet pseudo-counts of the crowd's pooled confusion.
    crowd_strength
        Pseudo-answers per row with which a worker's full confusion is shrunk toward the
        crowd's pooled confusion (2: a worker's own answers dominate after a handful).
    full_model_log_odds
        Prior log-odds of the full confusion against the one-coin reading for a worker
        (-8: the full matrix is believed only once the worker's answers favour it by a Bayes
        factor of about 3,000). Its K(K-1) parameters fit anything given enough answers,
        including errors that several heavy workers make together, and then EM drifts to a
        wrong solution (on ZenCrowd_us, even started from the truth). Weaker priors (0, -3,
        -5) were measured worse on the public sets; bluebird, whose workers have real
        class biases, still moves to the full matrix.
    other_handle_chance
        Open regime: probability that a wrong handle is one particular candidate handle
        (0.25). Independent mistakes rarely coincide, but namesakes make some wrong handles
        common; at 0.25 two not-found answers still outweigh one handle from unknown workers,
        while one handle outweighs one not-found.
    """

    correct_prior: float = 2.0
    wrong_prior: float = 1.0
    crowd_strength: float = 2.0
    full_model_log_odds: float = -8.0
    other_handle_chance: float = 0.25

    def __post_init__(self) -> None:
        for name in ("correct_prior", "wrong_prior", "crowd_strength"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if not 0 < self.other_handle_chance <= 1:
            raise ValueError("other_handle_chance must be in (0, 1]")


DEFAULT = InferenceConfig()


def answer_cell(true: str, given: str, *, open_labels: bool) -> tuple[str, str]:
    """The (row, column) of the confusion counts that answer ``given`` falls in if ``true`` holds.

    In both regimes the answer is correct exactly when row equals column.

    >>> answer_cell("kingjames", "kingjames", open_labels=True)
    ('<handle>', '<handle>')
    >>> answer_cell("kingjames", NOT_FOUND, open_labels=True)
    ('<handle>', 'not-found')
    >>> answer_cell("2", "1", open_labels=False)
    ('2', '1')
    """
    if not open_labels:
        return true, given
    row = NOT_FOUND if true == NOT_FOUND else HANDLE
    if given == NOT_FOUND:
        return row, NOT_FOUND
    return row, HANDLE if given == true else OTHER_HANDLE


@dataclass
class WorkerModel:
    """Sufficient statistics of one worker: soft confusion counts ``counts[row][column]``.

    Mutable and cheap to copy; an answer is added with the item's posterior over true labels
    and removed again (``weight=-1``) with the same posterior when the item is re-inferred.
    """

    open_labels: bool = False
    counts: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, given: str, posterior: Mapping[str, float], weight: float = 1.0) -> None:
        """Add (``weight=+1``) or remove (``weight=-1``) one answer's soft contribution."""
        for true, belief in posterior.items():
            if belief == 0.0:
                continue
            row, col = answer_cell(true, given, open_labels=self.open_labels)
            cells = self.counts.setdefault(row, {})
            value = cells.get(col, 0.0) + weight * belief
            if abs(value) < _NEGLIGIBLE:
                cells.pop(col, None)
                if not cells:
                    del self.counts[row]
            else:
                cells[col] = value

    def correct(self) -> float:
        """Soft number of answers that matched the truth."""
        return sum(cells.get(row, 0.0) for row, cells in self.counts.items())

    def answers(self) -> float:
        """Total soft weight of the answers seen."""
        return sum(sum(cells.values()) for cells in self.counts.values())

    def accuracy(self, config: InferenceConfig = DEFAULT) -> tuple[float, float]:
        """Posterior mean and standard deviation of P(an answer is correct), Beta-distributed."""
        right = config.correct_prior + max(self.correct(), 0.0)
        wrong = config.wrong_prior + max(self.answers() - self.correct(), 0.0)
        total = right + wrong
        mean = right / total
        return mean, math.sqrt(right * wrong / (total * total * (total + 1.0)))

    def copy(self) -> WorkerModel:
        """An independent copy (the counts are not shared)."""
        return WorkerModel(self.open_labels, {row: dict(c) for row, c in self.counts.items()})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form, read back by :meth:`from_dict`."""
        return {"open_labels": self.open_labels, "counts": self.copy().counts}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkerModel:
        """The model that :meth:`to_dict` described."""
        counts = {
            str(row): {str(col): float(value) for col, value in cells.items()}
            for row, cells in data.get("counts", {}).items()
        }
        return cls(bool(data.get("open_labels", False)), counts)


class CrowdShape:
    """Crowd-level quantities shared by every worker in one posterior computation.

    ``layout`` maps each row (true label or type) to the columns an answer can fall in.
    """

    def __init__(
        self, crowd: WorkerModel, layout: Mapping[str, Sequence[str]], config: InferenceConfig
    ) -> None:
        self.layout = layout
        self.config = config
        a, b = config.correct_prior, config.wrong_prior
        self.pooled: dict[str, dict[str, float]] = {}
        self.errors: dict[str, dict[str, float]] = {}
        for row, cols in layout.items():
            cells = crowd.counts.get(row, {})
            seen = {col: max(cells.get(col, 0.0), 0.0) for col in cols}
            pooled = {col: seen[col] + (a if col == row else b) for col in cols}
            total = sum(pooled.values())
            self.pooled[row] = {col: value / total for col, value in pooled.items()}
            wrong = {col: seen[col] + b for col in cols if col != row}
            total_wrong = sum(wrong.values())
            self.errors[row] = {col: value / total_wrong for col, value in wrong.items()}

    def confusion(self, worker: WorkerModel) -> dict[str, dict[str, float]]:
        """P(column | row) for ``worker``: full and one-coin readings mixed by Bayes factor."""
        full, coin, weight = self.readings(worker)
        return {
            row: {col: weight * value + (1.0 - weight) * coin[row][col]
                  for col, value in full_row.items()}
            for row, full_row in full.items()
        }

    def readings(self, worker: WorkerModel) -> tuple[
            dict[str, dict[str, float]], dict[str, dict[str, float]], float]:
        """The full and one-coin confusions of ``worker`` and the posterior weight of the full.

        Kept apart so that a model can also weigh the readings separately (the research
        model scores each one's prediction of the next answer) as well as mix them.
        """
        config = self.config
        a, b, strength = config.correct_prior, config.wrong_prior, config.crowd_strength
        full: dict[str, dict[str, float]] = {}
        right = wrong = evidence_full = evidence_errors = 0.0
        for row, cols in self.layout.items():
            cells = worker.counts.get(row, {})
            seen = {col: max(cells.get(col, 0.0), 0.0) for col in cols}
            row_total = sum(seen.values())
            evidence_full += math.lgamma(strength) - math.lgamma(strength + row_total)
            full_row = {}
            for col, count in seen.items():
                prior = strength * self.pooled[row][col]
                evidence_full += math.lgamma(prior + count) - math.lgamma(prior)
                full_row[col] = (count + prior) / (row_total + strength)
                if col == row:
                    right += count
                else:
                    wrong += count
                    evidence_errors += count * math.log(self.errors[row][col])
            full[row] = full_row
        evidence_coin = _log_beta(a + right, b + wrong) - _log_beta(a, b) + evidence_errors
        weight = _sigmoid(evidence_full - evidence_coin + config.full_model_log_odds)
        accuracy = (right + a) / (right + wrong + a + b)
        coin = {
            row: {col: accuracy if col == row else (1.0 - accuracy) * self.errors[row][col]
                  for col in cols}
            for row, cols in self.layout.items()
        }
        return full, coin, weight


def normalised(scores: Mapping[str, float]) -> dict[str, float]:
    """Probabilities from log-scores."""
    top = max(scores.values())
    weights = {label: math.exp(score - top) for label, score in scores.items()}
    total = sum(weights.values())
    return {label: value / total for label, value in weights.items()}


def _log_beta(x: float, y: float) -> float:
    return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


