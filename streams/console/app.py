"""The console's routes: pages over the event index for auditors and operators.

Every page reads the index alone (no broker), through ``queries.IndexReader``, and shows how
fresh the index is. The engine given to ``create_app`` should be read-only (``read_only_engine``
makes it so at the database), and the app writes nothing itself: the one write it can make is
publishing a ``RedactionRequested`` to the log, through ``ConsoleConfig.publish``, which is None
unless an operator was named and writing was switched on (``streams.console.commands``).

An id the index does not hold gives a 404 page that says what was searched; a form that cannot
be used comes back with its error (status 400); a write asked of a read-only console is refused
(403) and the page says how to enable it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, event, inspect
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from streams.console import redaction
from streams.console.commands import WRITE_ENV
from streams.console.lineage import lineage_tree
from streams.console.metrics import INDEX_EVENTS, INDEX_LATEST, RequestMetrics
from streams.console.queries import IndexReader
from streams.console.svg import line_chart
from streams.lineage.models import RedactionRequested
from streams.prediction.plot import error_curve, summary
from streams.settings import Settings

MAX_QUERY = 200  # characters of a search: beyond this it is no name, reference or id


@dataclass(frozen=True)
class ConsoleConfig:
    """``publish`` sends a redaction request to the log; None: the console is read-only."""

    settings: Settings
    operator: str | None = None
    publish: Callable[[RedactionRequested], None] | None = None

    @property
    def writable(self) -> bool:
        return self.publish is not None and bool(self.operator)


class Refused(Exception):
    """A request the console answers with an error page: ``status``, a title and what was
    asked (shown back to the person)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail


