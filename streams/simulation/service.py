"""The simulated crowd as a Kafka service: HITs, blocks and reviews in, assignments out.

It plays the crowd platform against the real pipeline. Simulated time advances in steps of
``step_seconds``; after each step's submissions are published, the service waits until the
pipeline has caught up (its consumer group's committed offsets reach the ends of the stage
topics) and reads what the pipeline said back (expired and extended HITs, blocked workers,
reviews) before the next step. So the pipeline's reaction time, in simulated time, is one step
whatever the machine's speed, and a broker run is comparable with the in-process run.

The service can be stopped and started again at any point: it first takes back the submissions
it made before (``SimulatedCrowd.restore``, from ``tasks.assignments``), then hears the
pipeline's events from the beginning, and goes on from its last submission.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from confluent_kafka import Consumer, KafkaException, TopicPartition

from streams.broker_calls import is_transient
from streams.consumer import EventConsumer
from streams.crowd.platform import Submission
from streams.events.codec import Codec
from streams.events.errors import EventFormatError
from streams.events.model import Event
from streams.kafka import clients
from streams.producer import EventProducer
from streams.settings import Settings
from streams.simulation.convert import own_submissions, submission_event, tell_crowd
from streams.tasks.models import HitPublished
from streams.tools.log_reader import LogReader, RawMessage
from streams.topics import (
    CONSENSUS_RESULTS,
    LINEAGE_RETRACTIONS,
    RECORDS_RECEIVED,
    TASKS_ASSIGNMENTS,
    TASKS_HITS,
    WORKERS_GRADES,
    WORKERS_QUALITY,
    WORKERS_REVIEWS,
    TopicSpec,
    full_name,
)
from streams.world.crowd import SimulatedCrowd
from streams.world.model import World

log = structlog.get_logger(__name__)

# What the pipeline consumes: caught up means its group has committed to the end of each.
_PIPELINE_INPUTS = (RECORDS_RECEIVED, TASKS_HITS, TASKS_ASSIGNMENTS, CONSENSUS_RESULTS,
                    WORKERS_GRADES, LINEAGE_RETRACTIONS)
_CROWD_INPUTS = (TASKS_HITS, WORKERS_QUALITY, WORKERS_REVIEWS)
_REPORT_EVERY = 30.0  # seconds between two log lines of a crowd still waiting for the pipeline


@dataclass
class CrowdSummary:
    """What the service did: submissions published, simulated steps taken."""

    submitted: int = 0
    steps: int = 0
    hits: int = 0
    unanswerable: int = 0  # HITs about records the simulated world does not know
    finished: bool = False  # the crowd ran dry and the pipeline went idle (not stopped early)


class PipelineProgress:
    """How far the pipeline has got: its consumer group on the topics it reads, and the
    worker-quality view consensus decides with (``view_group``) on ``workers.quality``."""

    def __init__(self, settings: Settings, group_id: str,
                 specs: Iterable[TopicSpec] = _PIPELINE_INPUTS,
                 view_group: str | None = None) -> None:
        def partitions(specs: Iterable[TopicSpec]) -> list[TopicPartition]:
            return [TopicPartition(full_name(spec, settings.topic_prefix), p)
                    for spec in specs for p in range(spec.partitions)]

        self._readers = [(clients.consumer(settings, group, {"enable.auto.commit": False}),
                          partitions(specs))
                         for group, specs in ((group_id, specs),
                                              (view_group, (WORKERS_QUALITY,)))
                         if group is not None]

    def lag(self) -> int:
        """Messages not yet committed past, over every partition of every reader.

        While the broker cannot say (a coordinator moving or loading, a request timing out on a
        busy broker) the answer is unknown, which counts as not caught up: one message behind.
        """
        try:
            return sum(self._lag(consumer, partitions) for consumer, partitions in self._readers)
        except KafkaException as exc:
            if is_transient(exc):
                log.warning("pipeline progress unknown; asking again", error=str(exc))
                self._refresh()
                return 1
            raise

    def _refresh(self) -> None:
        """Fetch the probed topics' metadata again: these consumers never subscribe, so
        librdkafka does not follow their leaders and keeps asking a dead broker until told to
        look again (seen for 60 s after a SIGKILLed broker on a 3-node cluster)."""
        for consumer, partitions in self._readers:
            for topic in {tp.topic for tp in partitions}:
                try:
                    consumer.list_topics(topic, timeout=10)
                except KafkaException:
                    return  # the cluster cannot say yet; the next look asks again

    @staticmethod
    def _lag(consumer: Consumer, partitions: list[TopicPartition]) -> int:
        total = 0
        for tp in consumer.committed(partitions, timeout=10):
            _low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            total += max(0, high - max(tp.offset, 0))
        return total

    def close(self) -> None:
        for consumer, _partitions in self._readers:
            consumer.close()


def run_crowd_service(settings: Settings, codec: Codec, world: World, *, pipeline_group: str,
                      step_seconds: float = 10.0, crowd_seed: int = 7,
                      catch_up_timeout: float = 600.0, poll_interval: float = 0.1,
                      grace: float = 0.3, idle_steps: int = 3,
                      stop: threading.Event | None = None) -> CrowdSummary:
    """Answer the pipeline's HITs until no HIT takes answers and the pipeline is idle.

    ``stop`` ends the run early (the summary then says how far it got), so a caller that gives
    up on the pipeline never leaves the service running behind it.

    ``catch_up_timeout`` only guards against a pipeline that stopped: moving on before the
    stages have reacted would make the crowd outrun early stopping and blocking, so the run's
    figures would depend on the machine's speed.
    """
    crowd = SimulatedCrowd(world, seed=crowd_seed)
    crowd.restore(_submitted_before(settings, codec))
    summary = CrowdSummary()
    producer = EventProducer(settings, codec)
    # The worker's quality view records its position as ``streams.pipeline.view_group`` names it.
    progress = PipelineProgress(settings, pipeline_group,
                                view_group=f"{pipeline_group}-quality-view")
    topics = [full_name(spec, settings.topic_prefix) for spec in _CROWD_INPUTS]
    idle = 0
    # Always from the beginning: a restarted crowd hears every HIT, block and review again.
    # A broker away for longer than the session takes the partitions away, and the restarted
    # broker gives them back only once the old session has expired: the crowd waits for that
    # (see ``_settle``); its session is every group's (``Settings.session_timeout``).
    with EventConsumer(settings, codec, topics, group_id=f"{pipeline_group}-crowd",
                       start_offsets=lambda partitions: {}) as consumer:
        listener = _Listener(world, crowd, consumer, summary, poll_interval)
        stop = stop or threading.Event()
        while not stop.is_set():
            heard = _settle(progress, consumer, listener.listen, timeout=catch_up_timeout,
                            poll_interval=poll_interval, grace=grace, stop=stop)
            moment = crowd.next_submission_at()
            if moment is None:
                idle = 0 if heard else idle + 1
                if idle >= idle_steps:
                    summary.finished = True
                    break
                time.sleep(poll_interval)
                continue
            idle = 0
            summary.steps += 1
            listener.now = moment + timedelta(seconds=step_seconds)
            for submission in crowd.advance(listener.now):
                hit = listener.hits[submission.hit_id]
                producer.send(submission_event(submission, hit, settings.instance))
                summary.submitted += 1
            producer.flush()  # a broker away for a while is waited out (DELIVERY_PATIENCE)
    summary.hits = len(listener.hits)
    progress.close()
    return summary


def _submitted_before(settings: Settings, codec: Codec) -> list[Submission]:
    """The crowd's submissions on the log now: what an earlier run of this service made.

    Read to the end or not at all: a crowd that took back only some would have its HITs
    answered again by other workers.
    """
    reader = LogReader(settings, [full_name(TASKS_ASSIGNMENTS, settings.topic_prefix)])
    submissions = list(own_submissions(_decodable(codec, reader.messages())))
    if reader.incomplete or reader.missing_topics:
        raise RuntimeError(f"could not read the crowd's earlier submissions: partitions "
                           f"{reader.incomplete} stalled, topics {reader.missing_topics} missing")
    return submissions


def _decodable(codec: Codec, messages: Iterable[RawMessage]) -> Iterator[Event]:
    """The events among ``messages``; anything else on the topic is not the crowd's."""
    for message in messages:
        try:
            yield codec.decode(message.value or b"")
        except EventFormatError:
            continue


