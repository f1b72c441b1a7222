"""Accuracy of the online consensus model against Crowd-Kit's batch methods on public crowd data.

``python -m benchmarks.crowd_accuracy [--data DIR] [--reference FILE]``

For every ``<name>_label.csv`` / ``<name>_truth.csv`` pair in the data directory (default
``../shared/data/crowd`` beside the repository) it prints one row:

* the batch methods (Crowd-Kit, all answers at once), read from the committed reference
  table ``benchmarks/reference/crowd_kit.json`` (``python -m benchmarks.crowd_kit_reference``
  measures them again): majority vote, Dawid-Skene, GLAD, MACE and the best of every method
  measured there;
* EBCC (:mod:`research.consensus.subtypes`), a batch method outside Crowd-Kit that models
  correlated errors, measured in the same run: shown beside the bar, not part of it;
* the online model, which reads each answer once in file order (:mod:`research.consensus.
  protocol`): "at the time" scores each item's decision right after its last answer;
  "leave-one-out" settles with the setting chosen on the *other* sets, the honest score;
  "in-sample" with the setting chosen on every set including this one;
* the leave-one-out margin over the best batch method, compared at four decimals;
* per method, batch or ours, on how many sets it meets the per-set best batch method.

Every method gets the same answers: a repeated (item, worker) pair keeps the later answer.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.crowd_kit_reference import DEFAULT_DATA, REFERENCE, load
from research.consensus.evaluate import read_answers, read_truth
from research.consensus.online import top_label
from research.consensus.protocol import SetScores, accuracy, choose, leave_one_out, measure_set
from research.consensus.subtypes import subtype_posteriors

SHOWN = {"MajorityVote": "MV", "DawidSkene": "DS", "GLAD": "GLAD", "MACE": "MACE"}


def best_batch(reference: Mapping[str, Any]) -> dict[str, tuple[str, float]]:
    """Per data set, the best method of the reference table and its accuracy.

    >>> best_batch({"sets": {"a": {"MV": {"accuracy": 0.7}, "DS": {"accuracy": 0.8}}}})
    {'a': ('DS', 0.8)}
    """
    return {name: max(((method, result["accuracy"]) for method, result in methods.items()),
                      key=lambda pair: pair[1])
            for name, methods in reference["sets"].items()}


def render(scores: Sequence[SetScores], reference: Mapping[str, Any],
           others: Mapping[str, Mapping[str, float]] = {}) -> str:
    """The results as one plain-text table and the protocol's choices.

    ``others`` are further methods measured in the same run (name to accuracy per set),
    shown in their own columns and counted at the bar, never part of the bar itself.
    """
    best = best_batch(reference)
    bar = {name: accuracy for name, (_, accuracy) in best.items()}
    held_out = leave_one_out(scores, bar)
    known = [s for s in scores if s.name in bar]
    everywhere = choose(known, bar)
    header = ["data set", *SHOWN.values(), *others, "best batch", "ours at time", "ours LOO",
              "ours in-sample", "LOO - best", "LOO setting"]
    lines = [header]
    for s in scores:
        batch = reference["sets"].get(s.name, {})
        method, accuracy = best.get(s.name, ("-", None))
        lines.append([
            s.name,
            *(_number(batch.get(column, {}).get("accuracy")) for column in SHOWN),
            *(_number(other.get(s.name)) for other in others.values()),
            f"{_number(accuracy)} {method}",
            _number(s.at_the_time[held_out[s.name]]),
            _number(s.final[held_out[s.name]]),
            _number(s.final[everywhere]),
            "-" if accuracy is None else f"{round(s.final[held_out[s.name]] - accuracy, 4):+.4f}",
            held_out[s.name],
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            for line in lines]
    wins = sum(round(s.final[held_out[s.name]], 4) >= round(bar[s.name], 4) for s in known)
    ours = {"ours, leave-one-out": {s.name: s.final[held_out[s.name]] for s in known},
            "ours, in-sample": {s.name: s.final[everywhere] for s in known},
            "ours, at the time (LOO prior)": {s.name: s.at_the_time[held_out[s.name]]
                                              for s in known}, **others}
    text += [
        "",
        f"batch: Crowd-Kit {reference.get('crowd_kit')} ({REFERENCE.name}); best batch is the "
        f"best of {', '.join(reference.get('methods', {}))}.",
        f"in-sample setting (chosen on all {len(known)} sets): {everywhere}",
        f"ours, leave-one-data-set-out, matches or beats the best batch method on {wins} of "
        f"{len(known)} data sets.",
        "",
        "sets at the best batch method's accuracy, per method (the bar is the best of all of",
        "them on each set, so no single method need reach every set):",
        *(f"  {method}: {count} of {len(known)}"
          for method, count in sets_at_bar(reference, ours).items()),
    ]
    return "\n".join(text)


def sets_at_bar(reference: Mapping[str, Any],
                extra: Mapping[str, Mapping[str, float]] = {}) -> dict[str, int]:
    """Per method, on how many sets it matches or beats the best batch method (four decimals).

    The target takes the best of seven batch methods on *each* set; this count says how far
    each method, batch or ours, is from meeting that per-set best everywhere. ``extra`` adds
    methods measured here, by name, as accuracy per set. Most sets at the bar first.

    >>> reference = {"sets": {"a": {"MV": {"accuracy": 0.7}, "DS": {"accuracy": 0.8}},
    ...                       "b": {"MV": {"accuracy": 0.9}, "DS": {"accuracy": 0.6}}}}
    >>> sets_at_bar(reference, {"ours": {"a": 0.8, "b": 0.9}})
    {'ours': 2, 'DS': 1, 'MV': 1}
    """
    bar = {name: accuracy for name, (_, accuracy) in best_batch(reference).items()}
    methods: dict[str, dict[str, float]] = {}
    for name, results in reference["sets"].items():
        for method, result in results.items():
            methods.setdefault(method, {})[name] = result["accuracy"]
    methods.update({method: dict(scores) for method, scores in extra.items()})
    counts = {method: sum(round(scores[name], 4) >= round(bar[name], 4)
                          for name in scores if name in bar)
              for method, scores in methods.items()}
    return dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))


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
    # the sets are independent: one process per core, the largest first
    largest_first = sorted(names,
                           key=lambda name: -(args.data / f"{name}_label.csv").stat().st_size)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        measured = dict(zip(largest_first, pool.map(partial(measure, args.data), largest_first),
                            strict=True))
    scores = [measured[name][0] for name in names]
    subtypes = {name: measured[name][1] for name in names}
    print(render(scores, reference, {"EBCC": subtypes}))
    return 0


def measure(data: Path, name: str) -> tuple[SetScores, float]:
    """One data set: the online model under every grid point, and EBCC's accuracy."""
    print(f"measuring {name} ...", file=sys.stderr, flush=True)
    answers = [(a.item, a.worker, a.label) for a in read_answers(data / f"{name}_label.csv")]
    truth = read_truth(data / f"{name}_truth.csv")
    return (measure_set(name, answers, truth),
            posterior_accuracy(subtype_posteriors(answers), truth))


def posterior_accuracy(posteriors: Mapping[str, Mapping[str, float]],
                       truth: Mapping[str, str]) -> float:
    """Share of the gold items with answers whose most probable label is the gold one.

    Ties go to the smallest label, as in the online model.

    >>> posterior_accuracy({"t1": {"a": 0.5, "b": 0.5}, "t2": {"a": 0.9, "b": 0.1}},
    ...                    {"t1": "b", "t2": "a", "t3": "a"})
    0.5
    """
    decided = {item: top_label(posterior) for item, posterior in posteriors.items()}
    return accuracy(decided, truth)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


if __name__ == "__main__":
    sys.exit(main())
