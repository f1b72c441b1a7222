"""The simulated world's value types: configuration, athletes, profiles, workers, feed rows.

Everything is a frozen dataclass so a world is a value: two worlds generated from the same
configuration compare equal, and ``load_world(write_world(w))`` gives back an equal world.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from streams.records.core import valid_provider

KINDS = ("reliable", "sloppy", "spammer", "confuser")
# Fame is log-normal: the median athlete has about 15,000 followers, a star millions.
FAME_MEDIAN = 15_000.0
FAME_SIGMA = 1.8


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """How big and how messy a simulated world is.

    The defaults give a world in which a weighted (Dawid-Skene style) streaming consensus can
    reach 99.5% precision: reliable workers are the clear majority of the crowd and confusers a
    small minority, while spammers, sloppy workers and namesakes still make plain majority voting
    err now and then.

    Attributes
    ----------
    athletes:
        Number of athletes (namesakes included).
    seed:
        Seed of every random draw; the same configuration always gives the same world.
    namesake_rate:
        Share of athletes who share their full name with exactly one other athlete (in another
        sport or team). Both members of a pair count.
    workers:
        Size of the crowd.
    spammer_rate, sloppy_rate, confuser_rate:
        Shares of the crowd of each dishonest or careless kind; the rest is reliable.
    gold_rate:
        Share of athletes (with a valid feed row) whose handles staff verified: the gold set.
    provider:
        The feed's provider name, the first part of the pipeline's entity ids.
    provider_handle_rate:
        Chance that the feed knows one existing account (about 15%, as with real feeds).
    messy_rate:
        Share of feed rows with cosmetic faults ingest repairs (case, spaces, sport aliases).
    invalid_rate:
        Share of feed rows with one fault ingest must reject.
    duplicate_rate:
        Share of feed rows sent twice, byte for byte.
    as_of:
        The world's "now": the end of careers and the latest feed timestamp.
    """

    athletes: int = 2000
    seed: int = 1
    namesake_rate: float = 0.05
    workers: int = 200
    spammer_rate: float = 0.10
    sloppy_rate: float = 0.20
    confuser_rate: float = 0.05
    gold_rate: float = 0.03
    provider: str = "acme"
    provider_handle_rate: float = 0.15
    messy_rate: float = 0.05
    invalid_rate: float = 0.005
    duplicate_rate: float = 0.005
    as_of: datetime = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

    def __post_init__(self) -> None:
        if self.athletes < 2:
            raise ValueError("a world needs at least two athletes")
        if self.workers < 1:
            raise ValueError("a crowd needs at least one worker")
        rates = (self.namesake_rate, self.spammer_rate, self.sloppy_rate, self.confuser_rate,
                 self.gold_rate, self.provider_handle_rate, self.messy_rate, self.invalid_rate,
                 self.duplicate_rate)
        if not all(0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError("every rate must be between 0 and 1")
        if self.spammer_rate + self.sloppy_rate + self.confuser_rate > 1.0:
            raise ValueError("spammer, sloppy and confuser rates add up to more than 1")
        if not valid_provider(self.provider):
            raise ValueError(f"provider {self.provider!r} is not a valid provider name")
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Athlete:
    """One real (simulated) person and the truth about them.

    Attributes
    ----------
    ref:
        The provider's id for the athlete; the pipeline's entity id is ``<provider>:<ref>``.
    sport, league, team, country:
        Canonical values as ingest produces them (``league`` and ``team`` None when the sport
        has none; ``country`` ISO 3166 alpha-2).
    position:
        Playing position, or event for athletics.
    years:
        Active years, ``"2015-2024"``.
    fame:
        Typical follower count of the athlete's accounts: log-normal, so a few stars dwarf the
        rest. It drives account existence, followers, verification and worker difficulty.
    handles:
        Platform to canonical handle, or None when the athlete has no account there.
    namesake_of:
        Ref of the other athlete with the same full name, if any.
    page_views_per_post:
        The hidden target of the prediction stage; see ``profiles.page_views_per_post``.
    """

    ref: str
    name: str
    sport: str
    league: str | None
    team: str | None
    country: str
    position: str
    years: str
    fame: float
    handles: Mapping[str, str | None]
    namesake_of: str | None
    page_views_per_post: float


@dataclass(frozen=True, slots=True)
class Profile:
    """What a platform shows for one existing account."""

    ref: str
    platform: str
    handle: str
    followers: int
    following: int
    posts: int
    avg_engagement: float
    verified: bool
    category: str
    bio: str


@dataclass(frozen=True, slots=True)
class Worker:
    """A crowd worker and the hidden parameters of their behaviour.

    Attributes
    ----------
    worker_id:
        Mechanical Turk style id: ``A`` and 13 upper-case letters or digits.
    kind:
        One of ``KINDS``.
    accuracy:
        Chance of answering a field right (before the athlete's difficulty); 0 for spammers.
    noise:
        Chance of typing a right handle in a messy but recoverable form (URL, '@', case).
    activity:
        Relative rate at which the worker takes assignments (heavy-tailed across the crowd).
    work_seconds:
        Median time spent on one three-platform assignment.
    spam:
        For spammers, ``random`` (made-up or copied handles), ``not-found`` (always "not
        found") or ``fixed`` (the same text everywhere); empty for everyone else.
    fixed_answer:
        The text a ``fixed`` spammer pastes into every box; empty otherwise.
    """

    worker_id: str
    kind: str
    accuracy: float
    noise: float
    activity: float
    work_seconds: float
    spam: str = ""
    fixed_answer: str = ""


@dataclass(frozen=True, slots=True)
class ProviderRow:
    """One row of the feed, as text, and what ingest is expected to make of it.

    ``rejection`` is the reason code ``streams.records.core.normalise_row`` must give, or None
    for a row it must accept.
    """

    fields: Mapping[str, str]
    rejection: str | None = None


@dataclass(frozen=True, slots=True)
class GoldAnswer:
    """One staff-verified field: the handle, or None when the athlete has no account."""

    provider_ref: str
    platform: str
    handle: str | None


@dataclass(frozen=True, slots=True)
class World:
    """A generated world: the truth, the feed built from it, the gold set and the crowd."""

    config: WorldConfig
    athletes: tuple[Athlete, ...]
    profiles: tuple[Profile, ...]
    workers: tuple[Worker, ...]
    provider_rows: tuple[ProviderRow, ...]
    gold: tuple[GoldAnswer, ...]
    _athletes: dict[str, Athlete] = field(init=False, repr=False, compare=False)
    _workers: dict[str, Worker] = field(init=False, repr=False, compare=False)
    _profiles: dict[tuple[str, str], Profile] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_athletes", {a.ref: a for a in self.athletes})
        object.__setattr__(self, "_workers", {w.worker_id: w for w in self.workers})
        object.__setattr__(self, "_profiles",
                           {(p.ref, p.platform): p for p in self.profiles})

    def athlete(self, ref: str) -> Athlete:
        """The athlete with provider id ``ref``; KeyError when there is none."""
        return self._athletes[ref]

    def worker(self, worker_id: str) -> Worker:
        """The worker with that id; KeyError when there is none."""
        return self._workers[worker_id]

    def profile(self, ref: str, platform: str) -> Profile | None:
        """The athlete's profile on ``platform``, or None when they have no account there."""
        return self._profiles.get((ref, platform))
