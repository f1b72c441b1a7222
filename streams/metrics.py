"""Prometheus metrics shared by every long-running crowdlog service, and the port they are on.

One set of metric families, labelled by stage, so a dashboard reads the sink, the worker's
stages, prediction, lineage and the console alike: events in and out, dead letters, how long
the processing of a batch or event took, how far a consumer is behind the log, what the crowd
cost and how wrong the model is. They live in prometheus-client's default registry, which also
carries the process's own figures (memory, CPU, open files).

A service serves them with ``serve_from_env``: only when ``CROWDLOG_METRICS_PORT`` is set (off
by default, so tests and one-off commands open no port), on ``CROWDLOG_METRICS_HOST``
(default ``0.0.0.0``: Prometheus scrapes from another host). The same small HTTP server answers
``/healthz`` (the process serves) and ``/readyz`` (the service says it is ready: a sink once its
schema exists, a stage once it has partitions), which is what an orchestrator's probes ask.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

PORT_ENV = "CROWDLOG_METRICS_PORT"
HOST_ENV = "CROWDLOG_METRICS_HOST"

EVENTS_IN = Counter("crowdlog_events_in", "Events a stage consumed", ["stage"])
EVENTS_OUT = Counter("crowdlog_events_out", "Events a stage produced or stored", ["stage"])
DEAD_LETTERS = Counter("crowdlog_dead_letters", "Messages a stage dead-lettered",
                       ["stage", "error"])
PROCESSING = Histogram("crowdlog_processing_seconds",
                       "Time to process one batch (or one event) of a stage", ["stage"],
                       buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
CONSUMER_LAG = Gauge("crowdlog_consumer_lag_messages",
                     "Messages on the stage's input partitions not consumed yet", ["stage"])
CROWD_COST = Counter("crowdlog_crowd_cost_cents", "Rewards paid to crowd workers, in cents")
MODEL_ERROR = Gauge("crowdlog_model_error", "The model's running error", ["model", "measure"])


class StageMetrics:
    """One stage's figures, updated once per batch by a consumer loop.

    Consumers count their dead letters as a running total (``EventConsumer.dead_lettered``);
    ``batch`` turns the total into the counter's increments.
    """

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._dead_lettered = 0
        self.processing = PROCESSING.labels(stage)

    def batch(self, *, consumed: int, produced: int, lag: int | None = None,
              dead_lettered: int | None = None, error: str = "undecodable") -> None:
        """A batch done: ``consumed`` events in, ``produced`` out (or stored), the ``lag``
        left, and the consumer's total of dead letters so far."""
        EVENTS_IN.labels(self.stage).inc(consumed)
        EVENTS_OUT.labels(self.stage).inc(produced)
        if lag is not None:
            CONSUMER_LAG.labels(self.stage).set(lag)
        if dead_lettered is not None and dead_lettered > self._dead_lettered:
            DEAD_LETTERS.labels(self.stage, error).inc(dead_lettered - self._dead_lettered)
            self._dead_lettered = dead_lettered


def exported(registry: Any = REGISTRY) -> list[str]:
    """The names of the metric families ``registry`` exports, sorted (for the operator guide).

    >>> "crowdlog_events_in" in exported()
    True
    """
    return sorted({family.name for family in registry.collect()})


@dataclass
class MetricsServer:
    """A running metrics server; ``close`` stops it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would drown the service's own log."""


def probes_app(ready: Callable[[], bool], registry: Any = REGISTRY) -> Callable[..., Any]:
    """A WSGI app: ``/healthz``, ``/readyz``, and the metrics on every other path."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in ("/healthz", "/readyz"):
            ok = path == "/healthz" or ready()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n" if ok else b"not ready\n"]
        body: Iterable[bytes] = metrics(environ, start_response)
        return body

    return app


def serve(port: int, host: str = "127.0.0.1",
          ready: Callable[[], bool] = lambda: True) -> MetricsServer:
    """Serve the metrics and probes on ``host:port`` (0: any free port) from a daemon thread."""
    server = make_server(host, port, probes_app(ready), ThreadingWSGIServer, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="crowdlog-metrics", daemon=True)
    thread.start()
    return MetricsServer(server, thread)


def serve_from_env(ready: Callable[[], bool] = lambda: True,
                   environ: Mapping[str, str] | None = None) -> MetricsServer | None:
    """``serve`` on ``CROWDLOG_METRICS_PORT`` when it is set; None (nothing served) when not.

    >>> serve_from_env(environ={}) is None
    True
    """
    env = os.environ if environ is None else environ
    raw = env.get(PORT_ENV, "").strip()
    if not raw:
        return None
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"{PORT_ENV} must be a port number, not {raw!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"{PORT_ENV} must be a port number, not {raw!r}")
    return serve(port, env.get(HOST_ENV, "0.0.0.0").strip() or "0.0.0.0", ready)


@contextmanager
def served_from_env(ready: Callable[[], bool] = lambda: True) -> Iterator[MetricsServer | None]:
    """``serve_from_env`` for the length of a ``with`` block: a service's loop runs inside it."""
    server = serve_from_env(ready)
    try:
        yield server
    finally:
        if server is not None:
            server.close()
