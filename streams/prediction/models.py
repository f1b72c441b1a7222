"""Events of the prediction domain: predictions, observed outcomes and the models' running error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from streams.events.model import Event


@dataclass(frozen=True, slots=True)
class PageViewsPredicted(Event):
    """Predicted page views per post of an athlete, with an ~80% interval.

    ``model_outcomes`` is how many outcomes the model had learned from: the log position of the
    model that made the prediction.
    """

    schema_name: ClassVar[str] = "crowdlog.prediction.PageViewsPredicted"

    page_views: float
    low: float
    high: float
    model: str
    model_outcomes: int
    features: dict[str, float]


@dataclass(frozen=True, slots=True)
class PageViewsObserved(Event):
    """What one partnered post really got on our platform (``prediction.outcomes``)."""

    schema_name: ClassVar[str] = "crowdlog.prediction.PageViewsObserved"

    post_id: str
    page_views: float


@dataclass(frozen=True, slots=True)
class ModelEvaluated(Event):
    """A model's running error after predicting one more outcome before learning it."""

    schema_name: ClassVar[str] = "crowdlog.prediction.ModelEvaluated"

    model: str
    outcomes: int
    predicted: float
    observed: float
    mae: float
    mae_log: float
