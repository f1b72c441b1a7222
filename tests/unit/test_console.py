"""`crowdlog console`: every page over an index filled by a small in-process run.

The index is written by the sink's own code (``tests.console_index``); the pages are asked for
through Starlette's TestClient. Besides what each page shows: unknown ids give a 404 that says
what was searched, malformed input gives the form back with its error, no SQL statement ever
contains what was typed, and a read-only console writes nothing anywhere.
"""

from __future__ import annotations

import html
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.exc import InternalError, OperationalError
from starlette.testclient import TestClient

from sinks.checksum import checksum
from sinks.tables import events, retractions
from streams import metrics
from streams.cli import build_parser
from streams.codecs import default_codec
from streams.console import redaction
from streams.console.app import ConsoleConfig, create_app, read_only_engine
from streams.console.commands import config_from
from streams.console.redaction import LineageCache
from streams.lineage.models import RedactionRequested
from streams.settings import Settings
from tests.console_index import BAD_ROW, UNDECODABLE, IndexFacts, build_index, sqlite_index

SETTINGS = Settings(bootstrap_servers="127.0.0.1:1", instance="test")  # no broker: none needed
EVENT_LINK = re.compile(r'href="/events/([0-9a-f]{32})"')


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> IndexFacts:
    return sqlite_index(tmp_path_factory.mktemp("console"))


@pytest.fixture(scope="module")
def engine(facts: IndexFacts) -> Iterator[Engine]:
    engine = read_only_engine(create_engine(facts.url))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def client(engine: Engine) -> TestClient:
    return TestClient(create_app(engine, ConsoleConfig(SETTINGS)))


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the console runs meanwhile, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _error(page: str) -> str:
    found = re.search(r'id="error">(.*?)</p>', page, re.S)
    assert found, "no error shown"
    return html.unescape(found[1])


def _impact(page: str) -> list[str]:
    found = re.search(r'<pre id="impact">(.*?)</pre>', page, re.S)
    assert found, "no impact shown"
    return html.unescape(found[1]).rstrip("\n").split("\n")


# ---- pages --------------------------------------------------------------------------------


