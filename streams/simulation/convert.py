"""Between the pipeline's events and the simulated crowd's MTurk-shaped calls.

The crowd platform speaks Mechanical Turk (``HitRequest`` in, ``Submission`` out); the pipeline
speaks events. The translations themselves are ``streams.crowd.events``, shared with the bridge
to a real platform; these are the simulated crowd's uses of them (its provenance source), so
the in-process run and the Kafka crowd service give the crowd identical requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from streams.crowd import events as crowd_events
from streams.crowd.events import apply_call, platform_calls, submissions_from
from streams.crowd.platform import CrowdPlatform, Submission
from streams.events.model import Event, Producer
from streams.records.core import normalise_row
from streams.records.models import RecordReceived
from streams.tasks.core import GoldItem
from streams.tasks.models import AssignmentSubmitted, HitPublished
from streams.world.model import World

CROWD_SOURCE = "crowd:simulated"
_INGEST = Producer("records", "1.0.0", "simulation")


def provider_records(world: World) -> Iterator[RecordReceived]:
    """The world's feed as ingest would publish it: valid rows only, duplicates once."""
    seen: set[str] = set()
    for row in world.provider_rows:
        outcome = normalise_row(row.fields, provider=world.config.provider,
                                received_at=world.config.as_of, producer=_INGEST)
        if isinstance(outcome, RecordReceived) and outcome.event_id not in seen:
            seen.add(outcome.event_id)
            yield outcome


def gold_items(world: World) -> tuple[GoldItem, ...]:
    """The world's gold set with the context a gold HIT shows (name, sport, league, team)."""
    answers: dict[str, dict[str, str | None]] = {}
    for gold in world.gold:
        answers.setdefault(gold.provider_ref, {})[gold.platform] = gold.handle
    items = []
    for ref, platforms in answers.items():
        athlete = world.athlete(ref)
        values = {"name": athlete.name, "sport": athlete.sport, "league": athlete.league,
                  "team": athlete.team, "country": athlete.country}
        context = {key: value for key, value in values.items() if value}
        items.append(GoldItem(ref, context, platforms))
    return tuple(items)


def submission_event(submission: Submission, hit: HitPublished,
                     instance: str = "simulation") -> AssignmentSubmitted:
    """A simulated crowd's submission as the pipeline's ``AssignmentSubmitted``."""
    return crowd_events.submission_event(submission, hit, instance, source=CROWD_SOURCE)


def own_submissions(events: Iterable[Event]) -> Iterator[Submission]:
    """The simulated crowd's submissions among ``events``: what a restarted crowd takes back
    from the log (``SimulatedCrowd.restore``); assignments from any other source are not its
    own."""
    return submissions_from(events, CROWD_SOURCE)


def tell_crowd(crowd: CrowdPlatform, event: Event, now: datetime | None = None) -> None:
    """What the crowd platform hears from the pipeline (the MTurk API calls).

    ``now`` is the platform's clock when it hears it; a HIT is created then (by default at its
    event time, which replays the feed's own timeline).
    """
    for call in platform_calls(event, now):
        apply_call(crowd, call)
