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

Retractions (``EventRetracted`` from the lineage stage, which retracts every descendant itself)
only make the state forget: a retracted acceptance (or the record whose provider handles stand
for acceptances) takes its field with it, and whatever its in-flight fetches bring back is
ignored, because a result counts only while its acceptance is the field's current one. A
retracted profile of a live acceptance sends the field back to "needs fetching" with a new
fetch number, so the new result's id can never be the retracted one's. The retracted ids are
kept (per record), so a retracted event read late, or redelivered, is never used again.

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
from streams.lineage.models import EventRetracted
from streams.records.models import RecordReceived

STAGE = "enrichment"
STAGE_VERSION = "1.0.0"
# The retracted events the state is built on; retractions of anything else change nothing.
_TRACKED = frozenset({RecordReceived.schema_name, HandleAccepted.schema_name,
                      ProfileEnriched.schema_name, ProfileUnavailable.schema_name,
                      HandleRejected.schema_name})


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
    rejection_id: str | None = None  # the HandleRejected that set ``rejected``
    rejected_profile: str | None = None  # the profile that rejection was about
    # Redactions that withdrew a fetch of this field: one that withdraws a second fetch keeps
    # selecting whatever is fetched (a redacted platform source, say), so asking again at once
    # would loop; the field then waits for its next refresh instead.
    redactions: list[str] = field(default_factory=list)

    def request(self, entity_id: str) -> FetchRequest:
        return FetchRequest(entity_id, self.platform, self.handle, self.acceptance_id,
                            self.hit_id, self.fetch, self.profile_id)


@dataclass(slots=True)
class EnrichmentState:
    """The record as the provider gave it and each accepted platform's profile."""

    record: dict[str, Any] | None = None  # RecordFacts fields
    fields: dict[str, FieldState] = field(default_factory=dict)
    record_id: str | None = None  # the RecordReceived behind ``record``
    # Retracted events this record's state is built on, and the redaction of each: never used
    # again, however late or often they are read.
    retracted: dict[str, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return self == EnrichmentState()

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record, "record_id": self.record_id,
                "fields": {p: _field_to_dict(f) for p, f in self.fields.items()},
                "retracted": dict(sorted(self.retracted.items()))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> EnrichmentState:
        if not data:
            return cls()
        return cls(data["record"], {p: _field_from_dict(f) for p, f in data["fields"].items()},
                   data.get("record_id"), dict(data.get("retracted") or {}))


def _field_to_dict(state: FieldState) -> dict[str, Any]:
    data = asdict(state)
    for key in ("fetched_at", "requested_at"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def _field_from_dict(data: Mapping[str, Any]) -> FieldState:
    values = dict(data)
    for key in ("fetched_at", "requested_at"):
        values[key] = datetime.fromisoformat(values[key]) if values[key] else None
    values["redactions"] = list(values.get("redactions") or [])
    return FieldState(**values)


def handle(state: EnrichmentState, event: Event, config: EnrichmentConfig,
           now: datetime) -> tuple[list[Event], list[FetchRequest]]:
    """The stage's reaction to one event of a record: events to emit and profiles to fetch."""
    if isinstance(event, EventRetracted):
        return [], _on_retraction(state, event, now)
    if isinstance(event, (ProfileEnriched, ProfileUnavailable)):
        return _on_profile(state, event, config, now)
    if event.event_id in state.retracted:
        return [], []  # withdrawn by a redaction before it was read (or redelivered after)
    if isinstance(event, RecordReceived):
        state.record, state.record_id = asdict(RecordFacts.of(event)), event.event_id
        return [], _on_known_handles(state, event, now)
    if isinstance(event, HandleAccepted):
        return [], _on_acceptance(state, event, now)
    if isinstance(event, HandleRejected):
        current = state.fields.get(event.platform)
        if current is not None and current.hit_id == event.hit_id:
            current.rejected, current.rejection_id = True, event.event_id
            current.rejected_profile = event.meta.parents[-1] if event.meta.parents else None
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
                config: EnrichmentConfig,
                now: datetime) -> tuple[list[Event], list[FetchRequest]]:
    current = state.fields.get(profile.platform)
    if (current is None or current.acceptance_id not in profile.meta.parents
            or profile.fetch < current.fetch or current.profile_id == profile.event_id
            or any(parent in state.retracted for parent in profile.meta.parents)):
        # About an acceptance since replaced or retracted (a fetch that was in flight), an
        # older fetch, a refresh of a retracted profile (asked again already), or redelivered.
        return [], []
    redaction_id = state.retracted.get(profile.event_id)
    if redaction_id is not None:  # retracted before it was read back: that fetch is void
        return [], _ask_again(current, profile.entity_id, profile.fetch, redaction_id, now)
    current.profile_id, current.fetch = profile.event_id, profile.fetch
    current.fetched_at, current.requested_at = profile.meta.occurred_at, None
    if isinstance(profile, ProfileUnavailable):
        current.profile = None
        return [], []
    current.profile = {"platform": profile.platform, "followers": profile.followers,
                       "verified": profile.verified, "category": profile.category,
                       "bio": profile.bio}
    if current.rejected or state.record is None:
        return [], []
    return _namesake_check(state, current, profile, config), []


def follows(retraction: EventRetracted) -> bool:
    """Whether this stage's state is built on the retracted event (else it is not read)."""
    return retraction.retracted_type in _TRACKED


def _on_retraction(state: EnrichmentState, retraction: EventRetracted,
                   now: datetime) -> list[FetchRequest]:
    """Forget a retracted input; ask again for a retracted profile of a live acceptance.

    ``via`` (the retracted parent the event descends through) tells a profile retracted with
    its acceptance from one retracted on its own, even before the acceptance's retraction
    is read, so no fetch is asked for a field about to be forgotten.
    """
    gone = retraction.retracted_id
    if not follows(retraction) or gone in state.retracted:
        return []  # not something this state is built on, or redelivered
    state.retracted[gone] = retraction.redaction_id
    withdrawn = {gone} | ({retraction.via} if retraction.via else set())
    if state.record_id in withdrawn:
        state.record = state.record_id = None
    requests = []
    for platform, current in sorted(state.fields.items()):
        if current.acceptance_id in withdrawn:
            del state.fields[platform]  # its in-flight fetches are ignored when read back
            continue
        if current.rejection_id in withdrawn or current.rejected_profile in withdrawn:
            current.rejected = False  # the next profile is checked afresh
            current.rejection_id = current.rejected_profile = None
        if current.profile_id == gone:
            current.profile = current.profile_id = None
            requests += _ask_again(current, retraction.entity_id, current.fetch,
                                   retraction.redaction_id, now)
    return requests


def _ask_again(current: FieldState, entity_id: str, void_fetch: int,
               redaction_id: str, now: datetime) -> list[FetchRequest]:
    """A fetch was withdrawn: fetch again under a fresh number, unless the redaction repeats.

    The new number and the request's parents (the acceptance and the latest live profile, if
    any) make an event id the retracted result never had.
    """
    current.fetch = max(current.fetch, void_fetch) + 1
    if redaction_id in current.redactions:
        # The same redaction withdrew an earlier fetch of this field too: it selects whatever
        # is fetched. Count the field as fetched now, so it is tried again at its next refresh.
        current.requested_at, current.fetched_at = None, now
        return []
    current.redactions.append(redaction_id)
    current.requested_at = now
    return [current.request(entity_id)]


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
