"""Shared fixtures: real services for the integration tests, found from the environment.

`make test` starts Kafka and PostgreSQL (infra/with-services.sh) and sets
CROWDLOG_REQUIRE_SERVICES=1, so a missing service fails the run instead of skipping tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from streams.codecs import default_codec
from streams.events.codec import Codec

REQUIRED = os.environ.get("CROWDLOG_REQUIRE_SERVICES") == "1"

# Property tests judge correctness, not speed: a loaded 2-core CI machine must not fail them
# on Hypothesis's per-example deadline.
hypothesis_settings.register_profile("crowdlog", deadline=None)
hypothesis_settings.load_profile("crowdlog")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the broker tests; order them for ``make test``'s pytest-xdist workers.

    The long tests come first, longest first, then the unit tests, then the other broker tests.
    xdist deals the first quarter of the list out round-robin (so each long test starts at once
    on its own worker, followed there by unit tests, which are quick) and hands out the rest one
    at a time to whichever worker is free.
    """
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)
    items.sort(key=_order)  # stable: tests of the same rank keep their order


def _order(item: pytest.Item) -> tuple[int, float]:
    marker = item.get_closest_marker("long")
    if marker is not None:
        return 0, -float(marker.args[0])
    return (2 if item.get_closest_marker("integration") else 1), 0.0


def missing_service(what: str) -> None:
    if REQUIRED:
        pytest.fail(f"{what} (CROWDLOG_REQUIRE_SERVICES=1: `make test` starts it)")
    pytest.skip(f"{what}; run `make test` to start the services")


@pytest.fixture(scope="session")
def codec() -> Codec:
    return default_codec()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("CROWDLOG_TEST_POSTGRES_URL")
    if not url:
        missing_service("no PostgreSQL: CROWDLOG_TEST_POSTGRES_URL is not set")
    return str(url)


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database of this test alone (dropped afterwards)."""
    server = make_url(postgres_url)
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index.db'}"
    url: str = request.getfixturevalue("postgres_database")
    return url