class _Listener:
    """Tells the crowd what the pipeline said: HITs, extensions, expiries, blocks, reviews.

    ``now`` is the crowd's clock: HITs are created when the crowd hears them, at the first
    HIT's time until a new crowd has taken a step, at its last submission's time for a
    restored one. An event heard again (delivered twice, at least once) is told only once: a
    repeated extension would otherwise ask for its assignments twice.
    """

    def __init__(self, world: World, crowd: SimulatedCrowd, consumer: EventConsumer,
                 summary: CrowdSummary, poll_interval: float) -> None:
        self.hits: dict[str, HitPublished] = {}
        self.now: datetime | None = crowd.clock
        self._heard: set[str] = set()
        self._world, self._crowd, self._consumer = world, crowd, consumer
        self._summary, self._poll_interval = summary, poll_interval

    def listen(self) -> int:
        """Take in everything available now; how many new events that was."""
        heard = 0
        for batch in self._consumer.batches(max_size=5000, poll_timeout=self._poll_interval,
                                            idle_timeout=0):
            for consumed in batch.events:
                event = consumed.event
                if event.event_id in self._heard:
                    continue
                self._heard.add(event.event_id)
                heard += 1
                if not _answerable(self._world, event):
                    self._summary.unanswerable += 1
                    continue
                if isinstance(event, HitPublished):
                    self.hits[event.hit_id] = event
                    self.now = self.now or event.meta.occurred_at
                tell_crowd(self._crowd, event, self.now)
        return heard


