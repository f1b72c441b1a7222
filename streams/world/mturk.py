"""The Mechanical Turk shaped values the pipeline and the simulated crowd exchange.

Plain frozen dataclasses with MTurk's names, so a client for the real platform can produce and
accept the same values; the pipeline turns them into its ``HitPublished`` and
``AssignmentSubmitted`` events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class HitRequest:
    """A HIT as the pipeline publishes it (``HitPublished``).

    ``context`` is what the worker reads (name, sport, league, team, position, years...);
    the crowd itself finds the athlete by ``provider_ref``. Gold HITs look the same to workers.
    """

    hit_id: str
    provider_ref: str
    title: str
    question: str
    context: Mapping[str, str]
    platforms: tuple[str, ...]
    max_assignments: int
    reward_cents: int
    created_at: datetime
    lifetime_seconds: int
    gold: bool = False


@dataclass(frozen=True, slots=True)
class Submission:
    """One submitted assignment (``AssignmentSubmitted``): raw answers, None for "not found"."""

    assignment_id: str
    hit_id: str
    worker_id: str
    answers: Mapping[str, str | None]
    accepted_at: datetime
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class CrowdStats:
    """Totals so far; ``pending`` counts accepted assignments not yet submitted."""

    hits: int
    pending: int
    submitted: int
    approved: int
    rejected: int
    blocked_workers: int
    paid_cents: int
    submitted_by_kind: Mapping[str, int]