def test_every_page_says_how_fresh_the_index_is(client: TestClient, facts: IndexFacts) -> None:
    for path in ("/", "/redactions", "/crowd", "/model", "/health",
                 f"/athletes/{facts.athlete}", f"/workers/{facts.worker}"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert f"Index: <b>{facts.events:,}</b> events" in page.text, path
        assert "read-only" in page.text, path


def test_search_finds_athletes_by_name_and_reference_events_and_workers(
        client: TestClient, facts: IndexFacts) -> None:
    by_name = client.get("/search", params={"q": facts.athlete_name.split()[-1].upper()})
    assert f'href="/athletes/{facts.athlete}"' in by_name.text
    by_ref = client.get("/search", params={"q": facts.provider_ref})
    assert f'href="/athletes/{facts.athlete}"' in by_ref.text
    by_id = client.get("/search", params={"q": facts.redaction_id})
    assert f'href="/events/{facts.redaction_id}"' in by_id.text
    by_worker = client.get("/search", params={"q": facts.worker})
    assert f'href="/workers/{facts.worker}"' in by_worker.text


def test_the_athlete_page_shows_record_handles_profiles_prediction_and_lineage(
        client: TestClient, facts: IndexFacts) -> None:
    page = client.get(f"/athletes/{facts.athlete}").text
    assert f"<h1>{facts.athlete_name}</h1>" in page
    handles = page[page.index('id="handles"'):page.index('id="profiles"')]
    assert "\u00d7" in handles and "no accepted handle" not in handles  # votes per answer
    assert "no profile fetched" not in page and 'id="prediction"' in page
    tree = page[page.index('id="lineage"'):]
    linked = set(EVENT_LINK.findall(tree))
    assert len(linked) > 10
    for event_id in sorted(linked)[:5]:  # each node opens its event
        assert client.get(f"/events/{event_id}").status_code == 200


def test_the_event_page_shows_parents_stage_provenance_and_its_retraction(
        client: TestClient, engine: Engine) -> None:
    with engine.connect() as c:
        retracted, redaction_id, via = c.execute(
            select(retractions.c.retracted_id, retractions.c.redaction_id, retractions.c.via)
            .where(retractions.c.via.is_not(None)).limit(1)).one()
        stage, version, source = c.execute(
            select(events.c.stage, events.c.stage_version, events.c.provenance_source)
            .where(events.c.event_id == retracted)).one()
    page = client.get(f"/events/{retracted}").text
    assert "Retracted by redaction" in page and f"/events/{redaction_id}" in page
    assert f"/events/{via}" in page  # the retracted parent it descends through
    assert f"{stage} <code>{version}</code>" in page and source in page
    assert 'id="payload"' in page


def test_the_redactions_page_lists_each_redaction_with_its_impact(
        client: TestClient, facts: IndexFacts) -> None:
    page = client.get("/redactions").text
    row = page[page.index(f"/events/{facts.redaction_id}") - 800:]
    assert f"worker_id=<code>{facts.worker}</code>" in row
    assert "AssignmentSubmitted" in row


def test_crowd_worker_model_and_health_pages(client: TestClient, facts: IndexFacts) -> None:
    crowd = client.get("/crowd").text
    assert f'href="/workers/{facts.worker}"' in crowd and "paid assignments per" in crowd
    worker = client.get(f"/workers/{facts.worker}").text
    assert "<svg" in worker and "Blocked" in worker
    model = client.get("/model", params={"top": "5"}).text
    assert "<svg" in model and "<polyline" in model
    assert model[model.index('id="ranking"'):].count("<tr>") == 6  # header + 5
    health = client.get("/health").text
    assert "undecodable" in health and "invalid_row" in health
    assert "records.received" in health  # where the sink is on that topic


def test_a_dead_letter_gives_back_its_original_bytes(client: TestClient,
                                                     facts: IndexFacts) -> None:
    download = client.get(f"/deadletters/{facts.dead_letter}/original")
    assert download.status_code == 200 and download.content == UNDECODABLE
    assert "attachment" in download.headers["content-disposition"]
    health = client.get("/health").text
    links = re.findall(r'href="(/deadletters/[0-9a-f]{32}/original)"', health)
    assert {client.get(link).content for link in links} == {UNDECODABLE, BAD_ROW}


# ---- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/athletes/acme:nobody", "/events/0123456789abcdef0123456789abcdef", "/workers/W-nobody",
    "/search?q=nobody-at-all", "/no/such/page"])
def test_unknown_ids_give_a_404_that_says_what_was_searched(client: TestClient,
                                                            path: str) -> None:
    page = client.get(path)
    assert page.status_code == 404
    assert path.rsplit("/", 1)[-1].removeprefix("search?q=") in _error(page.text)


def test_a_dead_letter_download_of_another_event_is_a_404(client: TestClient,
                                                          facts: IndexFacts) -> None:
    page = client.get(f"/deadletters/{facts.redaction_id}/original")
    assert page.status_code == 404 and facts.redaction_id in _error(page.text)


@pytest.mark.parametrize("query", ["", "   ", "x" * 201])
def test_a_malformed_search_gives_the_form_back(client: TestClient, query: str) -> None:
    page = client.get("/search", params={"q": query})
    assert page.status_code == 400
    assert "1 to 200 characters" in _error(page.text) and 'id="q"' in page.text


@pytest.mark.parametrize("top", ["0", "-3", "ten", "100000"])
def test_a_malformed_ranking_size_is_refused(client: TestClient, top: str) -> None:
    page = client.get("/model", params={"top": top})
    assert page.status_code == 400 and "1 to 1000" in _error(page.text)


@pytest.mark.parametrize(("form", "message"), [
    ({"reason": "r"}, "at least one criterion"),
    ({"stage": "consensus"}, "reason: say why"),
    ({"stage": "consensus", "occurred_from": "yesterday", "reason": "r"},
     "from: not an ISO 8601 time"),
    ({"event": "0123456789abcdef0123456789abcdef", "reason": "r"}, "not in the index"),
    ({"stage": "x" * 2001, "reason": "r"}, "at most 2000 characters"),
    ({"version": "1.0.0", "version_min": "0.9", "reason": "r"}, "not both"),
])
def test_a_malformed_redaction_form_comes_back_with_its_error(
        client: TestClient, form: dict[str, str], message: str) -> None:
    page = client.post("/redactions/preview", data=form)
    assert page.status_code == 400
    assert message in _error(page.text)
    assert f'name="reason" value="{form.get("reason", "")}"' in page.text  # kept as typed


