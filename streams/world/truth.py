"""Scoring against the world's truth: for demos and end-to-end tests, never for the pipeline.

The pipeline's result is a mapping from (provider ref, platform) to the handle it accepted, in
canonical form, or ``NOT_FOUND`` when it accepted that the athlete has no account there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from streams.crowd.platform import Submission
from streams.handles import PLATFORMS, InvalidHandle, normalise_handle
from streams.world.model import KINDS, World

NOT_FOUND = "not-found"


@dataclass(frozen=True, slots=True)
class Score:
    """How good the accepted answers are.

    Attributes
    ----------
    fields:
        Fields the pipeline could have answered: every platform of every athlete whose feed row
        ingest accepts (or of the athletes asked about).
    accepted, correct:
        Accepted answers, and how many of them match the truth.
    precision:
        ``correct / accepted``; NaN when nothing was accepted, so a check like
        ``precision >= 0.995`` cannot pass on an empty result.
    coverage:
        Share of ``fields`` with an accepted answer.
    wrong:
        ``(ref, platform, accepted, truth)`` for every wrong acceptance, to inspect.
    """

    fields: int
    accepted: int
    correct: int
    precision: float
    coverage: float
    wrong: tuple[tuple[str, str, str, str], ...]


@dataclass(frozen=True, slots=True)
class KindAccuracy:
    """Answers by workers of one kind, and how many were right after normalisation."""

    kind: str
    workers: int
    answers: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers if self.answers else math.nan


def true_answer(world: World, provider_ref: str, platform: str) -> str:
    """The athlete's canonical handle on ``platform``, or ``NOT_FOUND``."""
    return world.athlete(provider_ref).handles[platform] or NOT_FOUND


def worker_kind(world: World, worker_id: str) -> str:
    """``reliable``, ``sloppy``, ``spammer`` or ``confuser``."""
    return world.worker(worker_id).kind


def answer_is_correct(world: World, provider_ref: str, platform: str, raw: str | None) -> bool:
    """Whether a raw worker answer (None for "not found") means the true answer.

    Text that is no valid handle on the platform is wrong.
    """
    if raw is None:
        return true_answer(world, provider_ref, platform) == NOT_FOUND
    try:
        return normalise_handle(platform, raw) == true_answer(world, provider_ref, platform)
    except InvalidHandle:
        return False


def askable_refs(world: World) -> list[str]:
    """Athletes the pipeline learns about: those with at least one row ingest accepts."""
    return sorted({row.fields["id"] for row in world.provider_rows if row.rejection is None})


def score(world: World, accepted: Mapping[tuple[str, str], str],
          refs: Iterable[str] | None = None) -> Score:
    """Precision and coverage of ``accepted`` over ``refs`` (by default ``askable_refs``)."""
    fields = {(ref, platform) for ref in (askable_refs(world) if refs is None else refs)
              for platform in PLATFORMS}
    wrong = []
    for (ref, platform), value in sorted(accepted.items()):
        truth = true_answer(world, ref, platform)
        if value != truth:
            wrong.append((ref, platform, value, truth))
    correct = len(accepted) - len(wrong)
    return Score(
        fields=len(fields), accepted=len(accepted), correct=correct,
        precision=correct / len(accepted) if accepted else math.nan,
        coverage=len(fields & accepted.keys()) / len(fields) if fields else math.nan,
        wrong=tuple(wrong),
    )


def accuracy_by_kind(world: World, submissions: Iterable[Submission],
                     refs_by_hit: Mapping[str, str]) -> dict[str, KindAccuracy]:
    """Per worker kind, the share of raw answers that are right.

    ``refs_by_hit`` maps each HIT id to the provider ref it asked about.
    """
    workers: dict[str, set[str]] = {kind: set() for kind in KINDS}
    answers = dict.fromkeys(KINDS, 0)
    correct = dict.fromkeys(KINDS, 0)
    for submission in submissions:
        kind = worker_kind(world, submission.worker_id)
        workers[kind].add(submission.worker_id)
        ref = refs_by_hit[submission.hit_id]
        for platform, raw in submission.answers.items():
            answers[kind] += 1
            correct[kind] += answer_is_correct(world, ref, platform, raw)
    return {kind: KindAccuracy(kind, len(workers[kind]), answers[kind], correct[kind])
            for kind in KINDS}
