"""The simulated crowd behind the bridge, in wall-clock time.

``crowdlog crowd simulate`` steps simulated time in lock-step with the pipeline, for figures
that do not depend on the machine. The bridge instead polls its platform as it would poll
Mechanical Turk; this adapter lets it drive ``SimulatedCrowd`` that way: simulated time runs at
``speed`` simulated seconds per wall-clock second from the first HIT (or, after a restart, from
the crowd's last submission on the log). The crowd lives in memory, so a restarted bridge
hears the pipeline from the beginning again (``replays``) after taking its submissions back.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from streams.crowd.mturk import UnreadableSubmission
from streams.crowd.platform import HitRequest, PlatformRefused, Submission
from streams.world.crowd import SimulatedCrowd

_T = TypeVar("_T")


class SimulatedPlatform:
    """``CrowdPlatform`` over ``SimulatedCrowd``; its refusals are ``PlatformRefused``."""

    name = "simulated"
    replays = True

    def __init__(self, crowd: SimulatedCrowd, *, speed: float = 60.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._crowd, self._speed, self._monotonic = crowd, speed, monotonic
        self._anchor: tuple[float, datetime] | None = None
        self.calls: Counter[str] = Counter()
        self.unreadable: list[UnreadableSubmission] = []  # simulated answers are always read

    def now(self) -> datetime | None:
        """Simulated time now; None until the first HIT (or restored submission) sets it."""
        if self._anchor is None:
            return None
        wall, simulated = self._anchor
        return simulated + timedelta(seconds=(self._monotonic() - wall) * self._speed)

    def remember(self, hit: HitRequest, platform_hit_id: str, *,
                 max_assignments: int | None = None,
                 closed_at: datetime | None = None) -> None:
        """Nothing to remember: the crowd in memory is new and hears every HIT again."""

    def restore(self, submissions: Iterable[Submission]) -> None:
        self._crowd.restore(submissions)
        if self._crowd.clock is not None:
            self._anchor = (self._monotonic(), self._crowd.clock)

    def create_hit(self, hit: HitRequest) -> str:
        self._do("create_hit", lambda: self._crowd.create_hit(hit))
        if self._anchor is None:
            self._anchor = (self._monotonic(), hit.created_at)
        return hit.hit_id

    def create_additional_assignments(self, hit_id: str, number: int, *,
                                      unique_request_token: str | None = None) -> None:
        self._do("create_additional_assignments", lambda: self._crowd.create_additional_assignments(
            hit_id, number, unique_request_token=unique_request_token))

    def expire_hit(self, hit_id: str, at: datetime) -> None:
        self._do("expire_hit", lambda: self._crowd.expire_hit(hit_id, at))

    def approve_assignment(self, assignment_id: str) -> None:
        self._do("approve_assignment", lambda: self._crowd.approve_assignment(assignment_id))

    def reject_assignment(self, assignment_id: str, reason: str) -> None:
        self._do("reject_assignment",
                 lambda: self._crowd.reject_assignment(assignment_id, reason))

    def assignment_status(self, assignment_id: str) -> str:
        return self._do("assignment_status",
                        lambda: self._crowd.assignment_status(assignment_id))

    def block_worker(self, worker_id: str, reason: str, at: datetime) -> None:
        self._do("block_worker", lambda: self._crowd.block_worker(worker_id, reason, at))

    def grant_qualification(self, worker_id: str, qualification: str, at: datetime) -> None:
        self._do("grant_qualification",
                 lambda: self._crowd.grant_qualification(worker_id, qualification, at))

    def revoke_qualification(self, worker_id: str, qualification: str, reason: str,
                             at: datetime) -> None:
        self._do("revoke_qualification",
                 lambda: self._crowd.revoke_qualification(worker_id, qualification, reason,
                                                          at))

    def advance(self, until: datetime) -> list[Submission]:
        return self._do("advance", lambda: self._crowd.advance(until))

    def next_submission_at(self) -> datetime | None:
        return self._crowd.next_submission_at()

    def _do(self, operation: str, call: Callable[[], _T]) -> _T:
        self.calls[operation] += 1
        try:
            return call()
        except (KeyError, ValueError) as exc:  # an unknown HIT, athlete or assignment
            raise PlatformRefused(operation, type(exc).__name__, str(exc)) from None
