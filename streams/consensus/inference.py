"""Dawid-Skene truth inference for the consensus stage: an item's posterior from its answers.

The worker models and their priors live in :mod:`streams.consensus.confusion`; this module
turns them into an item's posterior (:func:`item_posterior`). Pure and deterministic: no I/O,
no Kafka, no randomness; the streaming stage owns the state and the events. The online
research model that learns the workers from the answers alone (``research.consensus``) builds
on the same posterior.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from streams.consensus.confusion import (
    DEFAULT,
    NOT_FOUND,
    OPEN_LAYOUT,
    OTHER_HANDLE,
    CrowdShape,
    InferenceConfig,
    WorkerModel,
    answer_cell,
    normalised,
)

__all__ = [
    "DEFAULT",
    "NOT_FOUND",
    "InferenceConfig",
    "WorkerModel",
    "item_posterior",
]


def item_posterior(
    answers: Sequence[tuple[str, str]],
    workers: Mapping[str, WorkerModel],
    *,
    open_labels: bool,
    classes: Sequence[str] = (),
    log_prior: Callable[[str], float] | None = None,
    config: InferenceConfig = DEFAULT,
    crowd: WorkerModel | None = None,
    extra_candidates: Sequence[str] = (),
) -> dict[str, float]:
    """The posterior over an item's true label given its answers and the worker models.

    Parameters
    ----------
    answers
        ``(worker_id, label)`` pairs. A worker missing from ``workers`` is a fresh
        :class:`WorkerModel`: the prior.
    open_labels
        Open regime: the candidates are the distinct answers. Closed regime: the candidates
        are ``classes`` plus any other label answered.
    log_prior
        The log prior weight of a candidate; ``None``: every candidate equally likely.
    crowd
        The crowd's pooled counts (the sum of all workers), which shape the priors of the
        worker models; ``None`` means no pooled evidence yet.
    extra_candidates
        Labels to weigh although no answer gave them. In the open regime a label nobody
        answered stands for "a handle no worker found": without it, answers that all say
        ``not-found`` would be certain by construction, having no alternative.

    Returns
    -------
    dict
        Probability per candidate, summing to 1; empty when there is no candidate.

    >>> item_posterior([("ann", "kingjames"), ("bob", "kingjames")], {}, open_labels=True)
    {'kingjames': 1.0}
    """
    candidates = list(dict.fromkeys([] if open_labels else classes))
    candidates.extend(label for _, label in answers if label not in candidates)
    if not candidates:
        return {}
    candidates.extend(label for label in extra_candidates if label not in candidates)
    layout: Mapping[str, Sequence[str]] = (
        OPEN_LAYOUT if open_labels else {label: candidates for label in candidates}
    )
    shape = CrowdShape(crowd or WorkerModel(open_labels), layout, config)
    scores = {label: log_prior(label) if log_prior else 0.0 for label in candidates}
    confusions: dict[str, dict[str, dict[str, float]]] = {}
    for worker, given in answers:
        if worker not in confusions:
            confusions[worker] = shape.confusion(workers.get(worker) or WorkerModel(open_labels))
        confusion = confusions[worker]
        for true in candidates:
            row, col = answer_cell(true, given, open_labels=open_labels)
            chance = config.other_handle_chance if col == OTHER_HANDLE else 1.0
            scores[true] += math.log(confusion[row][col] * chance)
    return normalised(scores)
