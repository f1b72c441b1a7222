"""Which profiles to fetch, what a fetch means, and when a profile betrays a namesake.

The pure core of the enrichment stage. Fetching is I/O, so the core never does it: it answers
events with :class:`FetchRequest` values, the adapter performs them through a platform client
and hands the outcome back to :func:`fetched`, which turns it into ``ProfileEnriched`` or
``ProfileUnavailable``. The stage then reads its own profile events back (:func:`handle`),
which is when the state learns the profile and the namesake check runs: the state only ever
changes through events in the log, so a replay rebuilds it exactly.

Handles the provider already knew are fetched the same way, their record standing in for the
acceptance (and an empty HIT id: no crowd HIT decided them).

A request stays *pending* until its outcome comes back. A worker that crashes between asking
and hearing loses nothing: :func:`due` re-issues pending requests older than
``pending_timeout``, and profiles older than ``max_age`` (the provider's "nightly job").

State is one ``EnrichmentState`` per record, passed in and returned (mutated in place).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from streams.consensus.models import HandleAccepted
from streams.enrichment.models import HandleRejected, ProfileEnriched, ProfileUnavailable
from streams.enrichment.namesake import (
    ProfileText,
    RecordFacts,
    check_profile,
    stronger_context,
)
from streams.enrichment.platforms import AccountUnavailable, ProfileLookup
from streams.enrichment.resilient import Outcome
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.records.models import RecordReceived

STAGE = "enrichment"
STAGE_VERSION = "1.0.0"


@dataclass(frozen=True)
class EnrichmentConfig:
    """How often profiles are refreshed and when a request counts as lost."""

    max_age: timedelta = timedelta(days=1)
    pending_timeout: timedelta = timedelta(minutes=5)
    instance: str = "local"

    @property
    def producer(self) -> Producer:
        return Producer(STAGE, STAGE_VERSION, self.instance)


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """One profile to fetch: the acceptance it serves and which fetch of it this is."""

    entity_id: str
    platform: str
    handle: str
    acceptance_id: str
    hit_id: str
    fetch: int
    supersedes: str | None


@dataclass(slots=True)
class FieldState:
    """One platform of one record: the accepted handle and what is known of its profile."""

    platform: str
    acceptance_id: str
    hit_id: str
    handle: str
    fetch: int = 0
    profile_id: str | None = None  # latest ProfileEnriched / ProfileUnavailable
    fetched_at: datetime | None = None
    profile: dict[str, Any] | None = None  # ProfileText fields of the latest found profile
    requested_at: datetime | None = None  # a fetch is pending since then
    rejected: bool = False

    def request(self, entity_id: str) -> FetchRequest:
        return FetchRequest(entity_id, self.platform, self.handle, self.acceptance_id,
                            self.hit_id, self.fetch, self.profile_id)


@dataclass(slots=True)
class EnrichmentState:
    """The record as the provider gave it and each accepted platform's profile."""

    record: dict[str, Any] | None = None  # RecordFacts fields
    fields: dict[str, FieldState] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record,
                "fields": {p: _field_to_dict(f) for p, f in self.fields.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> EnrichmentState:
        if not data:
            return cls()
        return cls(data["record"], {p: _field_from_dict(f) for p, f in data["fields"].items()})


def _field_to_dict(state: FieldState) -> dict[str, Any]:
    data = asdict(state)
    for key in ("fetched_at", "requested_at"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def _field_from_dict(data: Mapping[str, Any]) -> FieldState:
    values = dict(data)
    for key in ("fetched_at", "requested_at"):
        values[key] = datetime.fromisoformat(values[key]) if values[key] else None
    return FieldState(**values)


def handle(state: EnrichmentState, event: Event, config: EnrichmentConfig,
           now: datetime) -> tuple[list[Event], list[FetchRequest]]:
    """The stage's reaction to one event of a record: events to emit and profiles to fetch."""
    if isinstance(event, RecordReceived):
        state.record = asdict(RecordFacts.of(event))
        return [], _on_known_handles(state, event, now)
    if isinstance(event, HandleAccepted):
        return [], _on_acceptance(state, event, now)
    if isinstance(event, (ProfileEnriched, ProfileUnavailable)):
        return _on_profile(state, event, config), []
    if isinstance(event, HandleRejected):
        current = state.fields.get(event.platform)
        if current is not None and current.hit_id == event.hit_id:
            current.rejected = True
    return [], []


def _on_acceptance(state: EnrichmentState, accepted: HandleAccepted,
                   now: datetime) -> list[FetchRequest]:
    current = state.fields.get(accepted.platform)
    if current is not None and current.acceptance_id == accepted.event_id:
        return []  # redelivered
    if accepted.handle is None:  # the crowd agreed there is no account: nothing to fetch
        state.fields.pop(accepted.platform, None)
        return []
    fresh = FieldState(accepted.platform, accepted.event_id, accepted.hit_id, accepted.handle,
                       requested_at=now)
    state.fields[accepted.platform] = fresh
    return [fresh.request(accepted.entity_id)]


def _on_known_handles(state: EnrichmentState, record: RecordReceived,
                      now: datetime) -> list[FetchRequest]:
    """The provider's own handles are fetched (and checked) like accepted ones."""
    requests = []
    for platform, known in sorted(record.known_handles.items()):
        if platform in state.fields:
            continue  # already accepted by the crowd, or this record redelivered
        fresh = FieldState(platform, record.event_id, "", known, requested_at=now)
        state.fields[platform] = fresh
        requests.append(fresh.request(record.entity_id))
    return requests


def _on_profile(state: EnrichmentState, profile: ProfileEnriched | ProfileUnavailable,
                config: EnrichmentConfig) -> list[Event]:
    current = state.fields.get(profile.platform)
    if (current is None or current.acceptance_id not in profile.meta.parents
            or profile.fetch < current.fetch or current.profile_id == profile.event_id):
        return []  # about an acceptance since replaced, an older fetch, or redelivered
    current.profile_id, current.fetch = profile.event_id, profile.fetch
    current.fetched_at, current.requested_at = profile.meta.occurred_at, None
    if isinstance(profile, ProfileUnavailable):
        current.profile = None
        return []
    current.profile = {"platform": profile.platform, "followers": profile.followers,
                       "verified": profile.verified, "category": profile.category,
                       "bio": profile.bio}
    if current.rejected or state.record is None:
        return []
    return _namesake_check(state, current, profile, config)


def _namesake_check(state: EnrichmentState, current: FieldState, profile: ProfileEnriched,
                    config: EnrichmentConfig) -> list[Event]:
    record = RecordFacts(**(state.record or {}))
    others = [_text(f.profile) for p, f in sorted(state.fields.items())
              if p != profile.platform and f.profile and not f.rejected]
    verdict = check_profile(record, _text(current.profile or {}), other_profiles=others)
    if not verdict.contradicts:
        return []
    context = stronger_context(record, verdict)
    context[f"not_{profile.platform}"] = profile.handle
    meta = new_meta(event_type=HandleRejected.schema_name, entity_id=profile.entity_id,
                    occurred_at=profile.meta.occurred_at, producer=config.producer,
                    provenance=profile.meta.provenance,
                    parents=(current.acceptance_id, profile.event_id),
                    identity=[current.hit_id, profile.platform, profile.handle])
    return [HandleRejected(meta=meta, hit_id=current.hit_id, platform=profile.platform,
                           handle=profile.handle, score=verdict.score,
                           evidence=list(verdict.evidence), context=context)]


def _text(profile: Mapping[str, Any]) -> ProfileText:
    return ProfileText(platform=profile["platform"], followers=profile["followers"],
                       verified=profile["verified"], category=profile["category"],
                       bio=profile["bio"])


def fetched(request: FetchRequest,
            outcome: Outcome, *,
            attempts: int, at: datetime, config: EnrichmentConfig) -> Event:
    """The event a finished fetch becomes; ``at`` is when the platform answered."""
    parents = (request.acceptance_id,) + ((request.supersedes,) if request.supersedes else ())
    identity = [request.platform, request.handle, request.fetch]
    provenance = Provenance(request.platform, request.handle)
    if isinstance(outcome, ProfileLookup):
        meta = new_meta(event_type=ProfileEnriched.schema_name, entity_id=request.entity_id,
                        occurred_at=at, producer=config.producer, provenance=provenance,
                        parents=parents, identity=identity)
        return ProfileEnriched(
            meta=meta, platform=request.platform, handle=request.handle,
            followers=outcome.followers, following=outcome.following, posts=outcome.posts,
            avg_engagement=outcome.avg_engagement, verified=outcome.verified,
            category=outcome.category, bio=outcome.bio, fetch=request.fetch,
            attempts=attempts, supersedes=request.supersedes)
    reason: str
    if isinstance(outcome, AccountUnavailable):
        reason, detail = outcome.status, f"the platform says the account is {outcome.status}"
    else:
        reason = "unreachable"
        detail = f"gave up after {outcome.attempts} attempts: {outcome.last_error}"
    meta = new_meta(event_type=ProfileUnavailable.schema_name, entity_id=request.entity_id,
                    occurred_at=at, producer=config.producer, provenance=provenance,
                    parents=parents, identity=identity)
    return ProfileUnavailable(meta=meta, platform=request.platform, handle=request.handle,
                              reason=reason, detail=detail, fetch=request.fetch,
                              attempts=attempts, supersedes=request.supersedes)


def due(state: EnrichmentState, entity_id: str, now: datetime,
        config: EnrichmentConfig) -> list[FetchRequest]:
    """Fetches to (re-)issue now: lost first fetches, and refreshes past ``max_age``.

    Read-only, so a timer may call it on any schedule: the state changes only when the outcome
    comes back as an event. A refresh is the next fetch of the same acceptance and supersedes
    the latest profile; the fetcher starts each (record, platform, fetch) once.
    """
    requests = []
    for current in state.fields.values():
        if current.rejected:
            continue
        if current.requested_at is not None:
            if now - current.requested_at >= config.pending_timeout:
                requests.append(current.request(entity_id))
        elif current.fetched_at is not None and now - current.fetched_at >= config.max_age:
            requests.append(replace(current.request(entity_id), fetch=current.fetch + 1))
    return requests
