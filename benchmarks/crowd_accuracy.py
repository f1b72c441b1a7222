"""Accuracy of the online consensus model against Crowd-Kit's batch methods on public crowd data.

``python -m benchmarks.crowd_accuracy [--data DIR] [--skip-crowd-kit]``

For every ``<name>_label.csv`` / ``<name>_truth.csv`` pair in the data directory (default
``../shared/data/crowd`` beside the repository) it prints one row:

* the batch methods, MajorityVote, DawidSkene, MACE and GLAD, run now with Crowd-Kit (the
  optional ``bench`` dependency) on all answers at once; without Crowd-Kit, the numbers of
  the data directory's README table are shown instead;
* our plain majority vote and the online Dawid-Skene model, which reads each answer once in
  file order: "at the time" scores each item's decision right after its last answer,
  "final" after settling (:meth:`OnlineDawidSkene.settle`: the final worker estimates,
  blended with a time-local model that reads each answer with its worker's skill then);
* whether ours matches or beats the best batch method. The best batch number is the best of
  the README reference and, when Crowd-Kit ran, of the live runs; accuracies are compared
  at the README's four decimals.

Every method gets the same answers: a repeated (item, worker) pair keeps the later answer.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from research.consensus.evaluate import Answer, evaluate, read_answers, read_truth

BATCH_METHODS = ("MajorityVote", "DawidSkene", "MACE", "GLAD")
_README_COLUMNS = {
    "majority vote": "MajorityVote",
    "dawid-skene": "DawidSkene",
    "mace": "MACE",
    "glad": "GLAD",
}
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "crowd"


@dataclass(frozen=True)
class Row:
    """One data set's results; accuracies are shares of gold items labelled correctly."""

    name: str
    batch: dict[str, float]
    batch_source: str
    reference_best: float | None
    majority: float
    at_the_time: float
    final: float
    seconds: float
    batch_seconds: float

    @property
    def best_batch(self) -> float | None:
        """The number to beat: best of the reference and the live batch runs."""
        candidates = [*self.batch.values()]
        if self.reference_best is not None:
            candidates.append(self.reference_best)
        return max(candidates) if candidates else None


def read_reference(readme: Path) -> dict[str, dict[str, float]]:
    """The batch accuracies in the data README's reference table, by data set and method."""
    if not readme.exists():
        return {}
    table: dict[str, dict[str, float]] = {}
    columns: list[str | None] = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 2:
            columns = []
            continue
        if cells[0] == "name":
            columns = [_column(cell) for cell in cells[1:]]
        elif columns and not set(cells[0]) <= {"-", ":"}:
            values = {column: float(cell) for column, cell in zip(columns, cells[1:],
                      strict=False) if column and re.fullmatch(r"\d+(\.\d+)?", cell)}
            if values:
                table[cells[0]] = values
    return table


def data_sets(data: Path, order: Sequence[str]) -> list[str]:
    """Names with both files, in the README's order first, then alphabetically."""
    names = {path.name.removesuffix("_label.csv") for path in data.glob("*_label.csv")}
    names = {name for name in names if (data / f"{name}_truth.csv").exists()}
    return [name for name in order if name in names] + sorted(names - set(order))


def run_crowd_kit(crowdkit: Any, answers: Sequence[Answer],
                  truth: Mapping[str, str]) -> tuple[dict[str, float], float]:
    """Accuracy of each batch method on the gold items, and the seconds they took in all."""
    pandas = importlib.import_module("pandas")
    latest = {(a.item, a.worker): a.label for a in answers}
    frame = pandas.DataFrame(
        [(item, worker, label) for (item, worker), label in latest.items()],
        columns=["task", "worker", "label"])
    gold = [item for item in truth if item in {item for item, _ in latest}]
    methods = {
        "MajorityVote": crowdkit.MajorityVote(),
        "DawidSkene": crowdkit.DawidSkene(n_iter=100),
        "MACE": crowdkit.MACE(random_state=0),
        "GLAD": crowdkit.GLAD(),
    }
    started = time.perf_counter()
    results = {}
    for name, method in methods.items():
        predicted = method.fit_predict(frame).to_dict()
        results[name] = sum(predicted.get(item) == truth[item] for item in gold) / len(gold)
    return results, time.perf_counter() - started


