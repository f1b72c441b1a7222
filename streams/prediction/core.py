"""Predict page views from the latest profiles and learn from observed outcomes: the pure core.

One model serves every athlete, so the state is global: the model, and per athlete the record's
facts and the latest profile per platform (a refresh replaces it, a rejected or unavailable
account removes it). The record and each new, refreshed or removed profile trigger a
prediction; each observed outcome is first predicted from the athlete's current features,
scored, and only then learned (progressive validation), so the published running error is
honest; the athlete then gets a new prediction from the model that has learned it.

Event ids derive from what the event is about and how many outcomes the model had learned, so
re-running the core from a snapshot over the same log gives the same events.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from typing import Any

from streams.enrichment.models import HandleRejected, ProfileEnriched, ProfileUnavailable
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.prediction.features import ProfileFacts, athlete_features
from streams.prediction.learners import DEFAULT_MODEL, PageViewsModel
from streams.prediction.models import ModelEvaluated, PageViewsObserved, PageViewsPredicted
from streams.records.models import RecordReceived

STAGE = "prediction"
STAGE_VERSION = "1.0.0"
SNAPSHOT_FORMAT = 1


@dataclass(frozen=True)
class PredictionConfig:
    """Which model predicts (see ``learners.MODELS``)."""

    model: str = DEFAULT_MODEL
    instance: str = "local"

    @property
    def producer(self) -> Producer:
        return Producer(STAGE, STAGE_VERSION, self.instance)


@dataclass(slots=True)
class Athlete:
    """What the stage knows of one record: its facts and latest profile per platform."""

    record_id: str | None = None
    sport: str | None = None
    league: str | None = None
    country: str | None = None
    profiles: dict[str, tuple[str, ProfileFacts]] = field(default_factory=dict)  # id, facts

    def features(self) -> dict[str, float | str] | None:
        if self.sport is None:
            return None
        facts = {p: f for p, (_, f) in self.profiles.items()}
        return athlete_features(facts, self.sport, self.league, self.country)

    def parents(self) -> tuple[str, ...]:
        profile_ids = tuple(event_id for _, (event_id, _) in sorted(self.profiles.items()))
        return ((self.record_id,) if self.record_id else ()) + profile_ids


@dataclass
class PredictionState:
    """The model and every athlete's inputs; pickled whole into a snapshot."""

    model: PageViewsModel
    athletes: dict[str, Athlete] = field(default_factory=dict)
    learned: set[str] = field(default_factory=set)  # outcome ids: each is learned once

    @classmethod
    def fresh(cls, config: PredictionConfig) -> PredictionState:
        return cls(PageViewsModel(config.model))

    @property
    def outcomes(self) -> int:
        return int(self.model.metrics()["count"])

    def snapshot(self, position: dict[str, Any]) -> bytes:
        """The state with the log ``position`` it reflects (what to read next)."""
        return pickle.dumps({"format": SNAPSHOT_FORMAT, "state": self, "position": position})

    @staticmethod
    def restore(data: bytes) -> tuple[PredictionState, dict[str, Any]]:
        loaded = pickle.loads(data)  # our own snapshots, from our own state directory
        if not isinstance(loaded, dict) or loaded.get("format") != SNAPSHOT_FORMAT:
            raise ValueError("not a prediction snapshot of this format")
        return loaded["state"], loaded["position"]


def handle(state: PredictionState, event: Event, config: PredictionConfig) -> list[Event]:
    """The stage's reaction to one event: a prediction, a model evaluation, or nothing."""
    athlete = state.athletes.setdefault(event.entity_id, Athlete())
    if isinstance(event, RecordReceived):
        known = athlete.record_id == event.event_id
        athlete.record_id, athlete.sport = event.event_id, event.sport
        athlete.league, athlete.country = event.league, event.country
        if known:
            return []  # redelivered
        # Every athlete is predicted once known (an athlete with no account at all still gets
        # the base views), again when a profile read before the record can now be used.
        return _predict(state, athlete, event, config)
    if isinstance(event, PageViewsObserved):
        return _learn(state, athlete, event, config)
    if isinstance(event, ProfileEnriched):
        current = athlete.profiles.get(event.platform)
        if current is not None and current[0] == event.event_id:
            return []  # redelivered
        athlete.profiles[event.platform] = (event.event_id, ProfileFacts(
            event.platform, event.followers, event.following, event.posts,
            event.avg_engagement, event.verified, event.category))
    elif isinstance(event, ProfileUnavailable | HandleRejected):
        if athlete.profiles.pop(event.platform, None) is None:
            return []
    else:
        return []
    return _predict(state, athlete, event, config)


def _predict(state: PredictionState, athlete: Athlete, cause: Event,
             config: PredictionConfig) -> list[Event]:
    features = athlete.features()
    if features is None:
        return []  # no record yet: the sport is unknown
    prediction = state.model.predict(features)
    outcomes = state.outcomes
    parents = athlete.parents() + (() if cause.event_id in athlete.parents()
                                   else (cause.event_id,))
    meta = new_meta(event_type=PageViewsPredicted.schema_name, entity_id=cause.entity_id,
                    occurred_at=cause.meta.occurred_at, producer=config.producer,
                    provenance=Provenance("model", f"{config.model}@{outcomes}"),
                    parents=parents, identity=[config.model, outcomes])
    numbers = {k: float(v) for k, v in sorted(features.items()) if not isinstance(v, str)}
    return [PageViewsPredicted(meta=meta, page_views=_finite(prediction.mean),
                               low=_finite(prediction.low), high=_finite(prediction.high),
                               model=config.model, model_outcomes=outcomes, features=numbers)]


def _learn(state: PredictionState, athlete: Athlete, observed: PageViewsObserved,
           config: PredictionConfig) -> list[Event]:
    features = athlete.features()
    if features is None or observed.event_id in state.learned:
        return []  # a record the stage never saw (nothing to learn from), or redelivered
    state.learned.add(observed.event_id)
    before = state.model.learn(features, observed.page_views)
    metrics = state.model.metrics()
    meta = new_meta(event_type=ModelEvaluated.schema_name, entity_id=f"model:{config.model}",
                    occurred_at=observed.meta.occurred_at, producer=config.producer,
                    provenance=Provenance("model", config.model),
                    parents=(observed.event_id, *athlete.parents()),
                    identity=[config.model, observed.event_id])
    evaluated = ModelEvaluated(meta=meta, model=config.model, outcomes=int(metrics["count"]),
                               predicted=_finite(before.mean), observed=observed.page_views,
                               mae=metrics["mae"], mae_log=metrics["log_mae"])
    # The athlete just taught the model something about themselves: say what it now expects.
    return [evaluated, *_predict(state, athlete, observed, config)]


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0
