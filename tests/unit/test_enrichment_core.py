"""The enrichment core: what to fetch, what a fetch becomes, refreshes and the namesake check."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from streams.consensus.models import HandleAccepted
from streams.enrichment.core import (
    EnrichmentConfig,
    EnrichmentState,
    FetchRequest,
    due,
    fetched,
    handle,
)
from streams.enrichment.models import HandleRejected, ProfileEnriched, ProfileUnavailable
from streams.enrichment.platforms import AccountUnavailable, LookupGaveUp, ProfileLookup
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.lineage.models import EventRetracted
from streams.records.models import RecordReceived
from streams.simulation.convert import provider_records
from streams.tasks.core import TaskConfig, TaskState, on_decision, on_record, on_rejection
from streams.world.generate import generate_world
from streams.world.model import Athlete, World, WorldConfig

CONFIG = EnrichmentConfig(max_age=timedelta(hours=1), pending_timeout=timedelta(minutes=5))
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig(athletes=400, seed=5, workers=20))


def _records(world: World) -> dict[str, RecordReceived]:
    """The feed's records without the provider's own handles (tested on their own below)."""
    return {r.provider_ref: replace(r, known_handles={}) for r in provider_records(world)}


def _accepted(record: RecordReceived, platform: str, handle_: str | None, *,
              revision: int = 0, hit_id: str = "H1") -> HandleAccepted:
    meta = new_meta(event_type=HandleAccepted.schema_name, entity_id=record.entity_id,
                    occurred_at=T0, producer=Producer("consensus", "1", "t"),
                    provenance=Provenance("crowd", hit_id), parents=("a1",),
                    identity=[hit_id, platform, revision, handle_])
    return HandleAccepted(meta=meta, hit_id=hit_id, platform=platform, votes=(),
                          agreement=1.0, confidence=1.0, posterior={}, method="quorum",
                          revision=revision, supersedes=None, handle=handle_)


def _lookup(world: World, ref: str, platform: str) -> ProfileLookup:
    profile = world.profile(ref, platform)
    assert profile is not None
    return ProfileLookup(platform, profile.handle, profile.followers, profile.following,
                         profile.posts, profile.avg_engagement, profile.verified,
                         profile.category, profile.bio)


def _namesake_pair(world: World) -> tuple[Athlete, Athlete, str]:
    """An athlete, their namesake in another sport, and a platform where both have accounts."""
    for athlete in world.athletes:
        if not athlete.namesake_of:
            continue
        other = world.athlete(athlete.namesake_of)
        for platform in ("instagram", "twitter", "facebook"):
            if (other.sport != athlete.sport and athlete.handles[platform]
                    and other.handles[platform]):
                return athlete, other, platform
    raise AssertionError("no cross-sport namesake pair in this world")


def _through(state: EnrichmentState, record: RecordReceived, accepted: HandleAccepted,
             lookup: ProfileLookup) -> tuple[ProfileEnriched, list[object]]:
    handle(state, record, CONFIG, T0)
    _, requests = handle(state, accepted, CONFIG, T0)
    assert len(requests) == 1
    profile = fetched(requests[0], lookup, attempts=2, at=T0 + timedelta(seconds=3),
                      config=CONFIG)
    assert isinstance(profile, ProfileEnriched)
    outputs, more = handle(state, profile, CONFIG, T0 + timedelta(seconds=4))
    assert more == []
    return profile, list(outputs)


def test_an_acceptance_asks_for_one_fetch_and_a_redelivery_for_none(world: World) -> None:
    athlete = next(a for a in world.athletes if a.handles["instagram"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    handle(state, record, CONFIG, T0)
    accepted = _accepted(record, "instagram", athlete.handles["instagram"])
    _, requests = handle(state, accepted, CONFIG, T0)
    assert requests == [FetchRequest(record.entity_id, "instagram",
                                     athlete.handles["instagram"] or "", accepted.event_id,
                                     "H1", 0, None)]
    assert handle(state, accepted, CONFIG, T0) == ([], [])
    no_account = _accepted(record, "twitter", None)
    assert handle(state, no_account, CONFIG, T0) == ([], [])


def test_a_profile_names_its_acceptance_and_a_true_one_passes_the_check(world: World) -> None:
    athlete = next(a for a in world.athletes if a.handles["instagram"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    accepted = _accepted(record, "instagram", athlete.handles["instagram"])
    profile, outputs = _through(state, record, accepted,
                                _lookup(world, athlete.ref, "instagram"))
    assert profile.meta.parents == (accepted.event_id,)
    assert profile.fetch == 0 and profile.attempts == 2 and profile.supersedes is None
    assert outputs == []
    assert state.fields["instagram"].profile_id == profile.event_id
    assert handle(state, profile, CONFIG, T0) == ([], [])  # redelivered


def test_a_namesakes_profile_is_rejected_with_evidence_and_context(world: World) -> None:
    athlete, other, platform = _namesake_pair(world)
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    accepted = _accepted(record, platform, other.handles[platform])
    profile, outputs = _through(state, record, accepted, _lookup(world, other.ref, platform))
    [rejected] = outputs
    assert isinstance(rejected, HandleRejected)
    assert rejected.meta.parents == (accepted.event_id, profile.event_id)
    assert rejected.handle == other.handles[platform] and rejected.hit_id == "H1"
    assert rejected.evidence and rejected.score >= 1.0
    assert rejected.context[f"not_{platform}"] == other.handles[platform]
    assert rejected.context["name"] == athlete.name
    handle(state, rejected, CONFIG, T0)
    assert state.fields[platform].rejected
    assert due(state, record.entity_id, T0 + timedelta(days=5), CONFIG) == []


def test_missing_suspended_and_unreachable_accounts_are_events(world: World) -> None:
    athlete = next(a for a in world.athletes if a.handles["twitter"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    handle(state, record, CONFIG, T0)
    _, [request] = handle(state, _accepted(record, "twitter", athlete.handles["twitter"]),
                          CONFIG, T0)
    outcomes = {"missing": AccountUnavailable("twitter", request.handle, "missing"),
                "suspended": AccountUnavailable("twitter", request.handle, "suspended"),
                "unreachable": LookupGaveUp("twitter", request.handle, 6, "HTTP 503")}
    for reason, outcome in outcomes.items():
        event = fetched(request, outcome, attempts=6, at=T0, config=CONFIG)
        assert isinstance(event, ProfileUnavailable)
        assert event.reason == reason and event.meta.parents == (request.acceptance_id,)
    gone = fetched(request, outcomes["unreachable"], attempts=6, at=T0, config=CONFIG)
    assert "HTTP 503" in gone.detail  # type: ignore[attr-defined]
    handle(state, gone, CONFIG, T0)
    assert state.fields["twitter"].requested_at is None


def test_lost_fetches_are_reissued_and_stale_profiles_refreshed(world: World) -> None:
    athlete = next(a for a in world.athletes if a.handles["facebook"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    handle(state, record, CONFIG, T0)
    accepted = _accepted(record, "facebook", athlete.handles["facebook"])
    _, [request] = handle(state, accepted, CONFIG, T0)
    assert due(state, record.entity_id, T0 + timedelta(minutes=1), CONFIG) == []
    assert due(state, record.entity_id, T0 + timedelta(minutes=6), CONFIG) == [request]
    first = fetched(request, _lookup(world, athlete.ref, "facebook"), attempts=1,
                    at=T0 + timedelta(minutes=6), config=CONFIG)
    handle(state, first, CONFIG, T0)
    assert due(state, record.entity_id, T0 + timedelta(minutes=30), CONFIG) == []
    [refresh] = due(state, record.entity_id, T0 + timedelta(hours=2), CONFIG)
    assert (refresh.fetch, refresh.supersedes) == (1, first.event_id)
    second = fetched(refresh, _lookup(world, athlete.ref, "facebook"), attempts=1,
                     at=T0 + timedelta(hours=2), config=CONFIG)
    assert second.event_id != first.event_id
    assert set(second.meta.parents) == {accepted.event_id, first.event_id}
    handle(state, second, CONFIG, T0)
    handle(state, first, CONFIG, T0)  # an older fetch arriving late changes nothing
    assert state.fields["facebook"].profile_id == second.event_id


def test_a_superseding_acceptance_replaces_the_field_and_old_profiles_are_ignored(
        world: World) -> None:
    athlete = next(a for a in world.athletes if a.handles["instagram"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    handle(state, record, CONFIG, T0)
    old = _accepted(record, "instagram", "someoneelse")
    _, [old_request] = handle(state, old, CONFIG, T0)
    new = _accepted(record, "instagram", athlete.handles["instagram"], revision=1)
    _, [new_request] = handle(state, new, CONFIG, T0)
    late = fetched(old_request, AccountUnavailable("instagram", "someoneelse", "missing"),
                   attempts=1, at=T0, config=CONFIG)
    handle(state, late, CONFIG, T0)
    assert state.fields["instagram"].acceptance_id == new.event_id
    assert state.fields["instagram"].requested_at is not None
    assert new_request.acceptance_id == new.event_id


def test_state_survives_a_json_round_trip(world: World) -> None:
    athlete, other, platform = _namesake_pair(world)
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    _through(state, record, _accepted(record, platform, other.handles[platform]),
             _lookup(world, other.ref, platform))
    restored = EnrichmentState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state


def test_a_rejection_sends_the_platform_back_to_the_crowd_a_bounded_number_of_times(
        world: World) -> None:
    athlete, other, platform = _namesake_pair(world)
    record = _records(world)[athlete.ref]
    config = TaskConfig(max_reasks=1)
    tasks = TaskState()
    [hit] = [h for h in on_record(tasks, record, config) if not h.gold]
    state = EnrichmentState()
    _, [rejected] = _through(state, record,
                             _accepted(record, platform, other.handles[platform],
                                       hit_id=hit.hit_id),
                             _lookup(world, other.ref, platform))
    assert isinstance(rejected, HandleRejected)
    [again] = on_rejection(tasks, rejected, config)
    assert again.platforms == [platform] and again.provider_ref == athlete.ref
    assert again.context[f"not_{platform}"] == other.handles[platform]
    assert again.meta.parents == (rejected.event_id,)
    assert on_rejection(tasks, rejected, config) == []  # redelivered
    decided = _accepted(record, platform, athlete.handles[platform], hit_id=again.hit_id)
    [expired] = on_decision(tasks, decided, config)
    assert getattr(expired, "hit_id", None) == again.hit_id
    restored = TaskState.from_dict(json.loads(json.dumps(tasks.to_dict())))
    assert restored == tasks


def test_the_providers_own_handles_are_fetched_and_checked_too(world: World) -> None:
    record = next(r for r in provider_records(world) if r.known_handles)
    state = EnrichmentState()
    _, requests = handle(state, record, CONFIG, T0)
    assert {(r.platform, r.handle) for r in requests} == set(record.known_handles.items())
    assert all(r.acceptance_id == record.event_id and r.hit_id == "" for r in requests)
    assert handle(state, record, CONFIG, T0) == ([], [])  # redelivered


def _retracted(event: Event, *, redaction: str = "redaction-1",
               via: str | None = None) -> EventRetracted:
    meta = new_meta(event_type=EventRetracted.schema_name, entity_id=event.entity_id,
                    occurred_at=T0, producer=Producer("lineage", "1", "t"),
                    provenance=Provenance("lineage", redaction),
                    parents=(redaction, event.event_id), identity=[])
    return EventRetracted(meta=meta, redaction_id=redaction, retracted_id=event.event_id,
                          retracted_type=event.meta.event_type,
                          retracted_stage=event.meta.producer.stage, via=via, reason="test")


def test_a_retracted_acceptance_forgets_its_field_and_its_fetch_in_flight(
        world: World) -> None:
    athlete = next(a for a in world.athletes if a.handles["instagram"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    handle(state, record, CONFIG, T0)
    wrong = _accepted(record, "instagram", "someoneelse")
    _, [request] = handle(state, wrong, CONFIG, T0)
    retraction = _retracted(wrong)
    assert handle(state, retraction, CONFIG, T0) == ([], [])
    assert "instagram" not in state.fields
    in_flight = fetched(request, _lookup(world, athlete.ref, "instagram"), attempts=1,
                        at=T0, config=CONFIG)
    assert handle(state, in_flight, CONFIG, T0) == ([], [])  # does not resurrect the field
    assert handle(state, wrong, CONFIG, T0) == ([], [])  # the acceptance redelivered
    assert handle(state, retraction, CONFIG, T0) == ([], [])  # the retraction redelivered
    assert "instagram" not in state.fields
    assert due(state, record.entity_id, T0 + timedelta(days=5), CONFIG) == []
    # Consensus decides again: the new acceptance is fetched as usual.
    right = _accepted(record, "instagram", athlete.handles["instagram"], revision=1)
    profile, outputs = _through(state, record, right, _lookup(world, athlete.ref, "instagram"))
    assert outputs == [] and state.fields["instagram"].profile_id == profile.event_id
    assert profile.meta.parents == (right.event_id,)


def test_an_acceptance_retracted_before_it_is_read_is_never_fetched(world: World) -> None:
    athlete = next(a for a in world.athletes if a.handles["twitter"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    accepted = _accepted(record, "twitter", athlete.handles["twitter"])
    assert handle(state, _retracted(accepted), CONFIG, T0) == ([], [])
    assert handle(state, accepted, CONFIG, T0) == ([], []) and state.fields == {}
    restored = EnrichmentState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert handle(restored, accepted, CONFIG, T0) == ([], [])  # after a restart too


def test_a_retracted_profile_of_a_live_acceptance_is_fetched_again(world: World) -> None:
    athlete = next(a for a in world.athletes if a.handles["facebook"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    accepted = _accepted(record, "facebook", athlete.handles["facebook"])
    lookup = _lookup(world, athlete.ref, "facebook")
    first, _ = _through(state, record, accepted, lookup)
    later = T0 + timedelta(minutes=1)
    _, [again] = handle(state, _retracted(first), CONFIG, later)
    assert (again.acceptance_id, again.fetch, again.supersedes) == (accepted.event_id, 1, None)
    current = state.fields["facebook"]
    assert current.profile is None and current.requested_at == later
    assert handle(state, _retracted(first), CONFIG, later) == ([], [])  # redelivered
    assert due(state, record.entity_id, later + timedelta(minutes=6), CONFIG) == [again]
    second = fetched(again, lookup, attempts=1, at=later, config=CONFIG)
    assert second.event_id != first.event_id  # a new id: not retracted with the first
    handle(state, second, CONFIG, later)
    handle(state, first, CONFIG, later)  # the retracted one read again changes nothing
    assert state.fields["facebook"].profile_id == second.event_id
    # Retracted through its acceptance: the field goes, nothing is fetched for it.
    assert handle(state, _retracted(second, redaction="r2", via=accepted.event_id), CONFIG,
                  later) == ([], [])
    assert "facebook" not in state.fields


def test_a_fetch_retracted_before_it_is_read_back_is_asked_again(world: World) -> None:
    athlete = next(a for a in world.athletes if a.handles["instagram"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    handle(state, record, CONFIG, T0)
    accepted = _accepted(record, "instagram", athlete.handles["instagram"])
    _, [request] = handle(state, accepted, CONFIG, T0)
    lookup = _lookup(world, athlete.ref, "instagram")
    result = fetched(request, lookup, attempts=1, at=T0, config=CONFIG)
    assert handle(state, _retracted(result), CONFIG, T0) == ([], [])  # not read back yet
    _, [again] = handle(state, result, CONFIG, T0)
    assert again.fetch == 1 and state.fields["instagram"].profile is None
    assert handle(state, result, CONFIG, T0) == ([], [])  # redelivered


def test_a_redaction_that_keeps_selecting_what_is_fetched_does_not_loop(
        world: World) -> None:
    """A redacted platform source retracts every fetch of it: ask once, then wait for the
    refresh instead of fetching again at once, forever."""
    athlete = next(a for a in world.athletes if a.handles["twitter"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    accepted = _accepted(record, "twitter", athlete.handles["twitter"])
    lookup = _lookup(world, athlete.ref, "twitter")
    first, _ = _through(state, record, accepted, lookup)
    _, [again] = handle(state, _retracted(first, redaction="source"), CONFIG, T0)
    second = fetched(again, lookup, attempts=1, at=T0, config=CONFIG)
    handle(state, second, CONFIG, T0)
    assert handle(state, _retracted(second, redaction="source"), CONFIG, T0) == ([], [])
    assert due(state, record.entity_id, T0 + timedelta(minutes=30), CONFIG) == []
    [refresh] = due(state, record.entity_id, T0 + timedelta(hours=2), CONFIG)
    assert refresh.fetch == 3 and refresh.supersedes is None
    third = fetched(refresh, lookup, attempts=1, at=T0 + timedelta(hours=2), config=CONFIG)
    handle(state, third, CONFIG, T0)
    assert state.fields["twitter"].profile_id == third.event_id  # the refresh is used
    # Another redaction (of one fetch, by id) is asked again once, as usual.
    _, [fourth] = handle(state, _retracted(third, redaction="one-fetch"), CONFIG, T0)
    assert fourth.fetch == 4


def test_a_retracted_profile_takes_its_namesake_rejection_with_it(world: World) -> None:
    athlete, other, platform = _namesake_pair(world)
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    accepted = _accepted(record, platform, other.handles[platform])
    profile, [rejected] = _through(state, record, accepted, _lookup(world, other.ref, platform))
    handle(state, rejected, CONFIG, T0)
    assert state.fields[platform].rejected
    _, [again] = handle(state, _retracted(profile), CONFIG, T0)
    assert not state.fields[platform].rejected
    handle(state, _retracted(rejected, via=profile.event_id), CONFIG, T0)  # its descendant
    refetched = fetched(again, _lookup(world, other.ref, platform), attempts=1, at=T0,
                        config=CONFIG)
    [checked_again], _ = handle(state, refetched, CONFIG, T0)
    assert isinstance(checked_again, HandleRejected)
    assert checked_again.event_id != rejected.event_id
    assert checked_again.meta.parents == (accepted.event_id, refetched.event_id)


def test_a_retracted_record_forgets_its_own_handles(world: World) -> None:
    record = next(r for r in provider_records(world) if r.known_handles)
    state = EnrichmentState()
    handle(state, record, CONFIG, T0)
    assert handle(state, _retracted(record), CONFIG, T0) == ([], [])
    assert state.record is None and state.fields == {}
    assert handle(state, record, CONFIG, T0) == ([], [])  # redelivered
    restored = EnrichmentState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state and not restored.is_empty()


def test_a_refresh_of_a_retracted_profile_is_ignored_when_it_comes_back(world: World) -> None:
    athlete = next(a for a in world.athletes if a.handles["instagram"])
    record = _records(world)[athlete.ref]
    state = EnrichmentState()
    accepted = _accepted(record, "instagram", athlete.handles["instagram"])
    lookup = _lookup(world, athlete.ref, "instagram")
    first, _ = _through(state, record, accepted, lookup)
    [refresh] = due(state, record.entity_id, T0 + timedelta(hours=2), CONFIG)
    _, [again] = handle(state, _retracted(first), CONFIG, T0 + timedelta(hours=2))
    assert (refresh.fetch, refresh.supersedes) == (1, first.event_id)
    assert (again.fetch, again.supersedes) == (1, None) and again != refresh
    stale = fetched(refresh, lookup, attempts=1, at=T0 + timedelta(hours=2), config=CONFIG)
    assert handle(state, stale, CONFIG, T0) == ([], [])  # names the retracted profile
    assert state.fields["instagram"].profile_id is None
    fresh = fetched(again, lookup, attempts=1, at=T0 + timedelta(hours=2), config=CONFIG)
    handle(state, fresh, CONFIG, T0)
    assert state.fields["instagram"].profile_id == fresh.event_id != stale.event_id