def test_no_statement_contains_what_was_typed(client: TestClient, facts: IndexFacts,
                                              statements: list[tuple[str, Any]]) -> None:
    typed = ["' OR 1=1 --", "%", "_", "\"; DROP TABLE events; --", "a' UNION SELECT 1 --"]
    for query in typed:
        page = client.get("/search", params={"q": query})
        assert page.status_code == 404, query  # matches nothing: not every athlete
        assert html.escape(query, quote=False) in page.text or query in html.unescape(page.text)
    client.get(f"/athletes/{typed[0]}")
    client.post("/redactions/preview", data={"source": typed[0], "reason": typed[3]})
    assert statements
    for statement, _parameters in statements:  # ("%" and "_" are LIKE's: escaped, above)
        for query in typed[:1] + typed[3:]:
            assert query not in statement
    assert any("' OR 1=1 --" in str(parameters) for _s, parameters in statements)


# ---- redactions: the dry run, and writing only when told ----------------------------------


def test_the_dry_run_is_the_commands_own_and_writes_nothing(
        client: TestClient, facts: IndexFacts, capsys: pytest.CaptureFixture[str]) -> None:
    before = checksum(create_engine(facts.url))
    page = client.post("/redactions/preview", data={"stage": "enrichment", "reason": "r"})
    assert page.status_code == 200 and "Dry run: nothing written." in page.text
    args = build_parser().parse_args(["redact", "--stage", "enrichment", "--reason", "r",
                                      "--by", "me", "--dry-run", "--database-url", facts.url])
    assert args.run(args, SETTINGS) == 0
    printed = capsys.readouterr().out.splitlines()[1:]
    assert _impact(page.text) == printed
    assert printed[0].startswith("events retracted: ") and not printed[0].startswith(
        "events retracted: 0 ")
    assert checksum(create_engine(facts.url)) == before


def test_the_dry_run_loads_the_lineage_once_per_state_of_the_index(engine: Engine) -> None:
    cache = LineageCache(engine)
    first = cache.state("index at 2,380 events")
    request = redaction.parse({"stage": "enrichment", "reason": "r"}, "me", SETTINGS)
    shown = redaction.preview(first, request, SETTINGS)
    again = redaction.preview(cache.state("index at 2,380 events"), request, SETTINGS)
    assert cache.loads == 1  # the same index: the graph is not read again
    assert shown.retracted and again.impact == shown.impact  # the first left the shared state
    assert first.graph is cache.state("index at 2,380 events").graph
    cache.state("index at 2,381 events")
    assert cache.loads == 2  # something was indexed: read again


def test_a_read_only_console_refuses_to_submit(client: TestClient, facts: IndexFacts) -> None:
    before = checksum(create_engine(facts.url))
    page = client.post("/redactions", data={"stage": "enrichment", "reason": "r"})
    assert page.status_code == 403
    assert "This console is read-only" in page.text and "Nothing was written" in _error(page.text)
    assert 'id="submit"' not in client.get("/redactions").text
    assert checksum(create_engine(facts.url)) == before


def test_an_operator_console_publishes_the_request_under_the_operators_name(
        engine: Engine, facts: IndexFacts) -> None:
    published: list[RedactionRequested] = []
    writer = TestClient(create_app(engine, ConsoleConfig(SETTINGS, "ann", published.append)))
    assert 'id="submit"' in writer.get("/redactions").text
    page = writer.post("/redactions", data={"worker": facts.worker, "reason": "spam",
                                            "requested_by": "mallory"})
    assert page.status_code == 200 and "Redaction requested" in page.text
    [request] = published
    assert (request.worker_id, request.requested_by, request.reason) == (facts.worker, "ann",
                                                                         "spam")
    assert request.meta.provenance.reference == "ann"
    cross_site = writer.post("/redactions", data={"worker": facts.worker, "reason": "x"},
                             headers={"origin": "https://elsewhere.example"})
    assert cross_site.status_code == 403 and len(published) == 1