def _answerable(world: World, event: Event) -> bool:
    """The simulated crowd can only answer for athletes of its own world."""
    if not isinstance(event, HitPublished):
        return True
    try:
        world.athlete(event.provider_ref)
    except KeyError:
        return False
    return True


def _settle(progress: PipelineProgress, consumer: EventConsumer, listen: Callable[[], int], *,
            timeout: float, poll_interval: float, grace: float, stop: threading.Event) -> int:
    """Wait for the pipeline to catch up and hear everything it said; events heard.

    Caught up: the pipeline's group has committed to the end of its inputs and this service has
    read to the end of its own. ``grace`` then lets the stages' in-process views (the worker
    quality consensus reads) take in the last quality events before the check is repeated.
    Without partitions (not yet given, or taken away while the broker was away) the service
    cannot tell what it has not read, so it is not caught up: a crowd that went on would not
    hear the pipeline's blocks, expiries and reviews.
    """
    def unread() -> int:
        return consumer.lag() if consumer.assigned() else 1

    heard = 0
    deadline = time.monotonic() + timeout
    report = time.monotonic() + _REPORT_EVERY
    while time.monotonic() < deadline and not stop.is_set():
        heard += listen()
        behind, missing = progress.lag(), unread()
        if behind == 0 and missing == 0:
            time.sleep(grace)
            heard += listen()
            if progress.lag() == 0 and unread() == 0:
                return heard
        elif time.monotonic() >= report:  # a long wait is never silent
            log.warning("waiting for the pipeline", pipeline_lag=behind, unread=missing,
                        assigned=consumer.assigned())
            report = time.monotonic() + _REPORT_EVERY
        time.sleep(poll_interval)
    return heard
