"""Subtype mixture (EBCC, Li, Rubinstein & Cohn, ICML 2019): workers whose errors are correlated.

Dawid-Skene assumes workers err independently given the true class. On the ZenCrowd sets they
do not: some items of one class look like the other to several workers at once, and maximum
likelihood then moves the heavy workers' confusions until the shared mistakes look like the
truth (on ZenCrowd_us the converged full model has 308 nats more likelihood than the workers'
true confusions, and 9 points less accuracy). Here each true class has ``subtypes`` hidden
subtypes ("clear cases", "cases that look like class b", ...), each worker has one confusion per
(class, subtype), and items choose a subtype, so errors that arrive together are explained by
the item, not by making the workers worse. Mean-field variational Bayes, with Dirichlet priors
on everything.

A batch method (every answer at once, answers in memory as arrays), kept in the research
package as a measured reference beside Crowd-Kit's methods
(``python -m benchmarks.crowd_accuracy`` prints its column): it meets the best batch method on
the three ZenCrowd sets, where the online model misses, and misses on bluebird, web and face,
where the online model meets it. Deterministic: a fixed seed breaks the subtypes' symmetry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.special import digamma

Array = NDArray[np.float64]


def subtype_posteriors(
    answers: Sequence[tuple[str, str, str]],
    *,
    subtypes: int = 5,
    diagonal: float = 4.0,
    off_diagonal: float = 1.0,
    subtype_concentration: float = 0.1,
    class_concentration: float = 1.0,
    seed: int = 1234,
    max_iterations: int = 500,
    tolerance: float = 1e-4,
) -> dict[str, dict[str, float]]:
    """Each item's posterior over the classes answered, from ``(item, worker, label)`` answers.

    A repeated (item, worker) pair keeps the later answer, as in every method measured here.

    Parameters
    ----------
    subtypes
        Hidden subtypes per class (5; 1 is variational Dawid-Skene with these priors).
    diagonal, off_diagonal
        Dirichlet pseudo-counts of each confusion row: right and each wrong label (4 and 1,
        the published defaults: a worker is believed better than chance).
    subtype_concentration
        Total Dirichlet pseudo-count of a class's subtype weights (0.1: few subtypes used).
    class_concentration
        Dirichlet pseudo-count per class of the class prior.
    seed
        Seeds the random split of each item's belief among the subtypes.
    max_iterations, tolerance
        Stop when no item's class posterior moves by more than ``tolerance``.

    >>> answers = [(f"t{i}", w, "a" if i % 3 else "b") for i in range(12)
    ...            for w in ("ann", "bob", "cy")] + [("t0", "dan", "a")]
    >>> posteriors = subtype_posteriors(answers, subtypes=2)
    >>> max(posteriors["t0"], key=posteriors["t0"].get), round(sum(posteriors["t1"].values()), 6)
    ('b', 1.0)
    """
    latest = {(item, worker): label for item, worker, label in answers}
    if not latest:
        return {}
    items = list(dict.fromkeys(item for item, _ in latest))
    workers = list(dict.fromkeys(worker for _, worker in latest))
    labels = sorted(set(latest.values()))
    item_index = {item: index for index, item in enumerate(items)}
    worker_index = {worker: index for index, worker in enumerate(workers)}
    label_index = {label: index for index, label in enumerate(labels)}
    on_item = np.array([item_index[item] for item, _ in latest])
    by_worker = np.array([worker_index[worker] for _, worker in latest])
    given = np.array([label_index[label] for label in latest.values()])
    classes = len(labels)
    prior = np.full((classes, classes), off_diagonal) + np.eye(classes) * (diagonal - off_diagonal)

    belief = np.zeros((len(items), classes))
    np.add.at(belief, (on_item, given), 1.0)
    belief /= belief.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    joint: Array = rng.dirichlet(np.ones(subtypes), belief.shape) * belief[:, :, None]
    for _ in range(max_iterations):
        subtype_weights = subtype_concentration / subtypes + joint.sum(axis=0)
        class_weights = class_concentration + joint.sum(axis=(0, 2))
        confusion = np.broadcast_to(prior[None, :, None, :],
                                    (len(workers), classes, subtypes, classes)).copy()
        for label in range(classes):
            chosen = given == label
            np.add.at(confusion[:, :, :, label], by_worker[chosen], joint[on_item[chosen]])
        scores = np.zeros_like(joint)
        scores += _expected_log(subtype_weights)[None]
        scores += _expected_log(class_weights)[None, :, None]
        np.add.at(scores, on_item, _expected_log(confusion)[by_worker, :, :, given])
        scores -= scores.reshape(len(items), -1).max(axis=1)[:, None, None]
        joint = np.exp(scores)
        joint /= joint.reshape(len(items), -1).sum(axis=1)[:, None, None]
        previous, belief = belief, joint.sum(axis=2)
        if np.abs(belief - previous).max() <= tolerance:
            break
    return {item: {label: float(belief[index, label_index[label]]) for label in labels}
            for item, index in item_index.items()}


def _expected_log(weights: Array) -> Array:
    """E[log p] under Dirichlet(``weights``) along the last axis."""
    result: Array = digamma(weights) - digamma(weights.sum(axis=-1, keepdims=True))
    return result
