"""Our own platform, simulated: partnered athletes post, and the posts' page views come back.

Once an athlete has a prediction the brand partners with them, and their posts' outcomes
(``PageViewsObserved``) arrive over time in the world's partner schedule, interleaved across
athletes, at ``rate`` outcomes per second: the prediction stage sees outcomes trickle in while
it keeps predicting, as it would in production. The views come from the world's hidden truth
(``streams.world.outcomes``), which no stage reads.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from streams.consumer import EventConsumer
from streams.events.codec import Codec
from streams.events.ids import new_meta
from streams.events.model import Producer, Provenance
from streams.prediction.models import PageViewsObserved, PageViewsPredicted
from streams.producer import EventProducer
from streams.settings import Settings
from streams.topics import PREDICTION_PAGEVIEWS, full_name
from streams.world.model import World
from streams.world.outcomes import observe_page_views, partner_schedule

STAGE = "partners"
STAGE_VERSION = "1.0.0"


def outcome_event(world: World, ref: str, post_number: int, *, order: int, seed: int,
                  instance: str) -> PageViewsObserved:
    """Post ``post_number`` of athlete ``ref``, the ``order``-th outcome of the stream.

    An external observation: no parents, the platform and post as provenance, and an event
    time one simulated minute per outcome after the world's date.
    """
    post_id = f"{ref}/post-{post_number}"
    meta = new_meta(event_type=PageViewsObserved.schema_name,
                    entity_id=f"{world.config.provider}:{ref}",
                    occurred_at=world.config.as_of + timedelta(minutes=order),
                    producer=Producer(STAGE, STAGE_VERSION, instance),
                    provenance=Provenance("our-platform", post_id), identity=[post_id, seed])
    return PageViewsObserved(meta=meta, post_id=post_id,
                             page_views=observe_page_views(world.athlete(ref), post_number,
                                                           seed))


@dataclass
class PartnerReport:
    """Outcomes published, and posts still waiting for their athlete's first prediction."""

    published: int = 0
    waiting: int = 0


def run_partner_service(settings: Settings, codec: Codec, world: World, *,
                        posts_per_athlete: int = 3, seed: int = 1, rate: float = 200.0,
                        idle_timeout: float = 20.0,
                        stop: threading.Event | None = None) -> PartnerReport:
    """Publish outcomes for predicted athletes until every post is out or nothing moves.

    Restarting publishes the same outcomes again with the same ids; the prediction stage
    learns each outcome once.
    """
    schedule = partner_schedule(world, posts_per_athlete=posts_per_athlete, seed=seed)
    prefix = f"{world.config.provider}:"
    partnered: set[str] = set()
    producer = EventProducer(settings, codec)
    report = PartnerReport()
    order = 0
    topic = full_name(PREDICTION_PAGEVIEWS, settings.topic_prefix)
    idle_since = time.monotonic()
    with EventConsumer(settings, codec, [topic], group_id=f"partners-{uuid.uuid4().hex}",
                       config={"enable.auto.commit": "false"}) as consumer:
        while schedule and not (stop is not None and stop.is_set()):
            for batch in consumer.batches(max_size=2000, poll_timeout=0.2, idle_timeout=0):
                for consumed in batch.events:
                    event = consumed.event
                    if (isinstance(event, PageViewsPredicted)
                            and event.entity_id.startswith(prefix)):
                        partnered.add(event.entity_id.removeprefix(prefix))
            ready = [slot for slot in schedule if slot[0] in partnered][:max(1, int(rate / 5))]
            for ref, post_number in ready:
                producer.send(outcome_event(world, ref, post_number, order=order, seed=seed,
                                            instance=settings.instance))
                order += 1
            if ready:
                taken = set(ready)
                schedule = [slot for slot in schedule if slot not in taken]
                producer.flush()
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= idle_timeout:
                break
            time.sleep(0.2)
    report.published, report.waiting = order, len(schedule)
    return report
