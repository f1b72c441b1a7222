"""The built wheel runs the whole CLI outside the checkout, schemas included.

`python -m build` makes the sdist and, from it, the wheel (``--no-isolation``: the project
virtualenv's setuptools, so no download). The wheel goes into a fresh virtualenv with its
dependencies, resolved by pip from pyproject.toml: no ``--system-site-packages``, which would hide
a missing one. On a cold pip cache that needs PyPI (about 25 s); with a warm cache pip spends about
30 s unpacking 500 MB. The commands then run from the temporary directory with no PYTHONPATH or
CROWDLOG_SCHEMA_DIR, so nothing can come from the checkout: ingest encoding and tail decoding
events prove that the schemas are in the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import uuid
import zipfile
from pathlib import Path

import pytest

from streams.events.schema_store import default_schema_dir
from streams.topics import event_types

ROOT = Path(__file__).resolve().parents[2]

TINY_CSV = """\
id,name,sport,league,team,country,twitter,instagram,facebook,updated_at
nba-0001,LeBron James,Basketball,NBA,Los Angeles Lakers,USA,@KingJames,,,2026-11-01T08:00:00Z
nba-0002,Anthony Davis,Basketball,NBA,Dallas Mavericks,United States,,,,2026-11-01T08:00:00Z
nfl-0107,Anthony Davis,American Football,NFL,San Francisco 49ers,USA,,,,2026-11-01T08:00:00Z
"""

# Run by the installed interpreter: every command path of the installed parser, as JSON.
LIST_COMMANDS = """
import argparse, json
from streams.cli import build_parser

def walk(parser, path):
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, [*path, name])

print(json.dumps(list(walk(build_parser(), []))))
"""

# Every module of both packages imports: the commands' own imports (Faust, River, matplotlib,
# SQLAlchemy, ...) are all installed, not just what `--help` loads.
IMPORT_ALL = """
import importlib, pkgutil
import sinks, streams
for package in (streams, sinks):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
print(streams.__file__)
"""


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 120,
        ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.long(45)
def test_the_wheel_runs_the_cli_outside_the_checkout(bootstrap: str, tmp_path: Path) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
           and not key.startswith("CROWDLOG_")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        cwd=ROOT, env=env)
    (wheel,) = dist.glob(f"crowdlog-{version}-*.whl")
    schemas = default_schema_dir()
    expected = {f"streams/schemas/{path.relative_to(schemas).as_posix()}"
                for path in schemas.rglob("*.avsc")}
    assert expected, schemas
    assert expected <= set(zipfile.ZipFile(wheel).namelist()), "schemas missing from the wheel"

    try:
        run([sys.executable, "-m", "venv", str(venv)], cwd=work, env=env)
        python, crowdlog = str(venv / "bin" / "python"), str(venv / "bin" / "crowdlog")
        run([python, "-m", "pip", "install", "--quiet", str(wheel)], cwd=work, env=env,
            timeout=600)

        assert run([crowdlog, "--version"], work, env).stdout == f"crowdlog {version}\n"
        imported_from = run([python, "-c", IMPORT_ALL], work, env).stdout.strip()
        assert Path(imported_from).is_relative_to(venv), imported_from
        for path in json.loads(run([python, "-c", LIST_COMMANDS], work, env).stdout):
            shown = run([crowdlog, *path, "--help"], work, env).stdout
            assert shown.startswith(f"usage: {' '.join(['crowdlog', *path])}"), shown

        listed = run([crowdlog, "schemas", "check"], work, env).stdout.splitlines()
        assert {line.split(":")[0] for line in listed} == {c.schema_name for c in event_types()}
        assert all(": v1=" in line and "unpublished" not in line for line in listed), listed

        prefix = f"test-{uuid.uuid4().hex[:10]}."
        env |= {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "CROWDLOG_TOPIC_PREFIX": prefix,
                "CROWDLOG_STATE_DIR": str(work / ".state"), "CROWDLOG_LOG_FORMAT": "json"}
        run([crowdlog, "topics", "create"], work, env)
        (work / "tiny.csv").write_text(TINY_CSV, encoding="utf-8")
        ingested = run([crowdlog, "ingest", "tiny.csv", "--provider", "tiny", "--no-progress"],
                       work, env).stdout
        assert "accepted   3" in ingested, ingested
        tailed = run([crowdlog, "tail", f"{prefix}records.received", "--from-beginning",
                      "--group", f"{prefix}tail", "--idle-timeout", "5"], work, env).stdout
        events = [json.loads(line) for line in tailed.splitlines()]
        assert sorted(e["name"] for e in events) == ["Anthony Davis", "Anthony Davis",
                                                     "LeBron James"], tailed
        assert {e["meta"]["event_type"] for e in events} == {"crowdlog.records.RecordReceived"}
        assert {e["provider"] for e in events} == {"tiny"}
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # 500 MB; pytest keeps the last three tmp dirs
