"""Time-local Dawid-Skene: each answer is read with its worker's skill around that answer.

Crowd workers change over a stream: they learn the task, tire, or switch strategy. A model
whose worker estimates pool every answer applies a worker's late skill to their early
answers and vice versa; on ZenCrowd_us that made every converged model worse than the
decisions taken at the time. Here each answer is weighed with confusion counts built only
from the same worker's *other* answers, each discounted by ``exp(-distance / memory)``,
where the distance is counted in that worker's own answers. Counts before and after an
answer are accumulated by one forward and one backward pass per worker, so an EM iteration
stays linear in the number of answers.

Closed regime only; pure: no I/O. :meth:`OnlineDawidSkene.settle
<research.consensus.online.OnlineDawidSkene.settle>` blends the result with its settled
posteriors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from research.consensus.config import OnlineConfig
from streams.consensus.confusion import CrowdShape, WorkerModel, normalised

Counts = dict[str, dict[str, float]]


def local_posteriors(
    arrivals: Sequence[tuple[str, str, str]],
    start: Mapping[str, Mapping[str, float]],
    classes: Sequence[str],
    config: OnlineConfig,
    memory: float,
) -> dict[str, dict[str, float]]:
    """Item posteriors after ``config.local_iterations`` EM iterations of time-local DS.

    Parameters
    ----------
    arrivals
        ``(item, worker, label)`` answers that count, in arrival order.
    start
        The posteriors EM starts from, by item; every item of ``arrivals`` must have one.
    classes
        The closed class set.
    memory
        E-folding distance of the discount, in the worker's own answers.

    Returns
    -------
    dict
        Probability per class, by item of ``start``.
    """
    decay = math.exp(-1.0 / memory)
    by_worker: dict[str, list[tuple[str, str]]] = {}
    for item, worker, label in arrivals:
        by_worker.setdefault(worker, []).append((item, label))
    layout = {label: classes for label in classes}
    posteriors = {item: dict(posterior) for item, posterior in start.items()}
    for _ in range(config.local_iterations):
        crowd = WorkerModel(False)
        class_counts = dict.fromkeys(classes, config.class_strength)
        for item, _, label in arrivals:
            crowd.add(label, posteriors[item])
        for posterior in posteriors.values():
            for label, belief in posterior.items():
                class_counts[label] += belief
        shape = CrowdShape(crowd, layout, config)
        scores = {item: {label: math.log(class_counts[label]) for label in classes}
                  for item in posteriors}
        for answers in by_worker.values():
            for (item, given), nearby in zip(answers, nearby_counts(answers, posteriors, decay),
                                             strict=True):
                confusion = shape.confusion(WorkerModel(False, nearby))
                for true in classes:
                    scores[item][true] += math.log(confusion[true][given])
        posteriors = {item: normalised(score) for item, score in scores.items()}
    return posteriors


def nearby_counts(
    answers: Sequence[tuple[str, str]],
    posteriors: Mapping[str, Mapping[str, float]],
    decay: float,
) -> list[Counts]:
    """Per answer of one worker, the soft counts of their other answers, ``decay ** distance``.

    Leaving the answer itself out keeps an item from vouching for itself, as in the online
    model.
    """
    before = _running(answers, posteriors, decay)
    after = _running(answers[::-1], posteriors, decay)[::-1]
    merged = []
    for early, late in zip(before, after, strict=True):
        for row, cells in late.items():
            target = early.setdefault(row, {})
            for col, value in cells.items():
                target[col] = target.get(col, 0.0) + value
        merged.append(early)
    return merged


def _running(
    answers: Sequence[tuple[str, str]],
    posteriors: Mapping[str, Mapping[str, float]],
    decay: float,
) -> list[Counts]:
    """Per answer, the decayed counts of the answers before it in ``answers``."""
    running: Counts = {}
    result = []
    for item, given in answers:
        result.append({row: dict(cells) for row, cells in running.items()})
        running = {row: {col: value * decay for col, value in cells.items()}
                   for row, cells in running.items()}
        for true, belief in posteriors[item].items():
            cells = running.setdefault(true, {})
            cells[given] = cells.get(given, 0.0) + belief * decay
    return result
