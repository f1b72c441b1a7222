"""`crowdlog predict`, `rank` and `prediction plot`: the prediction stage and its readers.

Kept apart from ``streams.cli`` so the main command line stays an index.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from streams.prediction import plot, rank
from streams.settings import Settings, state_dir


def predict(args: argparse.Namespace, settings: Settings) -> int:
    from streams.codecs import default_codec
    from streams.prediction.core import PredictionConfig
    from streams.prediction.learners import DEFAULT_MODEL, MODELS
    from streams.prediction.service import run_prediction_service

    model = args.model or DEFAULT_MODEL
    if model not in MODELS:
        print(f"error: unknown model {model!r}; known: {', '.join(sorted(MODELS))}")
        return 2
    snapshots = Path(args.snapshot_dir) if args.snapshot_dir else \
        state_dir() / "prediction" / f"{settings.topic_prefix}{model}"
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):  # stop cleanly: outputs flushed, snapshot
        signal.signal(number, lambda _number, _frame: stop.set())
    report = run_prediction_service(
        settings, default_codec(), PredictionConfig(model=model, instance=settings.instance),
        snapshot_dir=snapshots, idle_timeout=args.idle_timeout, stop=stop)
    restored = ("" if report.restored_outcomes is None
                else f" (restored a snapshot at {report.restored_outcomes} outcomes)")
    print(f"prediction: {report.events} events read{restored}, {report.predictions} "
          f"predictions, {report.evaluations} outcomes learned, {report.snapshots} snapshots "
          f"in {snapshots}")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``predict``, ``rank`` and ``prediction plot`` (River loads only when run)."""
    rank.add_commands(commands)
    plot.add_commands(commands)
    service = commands.add_parser("predict", help="run the prediction stage (River, online)")
    service.add_argument("--model", help="a model of streams.prediction.learners.MODELS "
                         "(default: its DEFAULT_MODEL)")
    service.add_argument("--snapshot-dir",
                         help="default: $CROWDLOG_STATE_DIR/prediction/<prefix><model>")
    service.add_argument("--idle-timeout", type=float,
                         help="stop after this many seconds without events (default: run on)")
    service.set_defaults(run=predict)
