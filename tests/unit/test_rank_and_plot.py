"""The ranking and the error curve: pure functions over hand-made prediction events."""

from __future__ import annotations

import argparse
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.events.ids import new_meta
from streams.events.model import Event, Producer, Provenance
from streams.prediction.models import ModelEvaluated, PageViewsPredicted
from streams.prediction.plot import ErrorCurve, error_curve, save_plot, summary
from streams.prediction.plot import add_commands as add_plot_commands
from streams.prediction.rank import Ranked, format_ranking, rank, ranking_json
from streams.prediction.rank import add_commands as add_rank_commands
from streams.records.models import RecordReceived

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
STAGE = Producer("prediction", "1.0.0", "t")


def _record(entity: str, name: str, sport: str = "basketball",
            team: str | None = "Lakers") -> RecordReceived:
    meta = new_meta(event_type=RecordReceived.schema_name, entity_id=entity, occurred_at=T0,
                    producer=Producer("records", "1", "t"), provenance=Provenance("acme", entity),
                    identity=[entity, name])
    return RecordReceived(meta=meta, name=name, sport=sport, provider="acme",
                          provider_ref=entity.split(":")[1], team=team)


def _predicted(entity: str, views: float, outcomes: int = 10,
               parents: tuple[str, ...] = ("r1", "p1")) -> PageViewsPredicted:
    meta = new_meta(event_type=PageViewsPredicted.schema_name, entity_id=entity,
                    occurred_at=T0, producer=STAGE, provenance=Provenance("model", "linear"),
                    parents=parents, identity=["linear", outcomes, views])
    return PageViewsPredicted(meta=meta, page_views=views, low=views / 3, high=views * 3,
                              model="linear", model_outcomes=outcomes, features={})


def _evaluated(count: int, predicted: float, observed: float,
               model: str = "linear") -> ModelEvaluated:
    meta = new_meta(event_type=ModelEvaluated.schema_name, entity_id=f"model:{model}",
                    occurred_at=T0, producer=STAGE, provenance=Provenance("model", model),
                    parents=(f"o{count}",), identity=[model, f"o{count}"])
    return ModelEvaluated(meta=meta, model=model, outcomes=count, predicted=predicted,
                          observed=observed, mae=float(count), mae_log=1.0 / count)


def test_the_latest_prediction_of_an_entity_wins_and_carries_its_record() -> None:
    first = _predicted("acme:nba-1", 9000.0, outcomes=1)
    latest = _predicted("acme:nba-1", 400.0, outcomes=50, parents=("r1", "p2"))
    events: list[Event] = [first, _record("acme:nba-1", "Ann Lee"), latest,
                           _predicted("acme:nba-2", 1000.0), _record("acme:nba-2", "Bo Park")]
    ranked = rank(events, top=10)
    assert [(r.name, r.page_views) for r in ranked] == [("Bo Park", 1000.0), ("Ann Lee", 400.0)]
    assert ranked[1] == Ranked("acme:nba-1", "Ann Lee", "basketball", "Lakers", 400.0,
                               400.0 / 3, 1200.0, "linear", 50, latest.event_id, ("r1", "p2"))


def test_ties_go_by_entity_id_and_top_cuts() -> None:
    events = [_predicted(f"acme:nba-{n}", 500.0) for n in (3, 1, 2)]
    events.append(_predicted("acme:nba-9", 700.0))
    assert [r.entity_id for r in rank(events, top=3)] == ["acme:nba-9", "acme:nba-1",
                                                          "acme:nba-2"]
    assert rank(events, top=0) == []
    with pytest.raises(ValueError, match="negative"):
        rank(events, top=-1)


def test_an_entity_without_a_record_still_ranks_under_its_id() -> None:
    [ranked] = rank([_predicted("acme:nhl-7", 120.0)], top=5)
    assert (ranked.name, ranked.sport, ranked.team) == ("acme:nhl-7", "", None)
    assert "acme:nhl-7  -" in format_ranking([ranked])


def test_the_table_shows_rank_facts_interval_and_event_id() -> None:
    prediction = _predicted("acme:nba-1", 1234.0, outcomes=80)
    table = format_ranking(rank([_record("acme:nba-1", "Ann Lee", team=None), prediction], 1))
    header, row, footer = table.splitlines()
    assert header.split()[:5] == ["#", "name", "sport", "team", "views/post"]
    assert row.split() == ["1", "Ann", "Lee", "basketball", "-", "1,234", "411..3,702",
                           prediction.event_id]
    assert footer == "predicted by linear after 80 outcomes"
    assert format_ranking([]) == "no predictions on the log yet"


def test_the_json_round_trips() -> None:
    ranked = rank([_record("acme:nba-1", "Ann Lee"), _predicted("acme:nba-1", 300.0),
                   _predicted("acme:nba-2", 200.0)], top=2)
    loaded = [Ranked(**{**row, "parents": tuple(row["parents"])})
              for row in json.loads(ranking_json(ranked))]
    assert loaded == ranked


def _series() -> list[Event]:
    """Log errors 0, 1, 2, 3, 4 (observed e^k - 1 against a prediction of 0) and a redelivery."""
    events: list[Event] = [_evaluated(k + 1, 0.0, math.expm1(k)) for k in range(5)]
    events.insert(3, events[2])
    events.append(_evaluated(1, 5.0, 5.0, model="forest"))
    return events


def test_the_windowed_log_error_averages_the_last_outcomes() -> None:
    curve = error_curve(_series(), window=2)
    assert curve.model == "linear"  # the model with the most evaluations
    assert curve.outcomes == (1, 2, 3, 4, 5)  # the redelivered third counts once
    assert curve.log_error == pytest.approx([0.0, 0.5, 1.5, 2.5, 3.5])
    assert curve.mae == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert curve.mae_log == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    assert error_curve(_series(), window=3).log_error == pytest.approx([0, 0.5, 1, 2, 3])
    assert error_curve(_series(), model="forest").log_error == (0.0,)
    assert error_curve([], window=2) == ErrorCurve("", 2, (), (), (), ())
    with pytest.raises(ValueError, match="window"):
        error_curve(_series(), window=0)


def test_the_summary_compares_the_first_and_last_window() -> None:
    assert summary(error_curve(_series(), window=2)) == (
        "model linear: log error 0.50 over the first 2 outcomes -> 3.50 over the last 2 "
        "(5 outcomes; running MAE 5 views/post)")
    short = summary(error_curve(_series(), window=10))
    assert short.startswith("model linear: log error 2.00 over all 5 outcomes")
    assert summary(error_curve([])) == "no model evaluations on the log yet"


def test_save_plot_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "error.png"
    save_plot(error_curve(_series(), window=2), path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000


def test_the_commands_parse_and_refuse_a_zero_count() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    add_rank_commands(commands)
    add_plot_commands(commands)
    ranking = parser.parse_args(["rank", "--top", "3", "--json"])
    assert (ranking.top, ranking.json, ranking.idle_timeout) == (3, True, 5.0)
    plotting = parser.parse_args(["prediction", "plot", "--out", "e.png"])
    assert (plotting.out, plotting.window, plotting.model) == ("e.png", 200, None)
    with pytest.raises(SystemExit):
        parser.parse_args(["rank", "--top", "0"])
