"""Accuracy of the online consensus model against Crowd-Kit's batch methods on public crowd data.

``python -m benchmarks.crowd_accuracy [--data DIR] [--reference FILE]``

For every ``<name>_label.csv`` / ``<name>_truth.csv`` pair in the data directory (default
``../shared/data/crowd`` beside the repository) it prints one row:

* the batch methods (Crowd-Kit, all answers at once), read from the committed reference
  table ``benchmarks/reference/crowd_kit.json`` (``python -m benchmarks.crowd_kit_reference``
  measures them again): majority vote, Dawid-Skene, GLAD, MACE and the best of every method
  measured there;
* the online model, which reads each answer once in file order (:mod:`research.consensus.
  protocol`): "at the time" scores each item's decision right after its last answer;
  "leave-one-out" settles with the setting chosen on the *other* sets, the honest score;
  "in-sample" with the setting chosen on every set including this one;
* the leave-one-out margin over the best batch method, compared at four decimals.

Every method gets the same answers: a repeated (item, worker) pair keeps the later answer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.crowd_kit_reference import DEFAULT_DATA, REFERENCE, load
from research.consensus.evaluate import read_answers, read_truth
from research.consensus.protocol import SetScores, choose, leave_one_out, measure_set

SHOWN = {"MajorityVote": "MV", "DawidSkene": "DS", "GLAD": "GLAD", "MACE": "MACE"}


def best_batch(reference: Mapping[str, Any]) -> dict[str, tuple[str, float]]:
    """Per data set, the best method of the reference table and its accuracy.

    >>> best_batch({"sets": {"a": {"MV": {"accuracy": 0.7}, "DS": {"accuracy": 0.8}}}})
    {'a': ('DS', 0.8)}
    """
    return {name: max(((method, result["accuracy"]) for method, result in methods.items()),
                      key=lambda pair: pair[1])
            for name, methods in reference["sets"].items()}


def render(scores: Sequence[SetScores], reference: Mapping[str, Any]) -> str:
    """The results as one plain-text table and the protocol's choices."""
    best = best_batch(reference)
    bar = {name: accuracy for name, (_, accuracy) in best.items()}
    held_out = leave_one_out(scores, bar)
    known = [s for s in scores if s.name in bar]
    everywhere = choose(known, bar)
    header = ["data set", *SHOWN.values(), "best batch", "ours at time", "ours LOO",
              "ours in-sample", "LOO - best", "LOO setting"]
    lines = [header]
    for s in scores:
        batch = reference["sets"].get(s.name, {})
        method, accuracy = best.get(s.name, ("-", None))
        lines.append([
            s.name,
            *(_number(batch.get(column, {}).get("accuracy")) for column in SHOWN),
            f"{_number(accuracy)} {method}",
            _number(s.at_the_time),
            _number(s.final[held_out[s.name]]),
            _number(s.final[everywhere]),
            "-" if accuracy is None else f"{round(s.final[held_out[s.name]] - accuracy, 4):+.4f}",
            held_out[s.name],
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            for line in lines]
    wins = sum(round(s.final[held_out[s.name]], 4) >= round(bar[s.name], 4) for s in known)
    text += [
        "",
        f"batch: Crowd-Kit {reference.get('crowd_kit')} ({REFERENCE.name}); best batch is the "
        f"best of {', '.join(reference.get('methods', {}))}.",
        f"in-sample setting (chosen on all {len(known)} sets): {everywhere}",
        f"ours, leave-one-data-set-out, matches or beats the best batch method on {wins} of "
        f"{len(known)} data sets.",
    ]
    return "\n".join(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: print the table; 2 when there is no data set to measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="directory of <name>_label.csv / <name>_truth.csv pairs")
    parser.add_argument("--reference", type=Path, default=REFERENCE,
                        help="Crowd-Kit's accuracies (benchmarks.crowd_kit_reference)")
    args = parser.parse_args(argv)
    reference = load(args.reference)
    names = sorted(path.name.removesuffix("_label.csv") for path in args.data.glob("*_label.csv")
                   if path.with_name(path.name.replace("_label", "_truth")).exists())
    if not names or not reference["sets"]:
        print(f"no <name>_label.csv with a <name>_truth.csv in {args.data}, or no reference "
              f"in {args.reference}", file=sys.stderr)
        return 2
    scores = []
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        answers = read_answers(args.data / f"{name}_label.csv")
        scores.append(measure_set(name, [(a.item, a.worker, a.label) for a in answers],
                                  read_truth(args.data / f"{name}_truth.csv")))
    print(render(scores, reference))
    return 0


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


if __name__ == "__main__":
    sys.exit(main())
