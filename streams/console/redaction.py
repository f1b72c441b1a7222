"""The redaction form: what an operator typed, turned into the request ``crowdlog redact`` makes.

The form's fields are the command's options, and they go through the command's own
``request_from_args``, so the console asks for exactly what the command line would. The preview
is the dry run's: the index's lineage state (``load_state``) and the lineage stage's core
(``observe``), summed up by ``Impact``. Input that cannot make a request (no criterion, a time
that is no ISO time, an event id the index does not hold) is a ``FormError`` with a message for
the person, never an exception page.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from streams.lineage.commands import request_from_args
from streams.lineage.core import LineageConfig, LineageState, observe
from streams.lineage.impact import Impact
from streams.lineage.index_graph import load_state
from streams.lineage.models import EventRetracted, RedactionRequested
from streams.settings import Settings
from streams.tools.replay_command import instant

# The form's text fields; ``event`` holds ids separated by spaces, commas or new lines.
FIELDS = ("event", "stage", "version", "version_min", "version_max", "worker", "source",
          "occurred_from", "occurred_to", "reason")
MAX_FIELD = 2000  # characters: a form field longer than this is no criterion anyone typed
SHOWN = 200  # retracted events listed on the preview page


class FormError(ValueError):
    """The form cannot make a request; the message says which field and why."""


@dataclass(frozen=True)
class Preview:
    request: RedactionRequested
    impact: Impact
    retracted: list[EventRetracted]  # the first ``SHOWN``, in the core's order


def parse(form: Mapping[str, str], requested_by: str, settings: Settings,
          now: datetime | None = None) -> RedactionRequested:
    """The request the form describes (``requested_by`` is never taken from the form).

    >>> parse({"stage": "consensus", "reason": "bad rule"}, "ann", Settings()).stage
    'consensus'
    >>> parse({"stage": "consensus"}, "ann", Settings())
    Traceback (most recent call last):
    ...
    streams.console.redaction.FormError: reason: say why the events are redacted
    """
    values = {name: (form.get(name) or "").strip() for name in FIELDS}
    for name, value in values.items():
        if len(value) > MAX_FIELD:
            raise FormError(f"{name}: at most {MAX_FIELD} characters")
    if not values["reason"]:
        raise FormError("reason: say why the events are redacted")
    moments = {}
    for name in ("occurred_from", "occurred_to"):
        try:
            moments[name] = instant(values[name]) if values[name] else None
        except argparse.ArgumentTypeError as exc:
            raise FormError(f"{name.replace('occurred_', '')}: {exc}") from None
    ids = values["event"].replace(",", " ").split()
    args = argparse.Namespace(
        event=ids or None, stage=values["stage"] or None, version=values["version"] or None,
        version_min=values["version_min"] or None, version_max=values["version_max"] or None,
        worker=values["worker"] or None, source=values["source"] or None,
        reason=values["reason"], by=requested_by, **moments)
    try:
        return request_from_args(args, settings, now or datetime.now(UTC))
    except ValueError as exc:
        raise FormError(str(exc)) from None


class LineageCache:
    """The index's lineage state, loaded once for each state of the index instead of for each
    preview: loading reads every event row, a preview only what its redaction reaches.

    ``key`` names the index's state (the console's ``Freshness``: the index only grows, so its
    event count moves with anything indexed). The graph is shared, read-only (propagating a
    redaction reads it and never changes it); each caller gets its own copy of what is
    retracted, which a preview adds to.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._loaded: tuple[Hashable, LineageState] | None = None
        self.loads = 0

    def state(self, key: Hashable) -> LineageState:
        with self._lock:
            if self._loaded is None or self._loaded[0] != key:
                self._loaded = (key, load_state(self._engine))
                self.loads += 1
            shared = self._loaded[1]
        return LineageState(graph=shared.graph, retracted=dict(shared.retracted))


def preview(state: LineageState, request: RedactionRequested, settings: Settings) -> Preview:
    """What ``request`` would retract from the index's lineage ``state`` (``load_state``), as
    ``crowdlog redact --dry-run`` computes it; nothing is written. An event id the index does
    not hold is a ``FormError`` (a typo selects nothing)."""
    unknown = [i for i in request.event_ids if i not in state.graph.nodes]
    if unknown:
        raise FormError(f"event: not in the index: {', '.join(unknown[:5])}")
    outputs = observe(state, request, LineageConfig(instance=settings.instance))
    retracted = [o for o in outputs if isinstance(o, EventRetracted)]
    return Preview(request, Impact.of(retracted, state.graph), retracted[:SHOWN])
