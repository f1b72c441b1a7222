"""The whole crowd pipeline in one process, in simulated time: the declared stages without Kafka.

The stages are the worker's own declarations (``streams.pipeline.crowd_stages``), executed by
``streams.inprocess.InProcessRunner``; this module only drives them: the world's records, then
the simulated crowd's answers as simulated time advances, go in as external inputs, each fully
propagated before the next, which is what a pipeline with negligible latency would do. It is
the reference the broker run is compared with, the quick way to tune the rules on a world, and
what the unit-level end-to-end tests run.

In process, consensus weighs workers with the quality stage's states as the runner holds them
(``_QualityStates``); on the broker it reads them from ``workers.quality`` instead.

With ``downstream=True`` the enrichment stage runs too, its fetches answered at once by the
world's simulated platforms (without faults), and the prediction core; once the crowd is done
the partnered posts' outcomes arrive in the world's partner schedule. Prediction has no stage
declaration yet (its service rebuilds a tainted model from the log, which a step cannot): here
its core runs as a whole-log stage over the topics the service reads, and a retracted outcome
it has learned is not unlearned.

With ``lineage`` the lineage stage runs too: feed a ``RedactionRequested`` between steps of a
``LocalPipeline`` and the stages retract and re-derive as on the broker. No stage tick runs:
fetches never get lost in process, and a refresh after ``max_age`` would make the reference
depend on how long the simulated crowd takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from streams.consensus.core import ConsensusConfig
from streams.consensus.inference import WorkerModel
from streams.enrichment.core import EnrichmentConfig, FetchRequest, fetched
from streams.enrichment.platforms import AccountUnavailable
from streams.enrichment.resilient import Outcome
from streams.enrichment.simulated_platform import simulated_clients
from streams.events.model import Event
from streams.inprocess import InProcessRunner
from streams.lineage.core import LineageConfig
from streams.lineage.stage import lineage_stage
from streams.pipeline import PipelineConfig, crowd_stages
from streams.prediction.core import PredictionConfig, PredictionState
from streams.prediction.stage import prediction_stage
from streams.simulation.convert import (
    gold_items,
    provider_records,
    submission_event,
    tell_crowd,
)
from streams.simulation.partners import outcome_event
from streams.stage import State
from streams.tasks.core import GoldItem, TaskConfig
from streams.tasks.models import HitPublished
from streams.workers.quality import WORKER_KEY, QualityConfig, WorkerState
from streams.world.crowd import SimulatedCrowd
from streams.world.model import World
from streams.world.outcomes import partner_schedule


class _QualityStates:
    """Consensus's ``WorkerView`` in process: the quality stage's states in the runner, each
    decoded once per change (the runner replaces a state, never edits it in place)."""

    def __init__(self) -> None:
        self.states: Mapping[str, State] = {}  # the runner's, once it exists
        self._decoded: dict[str, tuple[State, WorkerState]] = {}

    def _worker(self, worker_id: str) -> WorkerState | None:
        stored = self.states.get(f"{WORKER_KEY}{worker_id}")
        if stored is None:
            return None
        decoded = self._decoded.get(worker_id)
        if decoded is None or decoded[0] is not stored:
            decoded = stored, WorkerState.from_dict(worker_id, stored)
            self._decoded[worker_id] = decoded
        return decoded[1]

    def model(self, worker_id: str) -> WorkerModel | None:
        state = self._worker(worker_id)
        return state.model if state else None

    def blocked(self, worker_id: str) -> bool:
        state = self._worker(worker_id)
        return bool(state and state.blocked)


class _FetchesAtOnce:
    """The enrichment stage's ``Fetches`` in process: each fetch is answered by the world's
    simulated platform before the step returns, at the time of the event that asked for it."""

    def __init__(self, world: World, config: EnrichmentConfig, send: Callable[[Event], None],
                 now: Callable[[], datetime]) -> None:
        self._clients = simulated_clients(world, seed=0, latency=0.0, error_rate=0.0,
                                          slow_rate=0.0, rate_limit=10**9)
        self._config, self._send, self.now = config, send, now
        self._loop = asyncio.new_event_loop()  # one loop for every lookup of the run

    def submit(self, request: FetchRequest) -> None:
        self._send(fetched(request, self._lookup(request), attempts=1, at=self.now(),
                           config=self._config))

    def cancel(self, entity_id: str, retracted_id: str) -> None:
        """Nothing to cancel: no fetch is in flight once a step has returned."""

    def forget_sent(self, before: datetime) -> None:
        """Nothing to forget: no fetch is remembered."""

    def close(self) -> None:
        self._loop.close()

    def _lookup(self, request: FetchRequest) -> Outcome:
        try:
            return self._loop.run_until_complete(
                self._clients[request.platform].lookup(request.handle))
        except AccountUnavailable as unavailable:
            return unavailable


@dataclass
class LocalRun:
    """Everything the run emitted, in order, and the crowd it ran against."""

    events: list[Event] = field(default_factory=list)
    crowd: SimulatedCrowd | None = None
    prediction: PredictionState | None = None


class LocalPipeline:
    """The pipeline and the simulated crowd in one process, driven a step at a time
    (``run_local`` takes every step in turn); ``close`` when done. ``lineage`` adds the lineage
    stage; ``through_json`` see ``InProcessRunner``."""

    def __init__(self, world: World, *, consensus_config: ConsensusConfig | None = None,
                 task_config: TaskConfig | None = None,
                 quality_config: QualityConfig | None = None,
                 gold: tuple[GoldItem, ...] | None = None, crowd_seed: int = 7,
                 downstream: bool = False, lineage: LineageConfig | None = None,
                 through_json: bool = False) -> None:
        config = PipelineConfig(
            tasks=task_config or TaskConfig(), consensus=consensus_config or ConsensusConfig(),
            quality=quality_config or QualityConfig(),
            gold=gold_items(world) if gold is None else gold, enrichment=EnrichmentConfig(),
            platforms=None)
        self.world = world
        self.crowd = SimulatedCrowd(world, seed=crowd_seed)
        self.prediction: PredictionState | None = None
        self._hits: dict[str, HitPublished] = {}
        self._fetches: _FetchesAtOnce | None = None
        workers = _QualityStates()
        if downstream:  # late-bound: the runner is made from the stages
            self._fetches = _FetchesAtOnce(world, config.enrichment,
                                           send=lambda event: self.runner.send(event),  # noqa: PLW0108
                                           now=lambda: self.runner.now())  # noqa: PLW0108
            self.prediction = PredictionState.fresh(PredictionConfig())
        stages = crowd_stages(config, workers, fetches=self._fetches)
        if self.prediction is not None:
            stages.append(prediction_stage(self.prediction, PredictionConfig()))
        if lineage is not None:
            stages.append(lineage_stage(lineage))
        self.runner = InProcessRunner(stages, through_json=through_json)
        workers.states = self.runner.states("quality")

    @property
    def events(self) -> list[Event]:
        return self.runner.log

    def feed(self, event: Event) -> None:
        """Handle one external input; tell the crowd what the pipeline did."""
        for logged in self.runner.feed(event):
            if isinstance(logged, HitPublished):
                self._hits[logged.hit_id] = logged
            tell_crowd(self.crowd, logged)

    def ingest(self) -> None:
        """The world's provider feed."""
        for record in provider_records(self.world):
            self.feed(record)

    def answer(self) -> None:
        """Let the crowd answer until no HIT takes answers."""
        while (moment := self.crowd.next_submission_at()) is not None:
            for submission in self.crowd.advance(moment):
                self.feed(submission_event(submission, self._hits[submission.hit_id]))

    def observe_outcomes(self, posts_per_athlete: int) -> None:
        """The partnered posts' outcomes, in the world's partner schedule."""
        schedule = partner_schedule(self.world, posts_per_athlete=posts_per_athlete, seed=1)
        for order, (ref, post_number) in enumerate(schedule):
            self.feed(outcome_event(self.world, ref, post_number, order=order, seed=1,
                                    instance="local"))

    def close(self) -> None:
        if self._fetches is not None:
            self._fetches.close()


def run_local(world: World, *, consensus_config: ConsensusConfig | None = None,
              task_config: TaskConfig | None = None,
              quality_config: QualityConfig | None = None,
              gold: tuple[GoldItem, ...] | None = None, crowd_seed: int = 7,
              downstream: bool = False, posts_per_athlete: int = 3) -> LocalRun:
    """Ingest the world's feed and run the crowd pipeline until no HIT takes answers.

    ``gold`` defaults to the world's gold set; pass ``()`` for a run without gold HITs.
    """
    pipeline = LocalPipeline(world, consensus_config=consensus_config, task_config=task_config,
                             quality_config=quality_config, gold=gold, crowd_seed=crowd_seed,
                             downstream=downstream)
    try:
        pipeline.ingest()
        pipeline.answer()
        if downstream:
            pipeline.observe_outcomes(posts_per_athlete)
    finally:
        pipeline.close()
    return LocalRun(pipeline.events, pipeline.crowd, pipeline.prediction)
