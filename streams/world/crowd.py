"""A simulated Mechanical Turk crowd: HITs go in, assignments come out over simulated time.

The crowd keeps a clock: the ``until`` of the last ``advance``. Workers arrive at each open HIT
one at a time (exponential gaps, shorter for better pay) and an assignment exists only from the
moment a worker accepts it. The crowd never simulates past its clock, so blocking a worker or
expiring a HIT at the clock prevents every later acceptance, as on the real platform.
``next_submission_at`` looks ahead without changing anything.

Which worker takes an arrival depends on who is blocked, who holds the HIT's qualification and
who already did the HIT at that time (and on the seed); what they answer and how long they take
depend only on the seed, the HIT id and the worker id, so they do not change with the order of
calls.

Qualification before pay, as on Mechanical Turk: a paid HIT that names a qualification is taken
only by workers granted it (``grant_qualification``), a gold HIT that names one only by workers
not granted it yet. A HIT whose arrival finds nobody eligible stops drawing workers, so a grant
re-arms every stopped HIT requiring that qualification: its arrivals start again from the grant.
A worker works on one qualification HIT at a time, as a person taking a test does: without
that, a feed that opens hundreds of gold HITs at once let every new worker accept dozens of
them before the first of their answers could be graded (4,242 gold assignments on the broker
against 602 in process). An arrival that finds the only eligible workers busy with one comes
back when the first of them is done. The look-ahead sees one HIT at a time, so with workers
busy on qualification HITs it may name a moment at which nothing is submitted after all (a
worker it counted on took another HIT first); it never names one before the clock, and every
call after an ``advance`` to it names a later one.

Times before the clock are taken as the clock: the crowd cannot change what it has already
simulated. All times must be timezone-aware.

The crowd lives in memory, but what it submitted is on the log. A crowd started again takes its
submissions back (``restore``) before it hears anything else, and goes on from the last of
them: each HIT keeps the workers who did it and draws the rest it still needs from then on.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate

from streams.crowd.platform import CrowdStats, HitRequest, Submission
from streams.handles import PLATFORMS
from streams.world.answers import answer
from streams.world.model import World

# Mean gap between workers arriving at a HIT that pays REFERENCE_REWARD_CENTS; the gap scales
# with the square root of the pay ratio. A three-platform HIT takes the worker's median time.
ARRIVAL_MEAN_SECONDS = 40.0
REFERENCE_REWARD_CENTS = 10
_MIN_WORK_SECONDS = 5.0
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(slots=True)
class _Hit:
    """A HIT's mutable state: its arrival process is a numbered sequence of segments."""

    request: HitRequest
    max_assignments: int
    expires_at: datetime
    workers: set[str] = field(default_factory=set)
    segment: int = 0
    arrivals: int = 0
    next_arrival: datetime | None = None


@dataclass(slots=True)
class _Assignment:
    submission: Submission
    status: str = "Accepted"


