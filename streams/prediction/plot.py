"""`crowdlog prediction plot`: how a model's error fell as it learned, from the log.

The running errors on ``ModelEvaluated`` average over every outcome since the first, so they
move slowly and keep the untrained start in them forever; the windowed log error shows what
the model is worth now. It scores the published prediction (``predicted``, the interval's
log-normal mean), so it sits a little above the model's own log MAE, which scores the median.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from streams.events.model import Event
from streams.prediction.models import ModelEvaluated
from streams.prediction.rank import positive
from streams.settings import Settings
from streams.topics import PREDICTION_METRICS, full_name

if TYPE_CHECKING:
    from streams.events.codec import Codec


@dataclass(frozen=True)
class ErrorCurve:
    """One model's error after each outcome it learned, in log order (empty without any).

    ``log_error[i]`` is the mean of ``|log1p(predicted) - log1p(observed)|`` over the last
    ``window`` outcomes up to ``outcomes[i]`` (over all of them while fewer).
    """

    model: str
    window: int
    outcomes: tuple[int, ...]
    mae: tuple[float, ...]
    mae_log: tuple[float, ...]
    log_error: tuple[float, ...]


def error_curve(events: Iterable[Event], model: str | None = None,
                window: int = 200) -> ErrorCurve:
    """The error curve of ``model``, or of the model with the most evaluations when None.

    A redelivered or replayed evaluation has the same event id and is counted once.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    seen: set[str] = set()
    evaluations: list[ModelEvaluated] = []
    for event in events:
        if isinstance(event, ModelEvaluated) and event.event_id not in seen:
            seen.add(event.event_id)
            evaluations.append(event)
    if model is None:
        counts = Counter(e.model for e in evaluations)
        model = min(counts, key=lambda m: (-counts[m], m)) if counts else ""
    mine = [e for e in evaluations if e.model == model]
    recent: deque[float] = deque(maxlen=window)
    total = 0.0
    log_error: list[float] = []
    for e in mine:
        if len(recent) == window:
            total -= recent[0]
        error = abs(math.log1p(e.predicted) - math.log1p(e.observed))
        recent.append(error)
        total += error
        log_error.append(total / len(recent))
    return ErrorCurve(model=model, window=window, outcomes=tuple(e.outcomes for e in mine),
                      mae=tuple(e.mae for e in mine), mae_log=tuple(e.mae_log for e in mine),
                      log_error=tuple(log_error))


def summary(curve: ErrorCurve) -> str:
    """One line: the windowed log error at the start and now, and the running MAE."""
    if not curve.outcomes:
        return "no model evaluations on the log yet"
    mae = f"running MAE {curve.mae[-1]:,.0f} views/post"
    if len(curve.outcomes) <= curve.window:
        return (f"model {curve.model}: log error {curve.log_error[-1]:.2f} over all "
                f"{len(curve.outcomes)} outcomes (fewer than a window of {curve.window}; "
                f"{mae})")
    first = curve.log_error[curve.window - 1]
    return (f"model {curve.model}: log error {first:.2f} over the first {curve.window} "
            f"outcomes -> {curve.log_error[-1]:.2f} over the last {curve.window} "
            f"({curve.outcomes[-1]} outcomes; {mae})")


def save_plot(curve: ErrorCurve, path: Path) -> None:
    """Write the curve as a PNG: log errors above, the running MAE in views below.

    A bare ``Figure`` renders through Agg without pyplot: no display is needed and the
    process's pyplot backend and open figures (a notebook's) are left alone.
    """
    from matplotlib.figure import Figure  # noqa: PLC0415 - plotting is rare, matplotlib slow

    figure = Figure(figsize=(8, 6), layout="constrained")
    log_axes, mae_axes = figure.subplots(2, 1, sharex=True)
    log_axes.plot(curve.outcomes, curve.log_error,
                  label=f"last {curve.window} outcomes")
    log_axes.plot(curve.outcomes, curve.mae_log, label="running (model's own, median)")
    log_axes.set_ylabel("|log1p error|")
    log_axes.legend()
    mae_axes.plot(curve.outcomes, curve.mae, color="tab:red")
    mae_axes.set_ylabel("running MAE (views/post)")
    mae_axes.set_xscale("log")  # the learning happens in the first few hundred outcomes
    mae_axes.set_xlabel("outcomes learned")
    figure.suptitle(f"model {curve.model}: error before learning each outcome")
    figure.savefig(path, format="png")


def read_curve(settings: Settings, codec: Codec, *, model: str | None = None,
               window: int = 200, idle_timeout: float = 5.0) -> tuple[ErrorCurve, list[str]]:
    """The error curve from ``prediction.metrics`` as it is now, and a line for each message or
    partition it had to do without (read like ``rank.read_ranking``: nothing written)."""
    from streams.tools.log_reader import LogReader  # noqa: PLC0415 - no Kafka client at import

    reader = LogReader(settings, [full_name(PREDICTION_METRICS, settings.topic_prefix)],
                       idle_timeout=idle_timeout)
    curve = error_curve((event for _where, event in reader.events(codec)), model, window)
    return curve, reader.problems()


def plot_command(args: argparse.Namespace, settings: Settings) -> int:
    from streams.codecs import default_codec  # noqa: PLC0415 - schemas load when run

    curve, problems = read_curve(settings, default_codec(), model=args.model,
                                 window=args.window, idle_timeout=args.idle_timeout)
    for line in problems:
        print(line, file=sys.stderr)
    print(summary(curve))
    if not curve.outcomes:
        return 1
    save_plot(curve, Path(args.out))
    print(f"plot -> {args.out}")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``prediction plot`` on the main parser."""
    prediction = commands.add_parser("prediction", help="the prediction stage's model error")
    actions = prediction.add_subparsers(dest="action", required=True)
    plot = actions.add_parser("plot", help="plot a model's error as it learned, as a PNG")
    plot.add_argument("--out", required=True, help="the PNG file to write")
    plot.add_argument("--model", help="default: the model with the most evaluations")
    plot.add_argument("--window", type=positive, default=200,
                      help="outcomes per point of the windowed log error (default: 200)")
    plot.add_argument("--idle-timeout", type=float, default=5.0,
                      help="seconds a partition may stay silent before its end (default 5)")
    plot.set_defaults(run=plot_command)
