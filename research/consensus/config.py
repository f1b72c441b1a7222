"""Hyperparameters of the online research model: the live priors plus how it settles.

The settling choices are not tuned by hand: :mod:`research.consensus.protocol` picks them
by leave-one-data-set-out over the public crowd sets, and :data:`DEFAULT` is the choice it
makes on all of them (``python -m benchmarks.crowd_accuracy`` prints both).
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.consensus.confusion import InferenceConfig


@dataclass(frozen=True)
class OnlineConfig(InferenceConfig):
    """The worker-model priors (:class:`InferenceConfig`) and how the online model settles.

    Parameters
    ----------
    class_strength
        Dirichlet pseudo-count per class of the learned class prior (1: Laplace smoothing).
    sweeps
        Sweeps of :meth:`OnlineDawidSkene.refine
        <research.consensus.online.OnlineDawidSkene.refine>` when settling with neither EM
        (1: every item re-decided once with the final worker estimates).
    full_model_margin
        How many nats per answer the full reading must predict the stream's answers better
        than the one-coin reading (each answer scored before it is absorbed) for
        :meth:`OnlineDawidSkene.settle <research.consensus.online.OnlineDawidSkene.settle>`
        to converge the full-confusion model; ``inf``: never, ``-inf``: always. A setting
        of the protocol (0.1 on all 14 public sets, and in 13 of the 14 leave-one-out folds).
    one_coin_em
        When the full reading is not trusted, converge the one-coin reading (batch EM, every
        worker one accuracy) instead of re-applying the online estimates. A setting of the
        protocol.
    iterations
        Batch EM iterations of ``settle`` (30: the public sets stop changing after about 20).
    memory
        E-folding distance, in a worker's own answers, of the time-local worker model that
        ``settle`` blends in (see :mod:`research.consensus.drift`); ``None``: no blend. A
        setting of the protocol.
    local_iterations
        EM iterations of the time-local model, started from the posteriors taken at the
        time (3: it is meant to stay near the at-the-time decisions, not to converge).
    empirical_bayes
        Settle with the Beta prior on worker accuracy fitted to the stream's own workers
        (:func:`research.consensus.online.fitted_accuracy_prior`) instead of
        ``correct_prior`` / ``wrong_prior``. A setting of the protocol.
    """

    class_strength: float = 1.0
    sweeps: int = 1
    full_model_margin: float = 0.1
    one_coin_em: bool = False
    iterations: int = 30
    memory: float | None = 30.0
    local_iterations: int = 3
    empirical_bayes: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.class_strength > 0:
            raise ValueError("class_strength must be positive")
        if self.memory is not None and not self.memory > 0:
            raise ValueError("memory must be positive or None")
        if min(self.sweeps, self.iterations, self.local_iterations) < 0:
            raise ValueError("sweeps and iterations must not be negative")


DEFAULT = OnlineConfig()
"""The protocol's choice on all 14 public sets: converge the full confusions at a prequential
advantage above 0.1 nats per answer, else one re-decision sweep; blend in the time-local model
(memory 30); fixed priors."""
