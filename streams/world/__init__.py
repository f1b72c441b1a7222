"""The simulated world: athletes and their accounts, a provider feed, and a paid crowd.

The world is the ground truth the pipeline never sees. It produces the files the pipeline may
read (the feed and the gold set), and it plays the crowd: ``SimulatedCrowd`` answers HITs the
way Mechanical Turk workers of four kinds would. ``truth`` scores the pipeline's results.
"""

from streams.crowd.platform import CrowdStats, HitRequest, Submission
from streams.world.crowd import SimulatedCrowd
from streams.world.files import load_world, write_world
from streams.world.generate import generate_world
from streams.world.model import (
    Athlete,
    GoldAnswer,
    Profile,
    ProviderRow,
    Worker,
    World,
    WorldConfig,
)
from streams.world.truth import (
    NOT_FOUND,
    KindAccuracy,
    Score,
    accuracy_by_kind,
    answer_is_correct,
    askable_refs,
    score,
    true_answer,
    worker_kind,
)

__all__ = [
    "NOT_FOUND",
    "Athlete",
    "CrowdStats",
    "GoldAnswer",
    "HitRequest",
    "KindAccuracy",
    "Profile",
    "ProviderRow",
    "Score",
    "SimulatedCrowd",
    "Submission",
    "Worker",
    "World",
    "WorldConfig",
    "accuracy_by_kind",
    "answer_is_correct",
    "askable_refs",
    "generate_world",
    "load_world",
    "score",
    "true_answer",
    "worker_kind",
    "write_world",
]
