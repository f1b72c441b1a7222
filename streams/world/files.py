"""A world on disk: the feed and gold set the pipeline may read, and truth it must never read.

Layout of the directory ``write_world`` fills::

    world.json               the configuration, to regenerate or audit the world
    provider.csv             the feed: what ``crowdlog ingest --provider <name>`` reads
    gold.csv                 staff-verified handles the pipeline may use for gold HITs
    truth/athletes.csv       the truth about every athlete (evaluation only)
    truth/profiles.csv       every account's profile (the simulated platforms' data)
    truth/workers.csv        every worker's kind and hidden parameters
    truth/provider_rows.csv  for each feed row, the rejection code ingest should give, if any

``load_world`` reads the same files back into an equal ``World``: floats are written with
``repr`` so they survive the trip exactly, and an empty cell stands for None.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from streams.handles import PLATFORMS
from streams.world.model import (
    Athlete,
    GoldAnswer,
    Profile,
    ProviderRow,
    Worker,
    World,
    WorldConfig,
)
from streams.world.provider import COLUMNS

FORMAT_VERSION = 1
CONFIG_FILE = "world.json"
PROVIDER_FILE = "provider.csv"
GOLD_FILE = "gold.csv"
TRUTH_DIR = "truth"
_ATHLETE_COLUMNS = ("id", "name", "sport", "league", "team", "country", "position", "years",
                    "fame", *PLATFORMS, "namesake_of", "page_views_per_post")
_PROFILE_COLUMNS = ("id", "platform", "handle", "followers", "following", "posts",
                    "avg_engagement", "verified", "category", "bio")
_GOLD_CONTEXT = ("name", "sport", "league", "team", "country")
_WORKER_COLUMNS = ("worker_id", "kind", "accuracy", "noise", "activity", "work_seconds", "spam",
                   "fixed_answer")


def write_world(world: World, out_dir: Path) -> None:
    """Write every file of ``world`` under ``out_dir`` (created if missing, files replaced)."""
    truth = out_dir / TRUTH_DIR
    truth.mkdir(parents=True, exist_ok=True)
    config = {**asdict(world.config), "as_of": world.config.as_of.isoformat()}
    (out_dir / CONFIG_FILE).write_text(
        json.dumps({"format": FORMAT_VERSION, "config": config}, indent=2) + "\n",
        encoding="utf-8")
    _write(out_dir / PROVIDER_FILE, COLUMNS, (
        [row.fields[c] for c in COLUMNS] for row in world.provider_rows))
    # The gold set carries the record's identity, as a staff-verified list would: a gold HIT
    # shows workers the same context as any other HIT.
    _write(out_dir / GOLD_FILE, ("provider_ref", "platform", "handle", *_GOLD_CONTEXT), (
        [g.provider_ref, g.platform, g.handle or "",
         *(getattr(world.athlete(g.provider_ref), c) or "" for c in _GOLD_CONTEXT)]
        for g in world.gold))
    _write(truth / "provider_rows.csv", ("row", "id", "rejection"), (
        [str(number), row.fields["id"], row.rejection or ""]
        for number, row in enumerate(world.provider_rows, start=1)))
    _write(truth / "athletes.csv", _ATHLETE_COLUMNS, (
        [a.ref, a.name, a.sport, a.league or "", a.team or "", a.country, a.position, a.years,
         repr(a.fame), *(a.handles[p] or "" for p in PLATFORMS), a.namesake_of or "",
         repr(a.page_views_per_post)]
        for a in world.athletes))
    _write(truth / "profiles.csv", _PROFILE_COLUMNS, (
        [p.ref, p.platform, p.handle, str(p.followers), str(p.following), str(p.posts),
         repr(p.avg_engagement), "true" if p.verified else "false", p.category, p.bio]
        for p in world.profiles))
    _write(truth / "workers.csv", _WORKER_COLUMNS, (
        [w.worker_id, w.kind, repr(w.accuracy), repr(w.noise), repr(w.activity),
         repr(w.work_seconds), w.spam, w.fixed_answer]
        for w in world.workers))


def load_world(directory: Path) -> World:
    """The world ``write_world`` wrote to ``directory``."""
    meta = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{directory / CONFIG_FILE}: unknown world format {meta.get('format')}")
    config = WorldConfig(**{**meta["config"],
                            "as_of": datetime.fromisoformat(meta["config"]["as_of"])})
    truth = directory / TRUTH_DIR
    rejections = {row["row"]: row["rejection"] or None
                  for row in _read(truth / "provider_rows.csv")}
    rows = tuple(ProviderRow(fields, rejections[str(number)])
                 for number, fields in enumerate(_read(directory / PROVIDER_FILE), start=1))
    return World(
        config=config,
        athletes=tuple(_athlete(row) for row in _read(truth / "athletes.csv")),
        profiles=tuple(_profile(row) for row in _read(truth / "profiles.csv")),
        workers=tuple(_worker(row) for row in _read(truth / "workers.csv")),
        provider_rows=rows,
        gold=tuple(GoldAnswer(row["provider_ref"], row["platform"], row["handle"] or None)
                   for row in _read(directory / GOLD_FILE)),
    )


def _athlete(row: dict[str, str]) -> Athlete:
    return Athlete(
        ref=row["id"], name=row["name"], sport=row["sport"], league=row["league"] or None,
        team=row["team"] or None, country=row["country"], position=row["position"],
        years=row["years"], fame=float(row["fame"]),
        handles={p: row[p] or None for p in PLATFORMS},
        namesake_of=row["namesake_of"] or None,
        page_views_per_post=float(row["page_views_per_post"]),
    )


def _profile(row: dict[str, str]) -> Profile:
    return Profile(
        ref=row["id"], platform=row["platform"], handle=row["handle"],
        followers=int(row["followers"]), following=int(row["following"]),
        posts=int(row["posts"]), avg_engagement=float(row["avg_engagement"]),
        verified=row["verified"] == "true", category=row["category"], bio=row["bio"],
    )


def _worker(row: dict[str, str]) -> Worker:
    return Worker(
        worker_id=row["worker_id"], kind=row["kind"], accuracy=float(row["accuracy"]),
        noise=float(row["noise"]), activity=float(row["activity"]),
        work_seconds=float(row["work_seconds"]), spam=row["spam"],
        fixed_answer=row["fixed_answer"],
    )


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))
