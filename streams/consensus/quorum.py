"""The fixed-quorum consensus rule ("8 of 10 workers agree"), the baseline of the Dawid-Skene one.

It looks only at the labels, never at who gave them, which is exactly why it is easy to audit
and why it wastes answers: a fixed quorum needs agreement from good and bad workers alike, so
on noisy tasks it often ends undecided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

QuorumStatus = Literal["accepted", "failed", "open"]


@dataclass(frozen=True)
class QuorumOutcome:
    """Where a fixed quorum stands after some answers.

    ``used`` is the number of answers that counted: once the outcome is settled (accepted or
    failed) later answers cannot change it and are not used.
    """

    status: QuorumStatus
    label: str | None
    used: int


def quorum_outcome(labels: Sequence[str], *, required: int, max_answers: int) -> QuorumOutcome:
    """Read the answers in order and stop as soon as the quorum's outcome is settled.

    ``accepted`` as soon as one label has ``required`` answers; ``failed`` as soon as no label
    can reach ``required`` with the answers still allowed (``max_answers`` in all); otherwise
    ``open``. Answers past ``max_answers`` never count.
    """
    if required < 1 or max_answers < 1:
        raise ValueError("required and max_answers must be at least 1")
    if required > max_answers:
        return QuorumOutcome("failed", None, 0)
    counts: dict[str, int] = {}
    best = 0
    for used, label in enumerate(labels[:max_answers], start=1):
        counts[label] = counts.get(label, 0) + 1
        best = max(best, counts[label])
        if counts[label] >= required:
            return QuorumOutcome("accepted", label, used)
        if best + (max_answers - used) < required:
            return QuorumOutcome("failed", None, used)
    return QuorumOutcome("open", None, min(len(labels), max_answers))


def quorum_decision(
    labels: Sequence[str], *, required: int, max_answers: int
) -> tuple[QuorumStatus, str | None]:
    """``("accepted", label)``, ``("failed", None)`` or ``("open", None)`` for a fixed quorum.

    ``failed`` means no label can reach ``required`` within ``max_answers`` any more: the
    outcome can no longer change.

    >>> quorum_decision(["x"] * 8 + ["y"], required=8, max_answers=10)
    ('accepted', 'x')
    >>> quorum_decision(["x", "y", "z", "w"], required=8, max_answers=10)
    ('failed', None)
    >>> quorum_decision(["x", "x"], required=8, max_answers=10)
    ('open', None)
    """
    outcome = quorum_outcome(labels, required=required, max_answers=max_answers)
    return outcome.status, outcome.label
