"""The crowd bridge: HITs and the pipeline's decisions out to a platform, submissions back in.

``Bridge`` is the core, free of Kafka: ``hear`` turns a pipeline event into platform calls
(``streams.crowd.events.platform_calls``) and returns the events that records (``HitPosted``:
the platform's id for our HIT); ``poll`` returns the platform's new submissions as
``AssignmentSubmitted`` (and unreadable ones as dead letters). ``run_bridge`` is the loop
around it: it reads what the log already holds, consumes ``tasks.hits``, ``workers.quality``
and ``workers.reviews`` (what ``crowdlog crowd simulate`` listens to), and commits a position
only after the outputs it caused are flushed.

Nothing is lost or repeated across a restart: submissions are events whose ids follow from the
assignment id, and the bridge first reads ``tasks.assignments`` for the ones it already
published (a repeated poll hands them out no more); ``HitPosted`` on ``tasks.hits`` tells it
which HITs exist on the platform, so none is created twice. A platform that keeps its own
state (Mechanical Turk) resumes the inputs from the committed position; the simulated crowd,
in memory, hears them from the beginning again (``replays``).

Bad input never stops the bridge: a call the platform refuses (a HIT it will not create, an
unknown worker, an expired HIT) dead-letters the pipeline event with the refusal; an
unreadable answer dead-letters the assignment with its answer; a platform that does not answer
(throttled, faulting) is asked again, the input unacknowledged meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import structlog

from streams.consumer import Consumed, EventConsumer
from streams.crowd.events import (
    CROWD_STAGE,
    CROWD_VERSION,
    CreateHit,
    apply_call,
    hit_posted,
    hit_request,
    platform_calls,
    submission_event,
    submissions_from,
)
from streams.crowd.mturk import UnreadableSubmission
from streams.crowd.platform import (
    CrowdPlatform,
    HitRequest,
    PlatformRefused,
    PlatformUnavailable,
    Submission,
)
from streams.events.codec import Codec
from streams.events.deadletter import (
    MAX_ORIGINAL_VALUE,
    MessageDeadLettered,
    dead_letter_message,
    truncated,
)
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.producer import EventProducer
from streams.settings import Settings
from streams.tasks.models import (
    AssignmentSubmitted,
    HitExpired,
    HitExtended,
    HitPosted,
    HitPublished,
)
from streams.tools.log_reader import LogReader
from streams.topics import (
    TASKS_ASSIGNMENTS,
    TASKS_HITS,
    WORKERS_QUALITY,
    WORKERS_REVIEWS,
    full_name,
)

log = structlog.get_logger(__name__)

INPUTS = (TASKS_HITS, WORKERS_QUALITY, WORKERS_REVIEWS)


class BridgedPlatform(CrowdPlatform, Protocol):
    """What the bridge needs of a platform beyond ``CrowdPlatform``."""

    calls: Counter[str]
    unreadable: list[UnreadableSubmission]

    @property
    def name(self) -> str: ...

    @property
    def replays(self) -> bool: ...

    def now(self) -> datetime | None: ...

    def remember(self, hit: HitRequest, platform_hit_id: str, *,
                 max_assignments: int | None = None,
                 closed_at: datetime | None = None) -> None: ...

    def restore(self, submissions: Iterable[Submission]) -> None: ...


@dataclass
class BridgeProgress:
    """What the bridge has done since it started."""

    hits_posted: int = 0
    assignments_in: int = 0
    unreadable: int = 0
    refused: int = 0
    heard: int = 0


@dataclass
class Bridge:
    """The bridge's decisions and memory, without Kafka (see the module)."""

    platform: BridgedPlatform
    instance: str
    progress: BridgeProgress = field(default_factory=BridgeProgress)
    hits: dict[str, HitPublished] = field(default_factory=dict)
    posted: dict[str, str] = field(default_factory=dict)
    published: set[str] = field(default_factory=set)
    _heard: set[str] = field(default_factory=set)

    @property
    def source(self) -> str:
        return f"crowd:{self.platform.name}"

    def restore(self, log_events: Iterable[Event]) -> None:
        """Take in what the log holds: HITs, this platform's postings, its submissions."""
        submissions: list[Submission] = []
        posted_at: dict[str, datetime] = {}
        assignments: dict[str, int] = {}  # MaxAssignments after the latest extension
        closed: dict[str, datetime | None] = {}  # expired when, None once re-opened
        for event in log_events:
            if isinstance(event, HitPublished):
                self.hits[event.hit_id] = event
            elif isinstance(event, HitPosted) and event.platform == self.platform.name:
                self.posted[event.hit_id] = event.platform_hit_id
                posted_at[event.hit_id] = event.meta.occurred_at
            elif isinstance(event, HitExtended):
                assignments[event.hit_id] = event.max_assignments
                closed[event.hit_id] = None
            elif isinstance(event, HitExpired):
                closed[event.hit_id] = event.meta.occurred_at
            elif isinstance(event, AssignmentSubmitted):
                submissions.extend(submissions_from([event], self.source))
        for hit_id, platform_hit_id in self.posted.items():
            if hit_id in self.hits:
                self.platform.remember(hit_request(self.hits[hit_id], posted_at[hit_id]),
                                       platform_hit_id, max_assignments=assignments.get(hit_id),
                                       closed_at=closed.get(hit_id))
        self.published.update(s.assignment_id for s in submissions)
        self.platform.restore(submissions)

    def hear(self, event: Event) -> list[Event]:
        """Make the calls ``event`` asks for; the events that record them.

        Raises ``PlatformRefused`` (the event is then done with: dead-letter it) and
        ``PlatformUnavailable`` (not done: hear it again later; every call is idempotent).
        """
        if event.event_id in self._heard:
            return []
        if isinstance(event, HitPublished):
            self.hits[event.hit_id] = event
        outputs: list[Event] = []
        try:
            for call in platform_calls(event, self.platform.now()):
                platform_hit_id = apply_call(self.platform, call)
                if (isinstance(event, HitPublished) and isinstance(call, CreateHit)
                        and platform_hit_id is not None
                        and self.posted.get(event.hit_id) != platform_hit_id):
                    self.posted[event.hit_id] = platform_hit_id
                    self.progress.hits_posted += 1
                    outputs.append(hit_posted(event, self.platform.name, platform_hit_id,
                                              self.instance, call.request.created_at))
        except PlatformRefused:
            self._heard.add(event.event_id)
            self.progress.refused += 1
            raise
        self._heard.add(event.event_id)
        self.progress.heard += 1
        return outputs

    def poll(self) -> list[Event]:
        """The platform's new submissions as events, and dead letters for unreadable ones."""
        now = self.platform.now()
        if now is None:
            return []
        outputs: list[Event] = []
        for submission in self.platform.advance(now):
            hit = self.hits.get(submission.hit_id)
            if hit is None or submission.assignment_id in self.published:
                continue
            self.published.add(submission.assignment_id)
            self.progress.assignments_in += 1
            outputs.append(submission_event(submission, hit, self.instance, source=self.source))
        for bad in self.platform.unreadable:
            self.progress.unreadable += 1
            outputs.append(unreadable_letter(bad, self.hits.get(bad.hit_id), self.source,
                                             self.instance))
        self.platform.unreadable.clear()
        return outputs

    def report(self) -> dict[str, object]:
        calls = self.platform.calls
        return {"hits_posted": self.progress.hits_posted, "hits_known": len(self.posted),
                "assignments_in": self.progress.assignments_in,
                "unreadable": self.progress.unreadable, "refused": self.progress.refused,
                "calls": sum(calls.values()), "calls_by_operation": dict(sorted(calls.items()))}