def measure(data: Path, name: str, crowdkit: Any,
            reference: Mapping[str, float]) -> Row:
    """Run every method on one data set."""
    answers = read_answers(data / f"{name}_label.csv")
    truth = read_truth(data / f"{name}_truth.csv")
    ours = evaluate(answers, truth, method="dawid-skene")
    majority = evaluate(answers, truth, method="majority")
    if crowdkit is not None:
        batch, batch_seconds = run_crowd_kit(crowdkit, answers, truth)
        source = "Crowd-Kit, run now"
    else:
        batch, batch_seconds, source = dict(reference), 0.0, "README reference"
    return Row(
        name=name,
        batch=batch,
        batch_source=source,
        reference_best=max(reference.values()) if reference else None,
        majority=majority.accuracy or 0.0,
        at_the_time=ours.prequential_accuracy or 0.0,
        final=ours.accuracy or 0.0,
        seconds=ours.seconds,
        batch_seconds=batch_seconds,
    )


def render(rows: Sequence[Row]) -> str:
    """The results as one plain-text table."""
    header = ["data set", *BATCH_METHODS, "best batch", "our MV", "ours at time", "ours final",
              "final>=best", "at time>=best", "ours s", "batch s"]
    lines = [header]
    for row in rows:
        best = row.best_batch
        lines.append([
            row.name,
            *(_number(row.batch.get(method)) for method in BATCH_METHODS),
            _number(best),
            _number(row.majority),
            _number(row.at_the_time),
            _number(row.final),
            _verdict(row.final, best),
            _verdict(row.at_the_time, best),
            f"{row.seconds:.1f}",
            f"{row.batch_seconds:.1f}",
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            for line in lines]
    sources = sorted({row.batch_source for row in rows})
    wins = sum(_verdict(row.final, row.best_batch) == "yes" for row in rows)
    text.append("")
    text.append(f"batch columns: {', '.join(sources)}; best batch also includes the README "
                "reference.")
    text.append(f"ours final matches or beats the best batch method on {wins} of {len(rows)} "
                "data sets.")
    return "\n".join(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: print the table; 2 when there is no data set to measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="directory of <name>_label.csv / <name>_truth.csv pairs")
    parser.add_argument("--skip-crowd-kit", action="store_true",
                        help="show the README reference instead of running Crowd-Kit")
    args = parser.parse_args(argv)
    reference = read_reference(args.data / "README.md")
    names = data_sets(args.data, list(reference))
    if not names:
        print(f"no <name>_label.csv with a <name>_truth.csv in {args.data}", file=sys.stderr)
        return 2
    crowdkit = None if args.skip_crowd_kit else _crowd_kit()
    if crowdkit is None and not args.skip_crowd_kit:
        print("Crowd-Kit is not installed (pip install -e '.[bench]'): showing the README "
              "reference numbers instead", file=sys.stderr)
    rows = []
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        rows.append(measure(args.data, name, crowdkit, reference.get(name, {})))
    print(render(rows))
    return 0


def _crowd_kit() -> Any:
    try:
        return importlib.import_module("crowdkit.aggregation")
    except ImportError:
        return None


def _column(title: str) -> str | None:
    lowered = title.lower()
    return next((method for key, method in _README_COLUMNS.items() if lowered.startswith(key)),
                None)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _verdict(ours: float, best: float | None) -> str:
    if best is None:
        return "-"
    return "yes" if round(ours, 4) >= round(best, 4) else "no"


if __name__ == "__main__":
    sys.exit(main())
