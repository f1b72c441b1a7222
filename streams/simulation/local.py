"""The whole crowd pipeline in one process, in simulated time: the cores without Kafka.

The same cores the Faust agents call (records, tasks, consensus, grading, quality) are wired
here through a FIFO of events, with the simulated crowd answering HITs as simulated time
advances. Every event is fully propagated before the next submission, which is what a pipeline
with negligible latency would do. It is the reference the broker run is compared with, the
quick way to tune the rules on a world, and what the unit-level end-to-end tests run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from streams.consensus import core as consensus
from streams.consensus.core import ConsensusConfig
from streams.consensus.inference import WorkerModel
from streams.consensus.models import ConsensusFailed, HandleAccepted
from streams.consensus.state import EntityState
from streams.events.model import Event
from streams.records.models import RecordReceived
from streams.simulation.convert import (
    gold_items,
    provider_records,
    submission_event,
    tell_crowd,
)
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


def run_local(world: World, *, consensus_config: ConsensusConfig | None = None,
              task_config: TaskConfig | None = None,
              quality_config: QualityConfig | None = None,
              gold: tuple[GoldItem, ...] | None = None, crowd_seed: int = 7) -> LocalRun:
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

    def react(event: Event) -> list[Event]:
        entity = event.entity_id
        out: list[Event] = []
        if isinstance(event, RecordReceived | HandleAccepted | ConsensusFailed):
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
        return out

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
            queue.append(submission_event(submission, hit.entity_id, hit.gold))
            drain()
    return run
