"""`crowdlog rank`: the athletes predicted to draw the most page views per post.

Built from the log alone, the latest ``PageViewsPredicted`` of each athlete joined with its
record, so the ranking needs no stage state and anyone can rebuild it. Each row names its
prediction event and that event's parents, which ``crowdlog tail`` or the event index trace back
to the record and profiles the prediction came from.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from streams.events.model import Event
from streams.prediction.models import PageViewsPredicted
from streams.records.models import RecordReceived
from streams.settings import Settings
from streams.topics import PREDICTION_PAGEVIEWS, RECORDS_RECEIVED, full_name

if TYPE_CHECKING:
    from streams.events.codec import Codec


@dataclass(frozen=True)
class Ranked:
    """One athlete's latest prediction with the record facts a reader recognises them by.

    ``name`` is the entity id and ``sport`` empty when the record was not read (the ranking
    still shows the prediction rather than hiding it).
    """

    entity_id: str
    name: str
    sport: str
    team: str | None
    page_views: float
    low: float
    high: float
    model: str
    model_outcomes: int
    prediction_id: str
    parents: tuple[str, ...]


def rank(events: Iterable[Event], top: int) -> list[Ranked]:
    """The ``top`` athletes by predicted page views per post, ties by entity id.

    A refreshed profile re-predicts, so only the last prediction of an entity in log order
    counts; one entity's events share a partition, so that order is the order they were made.
    """
    if top < 0:
        raise ValueError(f"top must not be negative, got {top}")
    records: dict[str, RecordReceived] = {}
    latest: dict[str, PageViewsPredicted] = {}
    for event in events:
        if isinstance(event, RecordReceived):
            records[event.entity_id] = event
        elif isinstance(event, PageViewsPredicted):
            latest[event.entity_id] = event
    ordered = sorted(latest.values(), key=lambda p: (-p.page_views, p.entity_id))
    return [_ranked(p, records.get(p.entity_id)) for p in ordered[:top]]


def _ranked(prediction: PageViewsPredicted, record: RecordReceived | None) -> Ranked:
    return Ranked(
        entity_id=prediction.entity_id,
        name=record.name if record else prediction.entity_id,
        sport=record.sport if record else "",
        team=record.team if record else None,
        page_views=prediction.page_views, low=prediction.low, high=prediction.high,
        model=prediction.model, model_outcomes=prediction.model_outcomes,
        prediction_id=prediction.event_id, parents=prediction.meta.parents,
    )


def format_ranking(ranked: list[Ranked]) -> str:
    """A table for people, with the models behind it (an untrained model ranks at random)."""
    if not ranked:
        return "no predictions on the log yet"
    header = ("#", "name", "sport", "team", "views/post", "~80% interval", "prediction")
    rows = [(str(position), r.name, r.sport or "-", r.team or "-", f"{r.page_views:,.0f}",
             f"{r.low:,.0f}..{r.high:,.0f}", r.prediction_id)
            for position, r in enumerate(ranked, start=1)]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    numeric = {0, 4, 5}
    lines = ["  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in (header, *rows)]
    return "\n".join([*lines, _models_line(ranked)])


def _models_line(ranked: list[Ranked]) -> str:
    spans: dict[str, list[int]] = {}
    for r in ranked:
        spans.setdefault(r.model, []).append(r.model_outcomes)
    parts = [f"{model} after {min(n):,}" + (f"-{max(n):,}" if max(n) != min(n) else "")
             + " outcomes" for model, n in sorted(spans.items())]
    return "predicted by " + "; ".join(parts)


def ranking_json(ranked: list[Ranked]) -> str:
    """The ranking as a JSON list of objects with ``Ranked``'s fields, for scripts."""
    return json.dumps([asdict(r) for r in ranked], indent=2)


def read_ranking(settings: Settings, codec: Codec, top: int, *,
                 idle_timeout: float = 5.0) -> tuple[list[Ranked], list[str]]:
    """Rank from ``records.received`` and ``prediction.pageviews`` as they are now, and a line
    for each message or partition the ranking had to do without.

    Read without a consumer group (``LogReader``): nothing is committed, and a message that is
    no event is reported, never dead-lettered, since a ranking only reads the log.
    """
    from streams.tools.log_reader import LogReader  # noqa: PLC0415 - no Kafka client at import

    topics = [full_name(spec, settings.topic_prefix)
              for spec in (RECORDS_RECEIVED, PREDICTION_PAGEVIEWS)]
    reader = LogReader(settings, topics, idle_timeout=idle_timeout)
    ranked = rank((event for _where, event in reader.events(codec)), top)
    return ranked, reader.problems()


def rank_command(args: argparse.Namespace, settings: Settings) -> int:
    from streams.codecs import default_codec  # noqa: PLC0415 - schemas load when run

    ranked, problems = read_ranking(settings, default_codec(), args.top,
                                    idle_timeout=args.idle_timeout)
    for line in problems:
        print(line, file=sys.stderr)
    print(ranking_json(ranked) if args.json else format_ranking(ranked))
    return 0


def positive(text: str) -> int:
    """An argparse type for counts that must be at least one."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``rank`` on the main parser."""
    parser = commands.add_parser(
        "rank", help="the athletes predicted to draw the most page views per post")
    parser.add_argument("--top", type=positive, default=20, help="how many (default: 20)")
    parser.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    parser.add_argument("--idle-timeout", type=float, default=5.0,
                        help="seconds a partition may stay silent before its end (default 5)")
    parser.set_defaults(run=rank_command)
