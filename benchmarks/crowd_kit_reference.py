"""The batch methods' reference accuracies, run once with Crowd-Kit and kept in a JSON file.

``python -m benchmarks.crowd_kit_reference [--data DIR] [--sets NAME ...]``

Crowd-Kit (the optional ``bench`` dependency) takes minutes per run on two shared cores, and
its numbers only change with its version, so the crowd benchmark reads them from
``benchmarks/reference/crowd_kit.json`` (committed) instead of recomputing them. This module
(re)measures the named sets, or every set in the data directory, and merges them into that
file with the Crowd-Kit version and each method's settings.

Every method gets the answers the online model gets: a repeated (item, worker) pair keeps the
later answer. Accuracy is the share of the gold items with at least one answer that the
method labels with the gold label.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from research.consensus.evaluate import Answer, read_answers, read_truth

REFERENCE = Path(__file__).resolve().parent / "reference" / "crowd_kit.json"
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "crowd"
METHODS: dict[str, dict[str, Any]] = {
    # Crowd-Kit class name: the constructor arguments (fixed seeds where there is randomness)
    "MajorityVote": {},
    "Wawa": {},
    "ZeroBasedSkill": {},
    "OneCoinDawidSkene": {"n_iter": 100},
    "DawidSkene": {"n_iter": 100},
    "MACE": {"random_state": 0},
    "GLAD": {},
}


def load(path: Path = REFERENCE) -> dict[str, Any]:
    """The reference file's content; an empty table when it does not exist yet."""
    if not path.exists():
        return {"crowd_kit": None, "methods": METHODS, "sets": {}}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def run_crowd_kit(aggregation: Any, answers: Sequence[Answer],
                  truth: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """Accuracy and seconds of every method of :data:`METHODS` on one data set."""
    pandas = importlib.import_module("pandas")
    latest = {(a.item, a.worker): a.label for a in answers}
    frame = pandas.DataFrame(
        [(item, worker, label) for (item, worker), label in latest.items()],
        columns=["task", "worker", "label"])
    answered = {item for item, _ in latest}
    gold = [item for item in truth if item in answered]
    results = {}
    for name, arguments in METHODS.items():
        started = time.perf_counter()
        predicted = getattr(aggregation, name)(**arguments).fit_predict(frame).to_dict()
        correct = sum(str(predicted.get(item)) == truth[item] for item in gold)
        results[name] = {"accuracy": round(correct / len(gold), 4),
                         "seconds": round(time.perf_counter() - started, 1)}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: measure, merge into the reference file; 2 without Crowd-Kit or data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sets", nargs="*", help="data set names (default: all in --data)")
    parser.add_argument("--out", type=Path, default=REFERENCE)
    args = parser.parse_args(argv)
    try:
        aggregation = importlib.import_module("crowdkit.aggregation")
    except ImportError:
        print("Crowd-Kit is not installed (pip install -e '.[bench]')", file=sys.stderr)
        return 2
    names = args.sets or sorted(path.name.removesuffix("_label.csv")
                                for path in args.data.glob("*_label.csv"))
    if not names:
        print(f"no <name>_label.csv in {args.data}", file=sys.stderr)
        return 2
    table = load(args.out)
    table["crowd_kit"] = importlib.metadata.version("crowd-kit")
    table["methods"] = METHODS
    for name in names:
        print(f"Crowd-Kit on {name} ...", file=sys.stderr, flush=True)
        answers = read_answers(args.data / f"{name}_label.csv")
        truth = read_truth(args.data / f"{name}_truth.csv")
        table["sets"][name] = run_crowd_kit(aggregation, answers, truth)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