def unreadable_letter(bad: UnreadableSubmission, hit: HitPublished | None, source: str,
                      instance: str) -> MessageDeadLettered:
    """A submitted assignment whose answer could not be read, kept with its answer.

    Its id follows from the assignment, so polling it again after a restart repeats nothing.
    """
    answer, note = truncated(bad.answer.encode(), MAX_ORIGINAL_VALUE, "answer",
                             f"{source} assignment {bad.assignment_id}")
    meta = new_meta(
        event_type=MessageDeadLettered.schema_name,
        entity_id=hit.entity_id if hit else f"{source}:{bad.hit_id}",
        occurred_at=bad.submitted_at, producer=Producer(CROWD_STAGE, CROWD_VERSION, instance),
        provenance=Provenance(source, bad.assignment_id),
        parents=(hit.event_id,) if hit else (), identity=[bad.hit_id, bad.assignment_id])
    return MessageDeadLettered(
        meta=meta, error="unreadable_answer", original_value=answer,
        reason=(f"assignment {bad.assignment_id} of HIT {bad.hit_id} by worker "
                f"{bad.worker_id}: {bad.reason}{note}"))


def refused_letter(consumed: Consumed, refusal: PlatformRefused,
                   instance: str) -> MessageDeadLettered:
    """A pipeline event the platform refused to act on, with the refusal as the reason."""
    return dead_letter_message(
        topic=consumed.topic, partition=consumed.partition, offset=consumed.offset,
        key=consumed.key, value=consumed.value, timestamp=consumed.timestamp,
        error="platform_refused", reason=str(refusal),
        producer=Producer(CROWD_STAGE, CROWD_VERSION, instance))


