"""Predict page views from the latest profiles and learn from observed outcomes: the pure core.

One model serves every athlete, so the state is global: the model, and per athlete the record's
facts and the latest profile per platform (a refresh replaces it, a rejected or unavailable
account removes it). The record and each new, refreshed or removed profile trigger a
prediction; each observed outcome is first predicted from the athlete's current features,
scored, and only then learned (progressive validation), so the published running error is
honest; the athlete then gets a new prediction from the model that has learned it.

Event ids derive from what the event is about and how many outcomes the model had learned, so
re-running the core from a snapshot over the same log gives the same events.

Retractions (``EventRetracted``; the lineage stage retracts the descendants itself, including
the predictions and evaluations made from a retracted input) make the state forget:

* a retracted profile the athlete's features use is dropped and the athlete predicted again,
  the retraction standing as the new prediction's cause (so it never names the profile), at
  the latest event time read (so it is the athlete's latest prediction);
* a retracted record forgets the athlete: no more predictions for them;
* a retracted outcome is never learned; one the model has already learned taints the model,
  which must then be rebuilt (:func:`rebuild`): the service restores the newest snapshot that
  learned no retracted outcome (:func:`predates`) and replays the outcomes log from its
  position, skipping the retracted ones.

Every retracted id is kept in the state (so in every snapshot): a retracted event read late,
redelivered or replayed after a restart is never used again.

After a rebuild, ``outcomes`` (on ``ModelEvaluated``) and ``model_outcomes`` (on
``PageViewsPredicted``) go on counting from the rebuilt model's own count, which no longer
includes the retracted outcomes: they stay "how many outcomes this model has learned", the
number its running errors (``mae``, ``mae_log``, recomputed by the replay over the outcomes
kept) are averaged over. The counter therefore steps back by the outcomes removed, and the
evaluations of those outcomes are retracted by the lineage stage (they descend from them).
The replay publishes no evaluations: each kept outcome's evaluation is already on the log, and
its id (model and outcome) would repeat with other numbers.
"""

from __future__ import annotations

import hashlib
import math
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.enrichment.models import HandleRejected, ProfileEnriched, ProfileUnavailable
from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.lineage.models import EventRetracted
from streams.prediction.features import ProfileFacts, athlete_features
from streams.prediction.learners import DEFAULT_MODEL, PageViewsModel
from streams.prediction.models import ModelEvaluated, PageViewsObserved, PageViewsPredicted
from streams.prediction.snapshots import SnapshotError, sign, verify
from streams.records.models import RecordReceived

STAGE = "prediction"
STAGE_VERSION = "1.0.0"
# 2: signed (``snapshots``), the state and position pickled whole; 1 was the unsigned pickle,
# which is refused rather than trusted.
SNAPSHOT_FORMAT = 2
# The retracted events the state is built on; retractions of anything else change nothing.
_TRACKED = frozenset({RecordReceived.schema_name, ProfileEnriched.schema_name,
                      ProfileUnavailable.schema_name, HandleRejected.schema_name,
                      PageViewsObserved.schema_name})


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
    """The model and every athlete's inputs; pickled whole into a signed snapshot."""

    model: PageViewsModel
    athletes: dict[str, Athlete] = field(default_factory=dict)
    learned: set[str] = field(default_factory=set)  # outcome ids: each is learned once
    retracted: set[str] = field(default_factory=set)  # withdrawn inputs: never used again
    # Learned outcomes since retracted, with when their retraction happened: the model must be
    # rebuilt without them (``rebuild``) before it is trusted again.
    unlearn: dict[str, datetime] = field(default_factory=dict)
    # The latest event time read. Predictions re-derived after a retraction or a rebuild carry
    # it, so they are the athlete's latest for readers that order predictions by event time.
    latest: datetime | None = None

    @classmethod
    def fresh(cls, config: PredictionConfig) -> PredictionState:
        return cls(PageViewsModel(config.model))

    @property
    def needs_rebuild(self) -> bool:
        return bool(self.unlearn)

    @property
    def outcomes(self) -> int:
        return int(self.model.metrics()["count"])

    def snapshot(self, position: dict[Any, int], key: bytes) -> bytes:
        """The state with the log ``position`` it reflects (what to read next), signed with
        ``key`` (see ``snapshots`` for the format and why it is a pickle)."""
        payload = pickle.dumps({"state": self, "position": position})
        return sign(payload, key, version=SNAPSHOT_FORMAT)

    @staticmethod
    def restore(data: bytes, key: bytes) -> tuple[PredictionState, dict[Any, int]]:
        """The state and position ``snapshot`` wrote with ``key``.

        Raises ``SnapshotError`` (a ``ValueError``) for anything else. The signature is
        checked before unpickling, so a forged file runs no code; once it holds, the bytes are
        this service's own, and what remains to check is that they still unpickle into this
        code's types (a class renamed or moved since the snapshot was written does not).
        """
        payload = verify(data, key, version=SNAPSHOT_FORMAT)
        try:
            loaded = pickle.loads(payload)  # signed: written by a holder of our key
        except Exception as error:  # unpickling raises anything a missing class's import does
            raise SnapshotError(f"does not unpickle: {type(error).__name__}: {error}") from error
        if not (isinstance(loaded, dict) and loaded.keys() == {"state", "position"}
                and isinstance(loaded["state"], PredictionState)
                and isinstance(loaded["state"].model, PageViewsModel)
                and _is_position(loaded["position"])):
            raise SnapshotError("does not hold a prediction state and a log position")
        return loaded["state"], loaded["position"]


def _is_position(value: object) -> bool:
    """Whether ``value`` is a log position: the next offset per (topic, partition)."""
    return isinstance(value, dict) and all(
        isinstance(where, tuple) and len(where) == 2 and isinstance(where[0], str)
        and isinstance(where[1], int) and isinstance(offset, int)
        for where, offset in value.items())