def read_only_engine(engine: Engine) -> Engine:
    """``engine`` with every connection read-only at the database, so no bug in the console
    can write to the index: SQLite's ``query_only``, PostgreSQL's read-only transactions."""
    @event.listens_for(engine, "connect")
    def _read_only(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cursor.close()
        if engine.dialect.name != "sqlite":
            connection.commit()

    return engine


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _templates() -> Environment:
    env = Environment(loader=PackageLoader("streams.console", "templates"),
                      autoescape=select_autoescape(default=True))
    env.filters["when"] = _when
    env.filters["short"] = lambda kind: (kind or "?").rsplit(".", 1)[-1]
    return env


class Console:
    """The pages; each method is one route's endpoint (its name labels the metrics)."""

    def __init__(self, engine: Engine, config: ConsoleConfig) -> None:
        self.engine, self.config = engine, config
        self.reader = IndexReader(self.engine)
        self.lineage = redaction.LineageCache(self.engine)
        self.templates = _templates()

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        fresh = self.reader.freshness()
        html = self.templates.get_template(name).render(
            request=request, fresh=fresh, writable=self.config.writable,
            operator=self.config.operator, **context)
        return HTMLResponse(html, status_code=status)

    def home(self, request: Request) -> Response:
        return self.page(request, "home.html", stages=self.reader.stages())

    def search(self, request: Request) -> Response:
        text = request.query_params.get("q", "").strip()
        if not text or len(text) > MAX_QUERY:
            return self.page(request, "home.html", 400, stages=self.reader.stages(),
                             query=text[:MAX_QUERY], error="Type an athlete's name, a provider "
                             "reference, an event id or a worker id (1 to "
                             f"{MAX_QUERY} characters).")
        results = self.reader.search(text)
        if not results:
            raise Refused(404, "Nothing found", f"Nothing in the index matches “{text}” (searched"
                          " athlete names, provider references, event ids and worker ids).")
        return self.page(request, "search.html", query=text, results=results)

    def athlete(self, request: Request) -> Response:
        entity_id = request.path_params["entity_id"]
        if not self.reader.entity_known(entity_id):
            raise Refused(404, "Unknown athlete",
                          f"No event in the index is about the entity “{entity_id}”.")
        started = time.perf_counter()
        tree = lineage_tree(self.engine, entity_id)
        return self.page(request, "athlete.html", entity_id=entity_id, tree=tree,
                         tree_ms=(time.perf_counter() - started) * 1000,
                         **self.reader.athlete(entity_id))

    def event_page(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        detail = self.reader.event(event_id)
        if detail is None:
            raise Refused(404, "Unknown event", f"The index holds no event with id “{event_id}”.")
        return self.page(request, "event.html", e=detail, tree=lineage_tree(self.engine, event_id))

    def redactions(self, request: Request) -> Response:
        return self.page(request, "redactions.html", redactions=self.reader.redactions(), form={})

    async def preview(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        return self._preview(request, form, submit=False)

    async def submit(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not self.config.writable:
            raise Refused(403, "This console is read-only",
                          "Submitting a redaction needs an operator: start the console with "
                          f"--operator NAME and {WRITE_ENV}=1. Nothing was written.")
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
            raise Refused(403, "Refused", "A redaction must be submitted from this console's "
                          f"own page (the request came from {origin}). Nothing was written.")
        return self._preview(request, form, submit=True)

    def _preview(self, request: Request, form: dict[str, str], *, submit: bool) -> Response:
        by = self.config.operator if submit else (self.config.operator or "console dry run")
        try:
            asked = redaction.parse(form, str(by), self.config.settings)
            result = redaction.preview(self.lineage.state(self.reader.freshness()), asked,
                                       self.config.settings)
        except redaction.FormError as exc:
            return self.page(request, "redactions.html", 400, redactions=self.reader.redactions(),
                        form=form, error=str(exc))
        if submit and self.config.publish is not None:
            self.config.publish(asked)
        return self.page(request, "redactions.html", redactions=self.reader.redactions(), form=form,
                    preview=result, submitted=submit)

    def crowd(self, request: Request) -> Response:
        return self.page(request, "crowd.html", crowd=self.reader.crowd())

    def worker(self, request: Request) -> Response:
        worker_id = request.path_params["worker_id"]
        found = self.reader.worker(worker_id)
        if found is None:
            raise Refused(404, "Unknown worker",
                          f"The index holds no graded answer or quality estimate of worker "
                          f"“{worker_id}”.")
        points = [(float(i + 1), q["accuracy"]) for i, q in enumerate(found["quality"])]
        chart = line_chart({"estimated accuracy": points}, x_label="estimate",
                           y_label="accuracy")
        return self.page(request, "worker.html", w=found, chart=chart)

    def model(self, request: Request) -> Response:
        raw = request.query_params.get("top", "20")
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise Refused(400, "Malformed request",
                          f"top must be a number from 1 to 1000, not “{raw[:MAX_QUERY]}”.")
        curve = error_curve(self.reader.evaluations())
        xs = [float(n) for n in curve.outcomes]
        chart = line_chart({f"log error, last {curve.window}": list(zip(xs, curve.log_error,
                                                                        strict=True)),
                            "running log MAE": list(zip(xs, curve.mae_log, strict=True))},
                           x_label="outcomes learned", y_label="|log1p error|", log_x=True)
        return self.page(request, "model.html", curve=curve, chart=chart, summary=summary(curve),
                    ranking=self.reader.ranking(int(raw)), top=int(raw))

    def health(self, request: Request) -> Response:
        return self.page(request, "health.html", stages=self.reader.stages(),
                    positions=self.reader.positions(), letters=self.reader.dead_letters())

    def original(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        data = self.reader.dead_letter_original(event_id)
        if data is None:
            raise Refused(404, "No original bytes",
                          f"“{event_id}” is no dead letter in the index, or it kept no bytes.")
        return Response(data, media_type="application/octet-stream", headers={
            "Content-Disposition": f'attachment; filename="deadletter-{event_id}.bin"'})

    def metrics(self, _request: Request) -> Response:
        fresh = self.reader.freshness()
        INDEX_EVENTS.set(fresh.events)
        if fresh.latest is not None:
            INDEX_LATEST.set(fresh.latest.timestamp())
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    def healthz(self, _request: Request) -> Response:
        return PlainTextResponse("ok\n")

    def readyz(self, _request: Request) -> Response:
        try:
            with self.engine.connect() as connection:
                ready = inspect(connection).has_table("events")
        except SQLAlchemyError:
            ready = False
        return PlainTextResponse("ok\n" if ready else "no event index yet\n",
                                 status_code=200 if ready else 503)

    def refused(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # a path no route knows, a method not allowed
            exc = Refused(exc.status_code, "Not found" if exc.status_code == 404 else "Refused",
                          f"Nothing here answers {request.method} {request.url.path}.")
        assert isinstance(exc, Refused)
        return self.page(request, "error.html", exc.status, title=exc.title, detail=exc.detail)


def create_app(engine: Engine, config: ConsoleConfig) -> Starlette:
    """The console over ``engine`` (pass a ``read_only_engine``)."""
    console = Console(engine, config)
    routes = [
        Route("/", console.home), Route("/search", console.search),
        Route("/athletes/{entity_id:path}", console.athlete),
        Route("/events/{event_id}", console.event_page),
        Route("/redactions", console.redactions),
        Route("/redactions/preview", console.preview, methods=["POST"]),
        Route("/redactions", console.submit, methods=["POST"]),
        Route("/crowd", console.crowd), Route("/workers/{worker_id}", console.worker),
        Route("/model", console.model), Route("/health", console.health),
        Route("/deadletters/{event_id}/original", console.original),
        Route("/metrics", console.metrics), Route("/healthz", console.healthz),
        Route("/readyz", console.readyz),
    ]
    return Starlette(routes=routes, middleware=[Middleware(RequestMetrics)],
                     exception_handlers={Refused: console.refused,
                                         HTTPException: console.refused})
