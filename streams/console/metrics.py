"""The console's own metrics: requests by page and status, how long pages take, and how big and
how fresh the index it shows is (read when Prometheus scrapes, so an idle console still says).

The shared families (``streams.metrics``) and the process's own (memory, CPU) are in the same
default registry, so ``/metrics`` serves them all.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("crowdlog_console_requests", "Console requests by page and status",
                   ["page", "status"])
PAGE_SECONDS = Histogram("crowdlog_console_page_seconds", "Time to answer a console request",
                         ["page"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
INDEX_EVENTS = Gauge("crowdlog_index_events", "Events in the event index the console reads")
INDEX_LATEST = Gauge("crowdlog_index_latest_event_timestamp_seconds",
                     "Event time of the newest event in the index (Unix seconds)")


class RequestMetrics:
    """ASGI middleware: counts and times each HTTP request under its endpoint's name (a few
    names, never the path, whose ids would make a series per athlete)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            page = _page(scope)
            REQUESTS.labels(page, str(status[0])).inc()
            PAGE_SECONDS.labels(page).observe(time.perf_counter() - started)


def _page(scope: Scope) -> str:
    endpoint: Any = scope.get("endpoint")
    return getattr(endpoint, "__name__", "unrouted")
