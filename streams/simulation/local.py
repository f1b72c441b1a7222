"""The whole crowd pipeline in one process, in simulated time: the cores without Kafka.

The same cores the Faust agents call (records, tasks, consensus, grading, quality) are wired
here through a FIFO of events, with the simulated crowd answering HITs as simulated time
advances. Every event is fully propagated before the next submission, which is what a pipeline
with negligible latency would do. It is the reference the broker run is compared with, the
quick way to tune the rules on a world, and what the unit-level end-to-end tests run.

With ``downstream=True`` the enrichment stage (fetching from the world's simulated platforms,
without faults) and the prediction stage run too, and once the crowd is done the partnered
posts' outcomes arrive in the world's partner schedule.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from streams.consensus import core as consensus
from streams.consensus.core import ConsensusConfig
from streams.consensus.inference import WorkerModel
from streams.consensus.models import ConsensusFailed, HandleAccepted
from streams.consensus.state import EntityState
from streams.enrichment import core as enrichment
from streams.enrichment.core import EnrichmentConfig, EnrichmentState, FetchRequest
from streams.enrichment.models import HandleRejected
from streams.enrichment.platforms import AccountUnavailable
from streams.enrichment.resilient import Outcome
from streams.enrichment.simulated_platform import simulated_clients
from streams.events.model import Event
from streams.prediction import core as prediction
from streams.prediction.core import PredictionConfig, PredictionState
from streams.records.models import RecordReceived
from streams.simulation.convert import (
    gold_items,
    provider_records,
    submission_event,
    tell_crowd,
)
from streams.simulation.partners import outcome_event
from streams.tasks import core as tasks
from streams.tasks.core import GoldItem, TaskConfig, TaskState
from streams.tasks.gold import gold_labels
from streams.tasks.models import AssignmentSubmitted, HitExpired, HitExtended, HitPublished
from streams.workers import grading, quality
from streams.workers.grading import GradingConfig, GradingState
from streams.workers.models import AnswerGraded
from streams.workers.quality import QualityConfig, WorkerState
from streams.world.crowd import SimulatedCrowd
from streams.world.model import World
from streams.world.outcomes import partner_schedule


@dataclass
class _LiveWorkers:
    """The consensus stage's view of workers, read straight from the quality states."""

    states: dict[str, WorkerState]

    def model(self, worker_id: str) -> WorkerModel | None:
        state = self.states.get(worker_id)
        return state.model if state else None

    def blocked(self, worker_id: str) -> bool:
        state = self.states.get(worker_id)
        return bool(state and state.blocked)


@dataclass
class LocalRun:
    """Everything the run emitted, in order, and the crowd it ran against."""

    events: list[Event] = field(default_factory=list)
    crowd: SimulatedCrowd | None = None
    prediction: PredictionState | None = None


class _Downstream:
    """Enrichment and prediction in process: fetches run at once, in the order asked."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.config = EnrichmentConfig()
        self.clients = simulated_clients(world, seed=0, latency=0.0, error_rate=0.0,
                                         slow_rate=0.0, rate_limit=10**9)
        self.states: dict[str, EnrichmentState] = {}
        self.prediction = PredictionState.fresh(PredictionConfig())
        self.loop = asyncio.new_event_loop()  # one loop for every lookup of the run

    def react(self, event: Event) -> list[Event]:
        state = self.states.setdefault(event.entity_id, EnrichmentState())
        out, requests = enrichment.handle(state, event, self.config, self.world.config.as_of)
        for request in requests:
            out.append(enrichment.fetched(request, self._lookup(request), attempts=1,
                                          at=event.meta.occurred_at, config=self.config))
        return out + prediction.handle(self.prediction, event, PredictionConfig())

    def _lookup(self, request: FetchRequest) -> Outcome:
        try:
            return self.loop.run_until_complete(
                self.clients[request.platform].lookup(request.handle))
        except AccountUnavailable as unavailable:
            return unavailable


def run_local(world: World, *, consensus_config: ConsensusConfig | None = None,
              task_config: TaskConfig | None = None,
              quality_config: QualityConfig | None = None,
              gold: tuple[GoldItem, ...] | None = None, crowd_seed: int = 7,
              downstream: bool = False, posts_per_athlete: int = 3) -> LocalRun:
    """Ingest the world's feed and run the crowd pipeline until no HIT takes answers.

    ``gold`` defaults to the world's gold set; pass ``()`` for a run without gold HITs.
    """
    gold = gold_items(world) if gold is None else gold
    consensus_config = consensus_config or ConsensusConfig()
    task_config = task_config or TaskConfig()
    quality_config = quality_config or QualityConfig()
    grading_config = GradingConfig(gold=gold_labels(gold))
    crowd = SimulatedCrowd(world, seed=crowd_seed)
    run = LocalRun(crowd=crowd)
    task_states: dict[str, TaskState] = {}
    consensus_states: dict[str, EntityState] = {}
    grading_states: dict[str, GradingState] = {}
    worker_states: dict[str, WorkerState] = {}
    view = _LiveWorkers(worker_states)
    queue: deque[Event] = deque()
    hits: dict[str, HitPublished] = {}
    after = _Downstream(world) if downstream else None

    def react(event: Event) -> list[Event]:
        entity = event.entity_id
        out: list[Event] = []
        if isinstance(event, RecordReceived | HandleAccepted | ConsensusFailed | HandleRejected):
            out += tasks.handle(task_states.setdefault(entity, TaskState()), event, task_config,
                                gold)
        if isinstance(event, HitPublished | HitExtended | HitExpired | AssignmentSubmitted):
            state = consensus_states.setdefault(entity, EntityState(entity))
            out += consensus.handle(state, event, view, consensus_config)
            out += consensus.reconsider(state, view, consensus_config)
        if isinstance(event, HitPublished | AssignmentSubmitted | HandleAccepted | HitExpired):
            out += grading.handle(grading_states.setdefault(entity, GradingState(entity)), event,
                                  grading_config)
        if isinstance(event, AnswerGraded):
            worker = worker_states.setdefault(event.worker_id, WorkerState(event.worker_id))
            out += quality.handle(worker, event, quality_config)
        if isinstance(event, HitPublished):
            hits[event.hit_id] = event
        tell_crowd(crowd, event)
        return out + (after.react(event) if after else [])

    def drain() -> None:
        while queue:
            event = queue.popleft()
            run.events.append(event)
            queue.extend(react(event))

    for record in provider_records(world):
        queue.append(record)
        drain()
    while (moment := crowd.next_submission_at()) is not None:
        for submission in crowd.advance(moment):
            hit = hits[submission.hit_id]
            queue.append(submission_event(submission, hit))
            drain()
    if after is not None:
        schedule = partner_schedule(world, posts_per_athlete=posts_per_athlete, seed=1)
        for order, (ref, post_number) in enumerate(schedule):
            queue.append(outcome_event(world, ref, post_number, order=order, seed=1,
                                       instance="local"))
            drain()
        run.prediction = after.prediction
        after.loop.close()
    return run