def test_writing_needs_both_an_operator_and_the_switch() -> None:
    named = build_parser().parse_args(["console", "--operator", "ann"])
    anonymous = build_parser().parse_args(["console"])
    assert config_from(named, SETTINGS, {"CROWDLOG_CONSOLE_WRITE": "1"}).writable
    assert not config_from(named, SETTINGS, {}).writable
    assert not config_from(anonymous, SETTINGS, {"CROWDLOG_CONSOLE_WRITE": "1"}).writable


def test_the_console_engine_cannot_write_to_the_index(engine: Engine) -> None:
    with pytest.raises(OperationalError, match=r"readonly|read-only|query_only"), \
            engine.begin() as connection:
        connection.execute(text("DELETE FROM events"))


# ---- metrics and probes -------------------------------------------------------------------


def test_metrics_and_probes(client: TestClient, facts: IndexFacts, tmp_path: Path) -> None:
    client.get("/crowd")
    exported = client.get("/metrics").text
    assert 'crowdlog_console_requests_total{page="crowd",status="200"}' in exported
    assert f"crowdlog_index_events {float(facts.events)}" in exported
    assert "crowdlog_events_in_total" in exported or "crowdlog_events_in" in exported
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    empty = TestClient(create_app(read_only_engine(create_engine(
        f"sqlite:///{tmp_path / 'none.db'}")), ConsoleConfig(SETTINGS)))
    assert empty.get("/readyz").status_code == 503


def test_a_service_serves_metrics_and_probes_on_its_port() -> None:
    ready = [False]
    server = metrics.serve(0, ready=lambda: ready[0])
    base = f"http://127.0.0.1:{server.port}"
    try:
        with urllib.request.urlopen(f"{base}/metrics") as answer:
            assert b"crowdlog_processing_seconds" in answer.read()
        with urllib.request.urlopen(f"{base}/healthz") as answer:
            assert answer.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/readyz")
        assert refused.value.code == 503
        ready[0] = True
        with urllib.request.urlopen(f"{base}/readyz") as answer:
            assert answer.status == 200
    finally:
        server.close()


@pytest.mark.parametrize("port", ["x", "70000"])
def test_a_bad_metrics_port_is_refused(port: str) -> None:
    with pytest.raises(ValueError, match="CROWDLOG_METRICS_PORT"):
        metrics.serve_from_env(environ={"CROWDLOG_METRICS_PORT": port})


def test_stage_metrics_count_batches_and_dead_letters_once() -> None:
    stage = metrics.StageMetrics("test-stage")
    stage.batch(consumed=10, produced=7, lag=3, dead_lettered=2)
    stage.batch(consumed=5, produced=5, lag=0, dead_lettered=2)

    def sample(name: str, **labels: str) -> float | None:
        value: float | None = REGISTRY.get_sample_value(name, {"stage": "test-stage", **labels})
        return value

    assert sample("crowdlog_events_in_total") == 15
    assert sample("crowdlog_events_out_total") == 12
    assert sample("crowdlog_consumer_lag_messages") == 0
    assert sample("crowdlog_dead_letters_total", error="undecodable") == 2


def test_the_console_on_postgresql(postgres_database: str) -> None:
    """The same pages and the same read-only guard on a real PostgreSQL index."""
    facts = build_index(postgres_database, default_codec())
    engine = read_only_engine(create_engine(postgres_database))
    try:
        pg = TestClient(create_app(engine, ConsoleConfig(SETTINGS)))
        for path in ("/", "/redactions", "/crowd", "/model", "/health",
                     f"/athletes/{facts.athlete}", f"/workers/{facts.worker}",
                     f"/events/{facts.redaction_id}", f"/search?q={facts.provider_ref}"):
            assert pg.get(path).status_code == 200, path
        assert pg.get(f"/deadletters/{facts.dead_letter}/original").content == UNDECODABLE
        dry_run = pg.post("/redactions/preview", data={"stage": "enrichment", "reason": "r"})
        assert "Dry run: nothing written." in dry_run.text
        with pytest.raises(InternalError, match="read-only transaction"), \
                engine.begin() as connection:
            connection.execute(text("DELETE FROM events"))
    finally:
        engine.dispose()
