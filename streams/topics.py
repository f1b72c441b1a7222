"""The topic catalogue: every topic, the events it carries, its partitions and retention.

One topic per event family, keyed by entity id. Stage topics keep their events forever
(``retention.ms=-1``): the log is the system of record. Stages add their topics here as they
are built.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from streams.consensus.models import ConsensusFailed, HandleAccepted
from streams.enrichment.models import HandleRejected, ProfileEnriched, ProfileUnavailable
from streams.events.deadletter import MessageDeadLettered
from streams.events.model import Event
from streams.lineage.models import EventRetracted, RedactionRequested
from streams.prediction.models import ModelEvaluated, PageViewsObserved, PageViewsPredicted
from streams.records.models import RecordReceived
from streams.tasks.models import (
    AssignmentSubmitted,
    HitExpired,
    HitExtended,
    HitPosted,
    HitPublished,
)
from streams.workers.models import (
    AnswerGraded,
    AssignmentReviewed,
    QualificationRevoked,
    ReviewHeld,
    WorkerBlocked,
    WorkerQualified,
    WorkerQualityEstimated,
)


@dataclass(frozen=True)
class TopicSpec:
    """A catalogue entry; ``name`` is the unprefixed name (see ``Settings.topic_prefix``)."""

    name: str
    event_types: tuple[type[Event], ...]
    partitions: int
    cleanup_policy: str = "delete"
    retention_ms: int = -1

    def config(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}


RECORDS_RECEIVED = TopicSpec("records.received", (RecordReceived,), partitions=6)
TASKS_HITS = TopicSpec("tasks.hits", (HitPublished, HitExtended, HitExpired, HitPosted),
                       partitions=6)
TASKS_ASSIGNMENTS = TopicSpec("tasks.assignments", (AssignmentSubmitted,), partitions=6)
CONSENSUS_RESULTS = TopicSpec("consensus.results", (HandleAccepted, ConsensusFailed),
                              partitions=6)
# Grades and quality are keyed by ``worker:<id>``: one worker's statistics live on one partition
# (a gold assignment's held review too, so it reaches that worker's state after its grades).
WORKERS_GRADES = TopicSpec("workers.grades", (AnswerGraded, ReviewHeld), partitions=6)
WORKERS_QUALITY = TopicSpec("workers.quality", (WorkerQualityEstimated, WorkerBlocked,
                                                WorkerQualified, QualificationRevoked),
                            partitions=6)
WORKERS_REVIEWS = TopicSpec("workers.reviews", (AssignmentReviewed,), partitions=6)
ENRICHMENT_PROFILES = TopicSpec(
    "enrichment.profiles", (ProfileEnriched, ProfileUnavailable, HandleRejected), partitions=6)
PREDICTION_PAGEVIEWS = TopicSpec("prediction.pageviews", (PageViewsPredicted,), partitions=6)
# One model learns from every outcome in one order, so outcomes and the model's error curve are
# one partition each: a model rebuilt from a snapshot learns the same outcomes in the same order.
PREDICTION_OUTCOMES = TopicSpec("prediction.outcomes", (PageViewsObserved,), partitions=1)
PREDICTION_METRICS = TopicSpec("prediction.metrics", (ModelEvaluated,), partitions=1)
# Redactions are few and must be applied in the order asked: one partition. Retractions are
# keyed by the retracted event's entity, so each stage reads them co-partitioned with its input.
LINEAGE_REDACTIONS = TopicSpec("lineage.redactions", (RedactionRequested,), partitions=1)
LINEAGE_RETRACTIONS = TopicSpec("lineage.retractions", (EventRetracted,), partitions=6)
DEADLETTER = TopicSpec("deadletter", (MessageDeadLettered,), partitions=3)

CATALOGUE: tuple[TopicSpec, ...] = (
    RECORDS_RECEIVED, TASKS_HITS, TASKS_ASSIGNMENTS, CONSENSUS_RESULTS, WORKERS_GRADES,
    WORKERS_QUALITY, WORKERS_REVIEWS, ENRICHMENT_PROFILES, PREDICTION_PAGEVIEWS,
    PREDICTION_OUTCOMES, PREDICTION_METRICS, LINEAGE_REDACTIONS, LINEAGE_RETRACTIONS, DEADLETTER,
)


def event_types(catalogue: Iterable[TopicSpec] = CATALOGUE) -> tuple[type[Event], ...]:
    """Every event class carried by the catalogue's topics."""
    return tuple(cls for spec in catalogue for cls in spec.event_types)


def spec_for(event_type: type[Event], catalogue: Iterable[TopicSpec] = CATALOGUE) -> TopicSpec:
    """The topic an event class is published to."""
    for spec in catalogue:
        if event_type in spec.event_types:
            return spec
    raise KeyError(f"no topic in the catalogue carries {event_type.__name__}")


def full_name(spec: TopicSpec, prefix: str) -> str:
    return f"{prefix}{spec.name}"