def handle(state: PredictionState, event: Event, config: PredictionConfig) -> list[Event]:
    """The stage's reaction to one event: a prediction, a model evaluation, or nothing.

    A retracted learned outcome only marks the model for a rebuild (``needs_rebuild``): the
    caller, who can read the log, calls :func:`rebuild`.
    """
    at = event.meta.occurred_at
    state.latest = at if state.latest is None else max(state.latest, at)
    if isinstance(event, EventRetracted):
        return _on_retraction(state, event, config)
    if event.event_id in state.retracted:
        return []  # withdrawn by a redaction before it was read (or redelivered after)
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


def _on_retraction(state: PredictionState, retraction: EventRetracted,
                   config: PredictionConfig) -> list[Event]:
    gone, kind = retraction.retracted_id, retraction.retracted_type
    if kind not in _TRACKED or gone in state.retracted:
        return []  # not an input of this stage, or redelivered
    state.retracted.add(gone)
    if kind == PageViewsObserved.schema_name:
        if gone in state.learned:
            state.unlearn[gone] = retraction.meta.occurred_at
        return []
    athlete = state.athletes.get(retraction.entity_id)
    if athlete is None:
        return []
    if kind == RecordReceived.schema_name:
        if athlete.record_id == gone:
            del state.athletes[retraction.entity_id]
        return []
    # A retracted ProfileUnavailable or HandleRejected only removed a profile, which is not
    # kept: enrichment fetches again and the new profile arrives as usual.
    used = [platform for platform, (event_id, _) in athlete.profiles.items() if event_id == gone]
    if not used:
        return []
    for platform in used:
        del athlete.profiles[platform]
    return _predict(state, athlete, retraction, config, at=state.latest)


def predates(snapshot: PredictionState, state: PredictionState) -> bool:
    """Whether a snapshot's model can seed a rebuild of ``state``'s: it learned no retracted
    outcome (it predates them, or was itself rebuilt without them)."""
    return snapshot.learned.isdisjoint(state.retracted)


def rebuild(state: PredictionState, base: PredictionState | None,
            outcomes: Iterable[PageViewsObserved], config: PredictionConfig) -> list[Event]:
    """Replace the model by ``base``'s (or a fresh one) after replaying ``outcomes``.

    ``base`` is a snapshot for which :func:`predates` holds, ``outcomes`` the outcomes log from
    that snapshot's position up to the position ``state`` reflects (from the beginning without
    a snapshot), in log order; retracted ones, and any the base already learned, are skipped.
    Returns a new prediction for every athlete with a record.

    Only the model is rolled back: the athletes (records and profiles) stay ``state``'s
    current ones, and the replayed outcomes are learned with today's features. Rolling the
    athletes back too would mean replaying every input topic in their original interleaving,
    which one consumer over several partitions does not keep; today's athletes are what the
    retraction left standing, so the rebuilt model is the one trained from scratch on today's
    knowledge minus the retracted outcomes (a tested equality when rebuilt from the beginning,
    and from a snapshot while the athletes' features did not change since it was taken).

    The predictions are caused by the rebuild, not by one event: their parents are the
    athlete's inputs, their identity the model, its count and the outcomes removed, so the same
    rebuild over the same log yields the same ids; their time is the latest event time read.
    """
    if not state.unlearn:
        raise ValueError("nothing to rebuild: no learned outcome was retracted")
    if base is not None and not predates(base, state):
        raise ValueError("the snapshot learned a retracted outcome: it cannot seed a rebuild")
    model = base.model if base is not None else PageViewsModel(config.model)
    learned = set(base.learned) if base is not None else set()
    for observed in outcomes:
        if observed.event_id in state.retracted or observed.event_id in learned:
            continue
        athlete = state.athletes.get(observed.entity_id)
        features = athlete.features() if athlete is not None else None
        if features is None:
            continue  # the athlete is unknown, or forgotten (their record was retracted)
        learned.add(observed.event_id)
        model.learn(features, observed.page_views)
    removed = sorted(state.unlearn)
    at = max([*state.unlearn.values(), *([state.latest] if state.latest else [])])
    state.model, state.learned, state.unlearn = model, learned, {}
    digest = hashlib.sha256("\n".join(removed).encode()).hexdigest()[:32]
    outputs: list[Event] = []
    for entity_id, athlete in sorted(state.athletes.items()):
        outputs += _prediction(state, athlete, entity_id=entity_id, at=at,
                               parents=athlete.parents(),
                               identity=[config.model, state.outcomes, "rebuilt", digest],
                               config=config)
    return outputs


def _predict(state: PredictionState, athlete: Athlete, cause: Event,
             config: PredictionConfig, at: datetime | None = None) -> list[Event]:
    parents = athlete.parents() + (() if cause.event_id in athlete.parents()
                                   else (cause.event_id,))
    return _prediction(state, athlete, entity_id=cause.entity_id,
                       at=at or cause.meta.occurred_at,
                       parents=parents, identity=[config.model, state.outcomes], config=config)


def _prediction(state: PredictionState, athlete: Athlete, *, entity_id: str, at: datetime,
                parents: tuple[str, ...], identity: list[Any],
                config: PredictionConfig) -> list[Event]:
    features = athlete.features()
    if features is None:
        return []  # no record yet: the sport is unknown
    prediction = state.model.predict(features)
    outcomes = state.outcomes
    meta = new_meta(event_type=PageViewsPredicted.schema_name, entity_id=entity_id,
                    occurred_at=at, producer=config.producer,
                    provenance=Provenance("model", f"{config.model}@{outcomes}"),
                    parents=parents, identity=identity)
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