class SimulatedCrowd:
    """The Mechanical Turk operations the pipeline needs, answered by the world's workers."""

    def __init__(self, world: World, *, seed: int | None = None) -> None:
        """A crowd of ``world``'s workers; ``seed`` defaults to the world's own seed."""
        self._world = world
        self._seed = world.config.seed if seed is None else seed
        self._worker_ids = [w.worker_id for w in world.workers]
        self._activity = [w.activity for w in world.workers]
        self._hits: dict[str, _Hit] = {}
        self._assignments: dict[str, _Assignment] = {}
        # At most one entry per HIT: the next arrival of a running arrival process.
        self._arrivals: list[tuple[datetime, str]] = []
        self._pending: list[tuple[datetime, str, str]] = []
        self._blocks: dict[str, datetime] = {}
        self._grants: dict[str, dict[str, datetime]] = {}  # qualification -> worker -> since
        self._testing: dict[str, datetime] = {}  # worker -> end of their qualification HIT
        self._tokens: set[str] = set()
        self._clock: datetime | None = None
        self._restored: dict[str, set[str]] = {}  # HIT id -> workers, until the HIT is created

    # --- HITs -----------------------------------------------------------------------------

    def create_hit(self, hit: HitRequest) -> None:
        """Publish a HIT (CreateHIT). Publishing the same request again changes nothing."""
        _aware(hit.created_at)
        known = self._hits.get(hit.hit_id)
        if known is not None:
            if known.request != hit:
                raise ValueError(f"HIT {hit.hit_id} exists with a different request")
            return
        try:
            self._world.athlete(hit.provider_ref)
        except KeyError:
            raise KeyError(f"no athlete {hit.provider_ref!r} in the world") from None
        if not hit.platforms or any(p not in PLATFORMS for p in hit.platforms):
            raise ValueError(f"platforms must be some of {PLATFORMS}, not {hit.platforms}")
        if hit.max_assignments < 1 or hit.lifetime_seconds < 1 or hit.reward_cents < 0:
            raise ValueError("a HIT needs assignments, a lifetime and a non-negative reward")
        state = _Hit(hit, hit.max_assignments,
                     hit.created_at + timedelta(seconds=hit.lifetime_seconds),
                     workers=self._restored.pop(hit.hit_id, set()))
        self._hits[hit.hit_id] = state
        if len(state.workers) < state.max_assignments:
            self._start_arrivals(state, max(hit.created_at, self._clock or hit.created_at))

    def create_additional_assignments(self, hit_id: str, number: int, *,
                                      unique_request_token: str | None = None) -> None:
        """Ask for ``number`` more assignments (CreateAdditionalAssignmentsForHIT).

        As on MTurk, a call repeating an earlier call's ``unique_request_token`` does nothing,
        so an at-least-once caller can retry without extending the HIT twice.
        """
        if number < 1:
            raise ValueError("number must be at least 1")
        hit = self._hits[hit_id]
        if unique_request_token is not None:
            if unique_request_token in self._tokens:
                return
            self._tokens.add(unique_request_token)
        hit.max_assignments += number
        self._resume(hit)

    def expire_hit(self, hit_id: str, at: datetime) -> None:
        """Set the HIT's expiry (UpdateExpirationForHIT): nobody accepts it at or after ``at``.

        Assignments accepted before ``at`` are still submitted. A later time extends the HIT.
        """
        hit = self._hits[hit_id]
        hit.expires_at = self._not_before_clock(at)
        self._resume(hit)

    # --- assignments and workers --------------------------------------------------------------

    def approve_assignment(self, assignment_id: str) -> None:
        """Approve (and pay) a submitted assignment; also overrides an earlier rejection."""
        self._submitted(assignment_id).status = "Approved"

    def reject_assignment(self, assignment_id: str, reason: str) -> None:
        """Reject a submitted assignment (RejectAssignment); ``reason`` is shown to the worker."""
        if not reason.strip():
            raise ValueError("a rejection needs a reason")
        assignment = self._submitted(assignment_id)
        if assignment.status == "Approved":
            raise ValueError(f"assignment {assignment_id} is already approved")
        assignment.status = "Rejected"

    def block_worker(self, worker_id: str, reason: str, at: datetime) -> None:
        """Block a worker (CreateWorkerBlock): they accept nothing at or after ``at``."""
        if not reason.strip():
            raise ValueError("a block needs a reason")
        at = self._not_before_clock(at)
        self._blocks[worker_id] = min(at, self._blocks.get(worker_id, at))

    def grant_qualification(self, worker_id: str, qualification: str, at: datetime) -> None:
        """Grant a qualification (AssociateQualificationWithWorker) from ``at`` on; the HITs
        requiring it that had stopped for want of an eligible worker draw workers again."""
        at = self._not_before_clock(at)
        granted = self._grants.setdefault(qualification, {})
        granted[worker_id] = min(at, granted.get(worker_id, at))
        for hit in self._hits.values():
            if hit.request.qualification == qualification and not hit.request.gold:
                self._resume(hit, at)

    def revoke_qualification(self, worker_id: str, qualification: str, reason: str,
                             at: datetime) -> None:
        """Withdraw a qualification (DisassociateQualificationFromWorker): from then on the
        worker is offered the qualification HITs again, not the paid ones requiring it."""
        if not reason.strip():
            raise ValueError("a revocation needs a reason")
        self._not_before_clock(at)
        self._grants.get(qualification, {}).pop(worker_id, None)

    def assignment_status(self, assignment_id: str) -> str:
        """``Submitted``, ``Approved`` or ``Rejected``; KeyError before it is submitted."""
        return self._submitted(assignment_id).status

    # --- restarting -----------------------------------------------------------------------

    def restore(self, submissions: Iterable[Submission]) -> None:
        """Take back what this crowd submitted before it was restarted (read from the log).

        Without them a restarted crowd would simulate its past again, and differently (it hears
        a block or an expiry later than it did, an extension from another clock), so a HIT
        would get answers from other workers under other assignment ids on top of the ones the
        pipeline already has, and a review of a submission it has not made again could not be
        applied. Restored, every submission can be reviewed, its worker does not take its HIT
        again, and the clock moves to the last of them: HITs created from now on draw the
        workers they still need from then on. Work accepted but not submitted before the
        restart is gone, as when a worker returns an assignment; another arrival replaces it.

        Only an empty crowd can be restored: call it before anything else. A submission given
        twice counts once.
        """
        if self._hits or self._clock is not None:
            raise ValueError("only a new crowd, before its first HIT or step, can be restored")
        latest: datetime | None = None
        for submission in submissions:
            _aware(submission.submitted_at)
            self._assignments.setdefault(submission.assignment_id,
                                         _Assignment(submission, "Submitted"))
            self._restored.setdefault(submission.hit_id, set()).add(submission.worker_id)
            latest = max(latest or submission.submitted_at, submission.submitted_at)
        self._clock = latest

    @property
    def clock(self) -> datetime | None:
        """How far the crowd has simulated; None before its first step (or restore)."""
        return self._clock

    # --- time -------------------------------------------------------------------------------

    def advance(self, until: datetime) -> list[Submission]:
        """Run the crowd to ``until``; every submission made by then, in time order.

        Ties are ordered by HIT id, then assignment id. An ``until`` before the clock returns
        nothing.
        """
        _aware(until)
        if self._clock is not None and until < self._clock:
            return []
        while self._arrivals and self._arrivals[0][0] <= until:
            at, hit_id = heapq.heappop(self._arrivals)
            self._arrive(self._hits[hit_id], at)
        submitted = []
        while self._pending and self._pending[0][0] <= until:
            _, _, assignment_id = heapq.heappop(self._pending)
            assignment = self._assignments[assignment_id]
            assignment.status = "Submitted"
            submitted.append(assignment.submission)
        self._clock = until
        return submitted

    def next_submission_at(self) -> datetime | None:
        """When the next submission will happen if nothing changes; None if none will."""
        best = self._pending[0][0] if self._pending else None
        for at, hit_id in _in_order(self._arrivals):
            if best is not None and at >= best:
                break
            for accepted_at, submitted_at in self._coming(self._hits[hit_id]):
                if best is not None and accepted_at >= best:
                    break
                best = submitted_at if best is None else min(best, submitted_at)
        return best

    # --- accounting ---------------------------------------------------------------------------

    def paid_cents(self) -> int:
        """Rewards paid so far: the reward of every approved assignment."""
        return sum(self._hits[a.submission.hit_id].request.reward_cents
                   for a in self._assignments.values() if a.status == "Approved")

    def stats(self) -> CrowdStats:
        """Counts of HITs, assignments by status, blocked workers and pay."""
        statuses = [a.status for a in self._assignments.values()]
        by_kind: dict[str, int] = {}
        for a in self._assignments.values():
            if a.status != "Accepted":
                kind = self._world.worker(a.submission.worker_id).kind
                by_kind[kind] = by_kind.get(kind, 0) + 1
        return CrowdStats(
            hits=len(self._hits), pending=statuses.count("Accepted"),
            submitted=len(statuses) - statuses.count("Accepted"),
            approved=statuses.count("Approved"), rejected=statuses.count("Rejected"),
            blocked_workers=len(self._blocks), paid_cents=self.paid_cents(),
            submitted_by_kind=dict(sorted(by_kind.items())),
        )

    # --- the simulation -----------------------------------------------------------------------

    def _start_arrivals(self, hit: _Hit, at: datetime) -> None:
        hit.arrivals = 0
        hit.next_arrival = at + self._gap(hit, 0)
        heapq.heappush(self._arrivals, (hit.next_arrival, hit.request.hit_id))

    def _resume(self, hit: _Hit, at: datetime | None = None) -> None:
        """Restart a stopped arrival process, from ``at`` (default: the clock), if the HIT can
        take assignments again."""
        now = at or self._clock or hit.request.created_at
        if (hit.next_arrival is None and len(hit.workers) < hit.max_assignments
                and now < hit.expires_at):
            hit.segment += 1
            self._start_arrivals(hit, max(now, hit.request.created_at))

    def _arrive(self, hit: _Hit, at: datetime) -> None:
        """A worker arrives at ``at``: they accept, or the HIT stops drawing workers."""
        worker_id = self._taker(hit, at, hit.workers)
        if worker_id is None:
            hit.next_arrival = self._free_at(hit, at, hit.workers)
            if hit.next_arrival is not None:
                heapq.heappush(self._arrivals, (hit.next_arrival, hit.request.hit_id))
            return
        hit.workers.add(worker_id)
        submission = self._submission(hit, worker_id, at)
        if self._qualifies(hit):
            self._testing[worker_id] = submission.submitted_at
        self._assignments[submission.assignment_id] = _Assignment(submission)
        heapq.heappush(self._pending, (submission.submitted_at, hit.request.hit_id,
                                       submission.assignment_id))
        hit.arrivals += 1
        if len(hit.workers) >= hit.max_assignments:
            hit.next_arrival = None
            return
        hit.next_arrival = at + self._gap(hit, hit.arrivals)
        heapq.heappush(self._arrivals, (hit.next_arrival, hit.request.hit_id))

    def _coming(self, hit: _Hit) -> Iterator[tuple[datetime, datetime]]:
        """Acceptance and submission times of the HIT's coming assignments; changes nothing."""
        workers = set(hit.workers)
        at, arrivals = hit.next_arrival, hit.arrivals
        while at is not None and len(workers) < hit.max_assignments:
            worker_id = self._taker(hit, at, workers, arrivals)
            if worker_id is None:
                at = self._free_at(hit, at, workers)
                continue
            workers.add(worker_id)
            yield at, at + self._work_time(hit.request, worker_id)[1]
            arrivals += 1
            at += self._gap(hit, arrivals)

    def _taker(self, hit: _Hit, at: datetime, done: set[str],
               arrival: int | None = None) -> str | None:
        """The worker who accepts the arrival at ``at``, weighted by activity; None if nobody."""
        eligible = [(w, a) for w, a in self._eligible(hit, at, done)
                    if not self._qualifies(hit) or self._testing.get(w, at) <= at]
        if not eligible:
            return None
        number = hit.arrivals if arrival is None else arrival
        cumulative = list(accumulate(a for _, a in eligible))
        u = _uniform(self._seed, hit.request.hit_id, "taker", hit.segment, number)
        return eligible[min(len(eligible) - 1, bisect_right(cumulative, u * cumulative[-1]))][0]

    def _eligible(self, hit: _Hit, at: datetime,
                  done: set[str]) -> Iterator[tuple[str, float]]:
        """Workers (with their activity) who may take the HIT at ``at``, busy or not."""
        if at >= hit.expires_at:
            return
        qualification, gold = hit.request.qualification, hit.request.gold
        granted = self._grants.get(qualification, {}) if qualification else {}
        for w, a in zip(self._worker_ids, self._activity, strict=True):
            if (w not in done and (w not in self._blocks or at < self._blocks[w])
                    and (qualification is None or (w in granted and granted[w] <= at) != gold)):
                yield w, a

    def _free_at(self, hit: _Hit, at: datetime, done: set[str]) -> datetime | None:
        """When the first worker who may take the HIT but is busy on a qualification HIT is
        done with it; None if nobody is only busy (the HIT then stops drawing workers)."""
        if not self._qualifies(hit):
            return None
        busy = [self._testing[w] for w, _ in self._eligible(hit, at, done)
                if self._testing.get(w, at) > at]
        return min(busy, default=None)

    @staticmethod
    def _qualifies(hit: _Hit) -> bool:
        """A qualification HIT: gold, offered to workers without the qualification."""
        return hit.request.gold and hit.request.qualification is not None

    def _submission(self, hit: _Hit, worker_id: str, accepted_at: datetime) -> Submission:
        request = hit.request
        rng, seconds = self._work_time(request, worker_id)
        excluded = {p: request.context[f"not_{p}"] for p in request.platforms
                    if f"not_{p}" in request.context}
        answers = answer(self._world, self._world.worker(worker_id),
                         self._world.athlete(request.provider_ref), request.platforms, rng,
                         excluded=excluded)
        return Submission(
            assignment_id=_assignment_id(self._seed, request.hit_id, worker_id),
            hit_id=request.hit_id, worker_id=worker_id, answers=answers,
            accepted_at=accepted_at, submitted_at=accepted_at + seconds,
        )

    def _work_time(self, request: HitRequest, worker_id: str) -> tuple[random.Random, timedelta]:
        """The worker's time on this HIT, and the generator their answers continue from.

        Both come from one generator seeded by the crowd's seed, the HIT and the worker, so a
        look-ahead and the real acceptance agree.
        """
        rng = random.Random(f"{self._seed}|{request.hit_id}|{worker_id}")
        median = self._world.worker(worker_id).work_seconds * (0.4 + 0.2 * len(request.platforms))
        seconds = max(_MIN_WORK_SECONDS, rng.lognormvariate(math.log(median), 0.4))
        return rng, timedelta(seconds=seconds)

    def _gap(self, hit: _Hit, arrival: int) -> timedelta:
        mean = ARRIVAL_MEAN_SECONDS * math.sqrt(
            REFERENCE_REWARD_CENTS / max(1, hit.request.reward_cents))
        u = _uniform(self._seed, hit.request.hit_id, "gap", hit.segment, arrival)
        return timedelta(seconds=-mean * math.log(1.0 - u))

    def _submitted(self, assignment_id: str) -> _Assignment:
        assignment = self._assignments.get(assignment_id)
        if assignment is None or assignment.status == "Accepted":
            raise KeyError(f"no submitted assignment {assignment_id}")
        return assignment

    def _not_before_clock(self, at: datetime) -> datetime:
        _aware(at)
        return at if self._clock is None or at >= self._clock else self._clock


def _uniform(*parts: object) -> float:
    """A deterministic number in [0, 1) named by ``parts``: cheaper than a seeded Random."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _assignment_id(seed: int, hit_id: str, worker_id: str) -> str:
    """A 30-character Mechanical Turk style assignment id, fixed by HIT and worker."""
    digest = hashlib.sha256(f"{seed}|{hit_id}|{worker_id}".encode()).digest()
    return "".join(_ID_ALPHABET[b % len(_ID_ALPHABET)] for b in digest[:30])


def _in_order(heap: list[tuple[datetime, str]]) -> Iterator[tuple[datetime, str]]:
    """The heap's entries in ascending order, lazily, without changing the heap."""
    frontier = [(heap[0], 0)] if heap else []
    while frontier:
        entry, index = heapq.heappop(frontier)
        yield entry
        for child in (2 * index + 1, 2 * index + 2):
            if child < len(heap):
                heapq.heappush(frontier, (heap[child], child))


def _aware(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