def read_log(settings: Settings, codec: Codec) -> list[Event]:
    """``tasks.hits`` and ``tasks.assignments`` as they stand: read whole or not at all (a
    bridge that knew only some of its submissions would publish the rest again)."""
    reader = LogReader(settings, [full_name(spec, settings.topic_prefix)
                                  for spec in (TASKS_HITS, TASKS_ASSIGNMENTS)])
    events = [event for _coordinates, event in reader.events(codec)]
    if reader.incomplete or reader.missing_topics:
        raise RuntimeError(f"could not read the log: partitions {reader.incomplete} stalled, "
                           f"topics {reader.missing_topics} missing")
    return events


def run_bridge(settings: Settings, codec: Codec, platform: BridgedPlatform, *,
               poll_interval: float = 5.0, idle_timeout: float | None = None,
               report_every: float = 30.0, retry_wait: float = 5.0,
               group_instance_id: str | None = None,
               stop: threading.Event | None = None) -> Bridge:
    """Run until ``stop`` (or ``idle_timeout`` seconds without an event in or out, counted
    once the group has given the bridge its partitions and it has read them to the end).

    ``settings.session_timeout`` is how long the group waits before a killed bridge's
    partitions go to its restarted self; with ``group_instance_id`` (static membership) they go
    at once.
    """
    stop = stop or threading.Event()
    bridge = Bridge(platform, settings.instance)
    bridge.restore(read_log(settings, codec))
    log.info("bridge started", platform=platform.name, hits=len(bridge.hits),
             posted=len(bridge.posted), submissions=len(bridge.published))
    topics = [full_name(spec, settings.topic_prefix) for spec in INPUTS]
    producer = EventProducer(settings, codec)
    last_activity = last_report = time.monotonic()
    with EventConsumer(settings, codec, topics,
                       group_id=f"{settings.topic_prefix}crowdlog-bridge-{platform.name}",
                       start_offsets=(lambda _partitions: {}) if platform.replays else None,
                       deadletter=producer,
                       config={"group.instance.id": group_instance_id}
                       if group_instance_id else None) as consumer:
        while not stop.is_set():
            active = False
            for batch in consumer.batches(max_size=500, poll_timeout=0.2, idle_timeout=0):
                for consumed in batch.events:
                    if not _hear(bridge, consumed, producer, retry_wait, stop):
                        producer.flush()
                        return bridge  # stopped mid-batch: the batch stays unacknowledged
                    active = True
                # the outputs are safe before asking for the next batch stores this position
                producer.flush()
            outputs = _retrying(bridge.poll, retry_wait, stop) or []
            for event in outputs:
                producer.send(event)
            producer.flush()
            now = time.monotonic()
            if active or outputs or not consumer.caught_up():
                last_activity = now
            if now - last_report >= report_every:
                log.info("bridge progress", **bridge.report())
                last_report = now
            if idle_timeout is not None and now - last_activity >= idle_timeout:
                break
            stop.wait(poll_interval)
    log.info("bridge stopped", **bridge.report())
    return bridge


def _hear(bridge: Bridge, consumed: Consumed, producer: EventProducer, retry_wait: float,
          stop: threading.Event) -> bool:
    """Hear one event until done (refusals dead-lettered); False if stopped first."""
    while True:
        try:
            outputs: list[Event] = bridge.hear(consumed.event)
        except PlatformRefused as refusal:
            log.warning("platform refused", event_id=consumed.event.event_id,
                        event_type=consumed.event.meta.event_type, refusal=str(refusal))
            outputs = [refused_letter(consumed, refusal, bridge.instance)]
        except PlatformUnavailable as exc:
            log.warning("platform unavailable; asking again", error=str(exc), wait=retry_wait)
            if stop.wait(retry_wait):
                return False
            continue
        for event in outputs:
            producer.send(event)
        return True


def _retrying(poll: Callable[[], list[Event]], retry_wait: float,
              stop: threading.Event) -> list[Event] | None:
    """``poll()`` until the platform answers; None if stopped first."""
    while True:
        try:
            result: list[Event] = poll()
            return result
        except PlatformUnavailable as exc:
            log.warning("platform unavailable; polling again", error=str(exc), wait=retry_wait)
            if stop.wait(retry_wait):
                return None
