"""The world on disk: the feed ingest reads, the gold set, truth files, and the round trip."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from streams.handles import PLATFORMS, normalise_handle
from streams.records.core import Rejection, normalise_row
from streams.records.files import Row, read_rows
from streams.records.models import RecordReceived
from streams.world import World, WorldConfig, generate_world, load_world, write_world
from tests.factories import PRODUCER, T0


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig())


@pytest.fixture(scope="module")
def world_dir(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("world")
    write_world(world, directory)
    return directory


def feed_rows(directory: Path) -> list[Row]:
    with (directory / "provider.csv").open("rb") as file:
        rows = list(read_rows(file, "csv"))
    assert all(isinstance(row, Row) for row in rows)
    return [row for row in rows if isinstance(row, Row)]


def test_files_are_where_the_pipeline_and_evaluation_expect_them(world_dir: Path) -> None:
    names = {str(p.relative_to(world_dir)) for p in world_dir.rglob("*") if p.is_file()}
    assert names == {"world.json", "provider.csv", "gold.csv", "truth/athletes.csv",
                     "truth/profiles.csv", "truth/workers.csv", "truth/provider_rows.csv"}
    config = json.loads((world_dir / "world.json").read_text())["config"]
    assert config["athletes"] == 2000 and config["seed"] == 1


def test_round_trip(world: World, world_dir: Path) -> None:
    assert load_world(world_dir) == world


def test_same_seed_same_bytes_other_seed_other_bytes(world_dir: Path, tmp_path: Path) -> None:
    write_world(generate_world(WorldConfig()), tmp_path / "again")
    write_world(generate_world(WorldConfig(seed=2)), tmp_path / "other")
    for path in ("provider.csv", "gold.csv", "truth/athletes.csv", "truth/workers.csv"):
        assert (tmp_path / "again" / path).read_bytes() == (world_dir / path).read_bytes()
        assert (tmp_path / "other" / path).read_bytes() != (world_dir / path).read_bytes()


def test_every_feed_row_gets_the_outcome_the_world_expects(world: World,
                                                           world_dir: Path) -> None:
    rows = feed_rows(world_dir)
    assert len(rows) == len(world.provider_rows)
    outcomes: Counter[str | None] = Counter()
    for row, expected in zip(rows, world.provider_rows, strict=True):
        event = normalise_row(row.fields, provider="acme", received_at=T0, producer=PRODUCER)
        if expected.rejection is None:
            assert isinstance(event, RecordReceived), (row.fields, event)
            athlete = world.athlete(event.provider_ref)
            assert event.entity_id == f"acme:{athlete.ref}"
            assert event.sport == athlete.sport
            assert event.country in (None, athlete.country)
            assert event.league in (None, athlete.league)
            for platform, handle in event.known_handles.items():
                assert handle == athlete.handles[platform]
        else:
            assert isinstance(event, Rejection), row.fields
            assert event.code == expected.rejection
        outcomes[expected.rejection] += 1
    assert 5 <= sum(n for code, n in outcomes.items() if code) <= 20


def test_the_feed_is_incomplete_and_messy_but_mostly_right(world: World,
                                                           world_dir: Path) -> None:
    rows = feed_rows(world_dir)
    fields = [{k: str(v) for k, v in row.fields.items()} for row in rows]
    known = sum(1 for f in fields for p in PLATFORMS if f[p])
    assert 0.08 <= known / (3 * len(fields)) <= 0.2
    written = [f[p] for f in fields for p in PLATFORMS if f[p] and f[p] != "n/a"]
    assert any(text.startswith("@") for text in written)
    assert any("://" in text for text in written)
    assert any(not f["country"] for f in fields) and any(not f["team"] for f in fields)
    assert any(f["sport"] == "Football (American)" for f in fields) or any(
        f["sport"] in ("NFL Football", "Gridiron") for f in fields)
    assert any(len(f["country"]) > 3 for f in fields)
    ids = Counter(f["id"] for f in fields)
    assert 5 <= sum(n - 1 for n in ids.values()) <= 20  # rows sent twice


def test_known_handles_normalise_to_the_truth(world: World) -> None:
    for row in world.provider_rows:
        if row.rejection:
            continue
        athlete = world.athlete(row.fields["id"])
        for platform in PLATFORMS:
            if row.fields[platform]:
                assert normalise_handle(platform, row.fields[platform]) == (
                    athlete.handles[platform])


def test_gold_file_says_not_found_with_an_empty_handle(world: World, world_dir: Path) -> None:
    with (world_dir / "gold.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(world.gold) == 180
    for row in rows:
        assert (row["handle"] or None) == world.athlete(row["provider_ref"]).handles[
            row["platform"]]
