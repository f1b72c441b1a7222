"""`crowdlog redact --dry-run`: the impact, previewed on the event index, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from sinks.event_index import EventIndex, create_schema
from sinks.tables import events
from streams.cli import build_parser
from streams.events.codec import Codec
from streams.settings import Settings
from tests.view_events import batch, decision, prediction, profile, record_at


def _index(path: Path, codec: Codec) -> str:
    url = f"sqlite:///{path / 'index.db'}"
    engine = create_engine(url)
    create_schema(engine)
    accepted = decision()
    fetched = profile(accepted)
    other = decision(hit_id="H2", platform="twitter", handle="other")
    log = [record_at(0), accepted, fetched, prediction(fetched), other]
    EventIndex(engine).apply(batch(codec, log))
    engine.dispose()
    return url


def _run(argv: list[str]) -> int:
    # Unreachable broker: a dry run must not need one.
    settings = Settings(bootstrap_servers="127.0.0.1:1", instance="test")
    args = build_parser().parse_args(argv)
    code: int = args.run(args, settings)
    return code


def test_a_dry_run_reports_the_impact_and_writes_nothing(
        tmp_path: Path, codec: Codec, capsys: pytest.CaptureFixture[str]) -> None:
    url = _index(tmp_path, codec)
    code = _run(["redact", "--event", decision().event_id, "--reason", "bad handle",
                 "--by", "auditor", "--dry-run", "--json", "--database-url", url])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    impact = report["impact"]
    assert report["dry_run"] is True
    assert (impact["events"], impact["selected"], impact["entities"]) == (3, 1, 1)
    assert (impact["accepted handles"], impact["profiles"], impact["predictions"]) == (1, 1, 1)
    engine = create_engine(url)
    with engine.connect() as connection:  # nothing was written, not even to the index
        assert connection.execute(select(func.count()).select_from(events)).scalar_one() == 5
    engine.dispose()


def test_a_stage_version_range_selects_every_decision_of_the_stage(
        tmp_path: Path, codec: Codec, capsys: pytest.CaptureFixture[str]) -> None:
    url = _index(tmp_path, codec)
    code = _run(["redact", "--stage", "consensus", "--version-min", "0.9", "--version-max",
                 "1.0.0", "--reason", "r", "--by", "me", "--dry-run", "--database-url", url])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("dry run: nothing written; ")
    assert "events retracted: 4 (2 selected, 2 derived), entities: 1" in out


def test_a_redaction_must_select_something(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["redact", "--reason", "r", "--by", "me", "--dry-run"]) == 2
    assert "at least one criterion" in capsys.readouterr().err
