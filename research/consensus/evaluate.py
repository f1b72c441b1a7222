"""Offline evaluation of a consensus method on a crowd data set with gold labels.

Reads ``item,worker,label`` answers and ``item,truth`` gold labels, feeds the answers through
the method **in file order, one pass**, and reports accuracy on the gold items. This is how
``python -m research.consensus.evaluate --answers A.csv --truth T.csv [--method M]`` and the
crowd benchmark (``benchmarks/crowd_accuracy.py``) measure consensus methods on real crowd
data.

A repeated (item, worker) pair means the worker changed their mind: the later answer
replaces the earlier one, for every method.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from research.consensus.config import DEFAULT, OnlineConfig
from research.consensus.online import OnlineDawidSkene
from streams.consensus.quorum import quorum_outcome

METHODS = ("dawid-skene", "majority", "quorum")


class CrowdDataError(ValueError):
    """A data file is missing, unreadable or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Answer:
    """One worker's answer to one item."""

    item: str
    worker: str
    label: str


@dataclass(frozen=True)
class EvaluationReport:
    """What one method did with one data set.

    ``answers_used`` counts the answers that count toward the outcome: not those replaced by
    a later answer of the same worker, and, for the quorum, not those that arrived after the
    item's outcome was settled (or past its ``max_answers``). A gold item counts as correct
    only when it was decided with the gold label; an undecided one counts as wrong.
    ``prequential_correct`` (online model only) scores each item's decision as it stood right
    after the item's last answer, before any re-decision with later worker estimates.
    """

    method: str
    description: str
    answers_file: str
    answers_read: int
    answers_used: int
    repeats: int
    items: int
    items_decided: int
    gold_items: int
    gold_without_answers: int
    gold_correct: int
    gold_decided: int
    prequential_correct: int | None
    superseded: int | None
    seconds: float

    @property
    def items_undecided(self) -> int:
        """Items left without an accepted label."""
        return self.items - self.items_decided

    @property
    def accuracy(self) -> float | None:
        """Share of scored gold items labelled correctly, ``None`` without gold items."""
        return self.gold_correct / self.gold_items if self.gold_items else None

    @property
    def prequential_accuracy(self) -> float | None:
        """Accuracy of the decisions as taken at the time (online model only)."""
        if self.prequential_correct is None or not self.gold_items:
            return None
        return self.prequential_correct / self.gold_items

    def render(self) -> str:
        """A readable multi-line summary."""
        gold = f"{self.gold_items:,} scored"
        if self.gold_without_answers:
            gold += f" ({self.gold_without_answers:,} gold items received no answer)"
        lines = [
            f"method        {self.method}: {self.description}",
            f"answers       {self.answers_file}: {self.answers_read:,} read, "
            f"{self.answers_used:,} used, {self.repeats:,} repeats (later answer replaces)",
            f"items         {self.items:,}: {self.items_decided:,} decided, "
            f"{self.items_undecided:,} undecided",
            f"gold items    {gold}, {self.gold_decided:,} of them decided",
            f"accuracy      {_ratio(self.gold_correct, self.gold_items)}"
            + ("" if self.method == "dawid-skene" else "  (undecided gold items count as wrong)"),
        ]
        if self.prequential_correct is not None:
            lines.append(
                f"at the time   {_ratio(self.prequential_correct, self.gold_items)}  "
                f"(decisions right after each item's last answer; {self.superseded:,} items "
                "re-decided since)"
            )
        lines.append(f"time          {self.seconds:.2f} s")
        return "\n".join(lines)


def majority_vote(labels: Sequence[str]) -> str | None:
    """The most frequent label; ``None`` for no labels.

    A tie goes to the label that reached the top count first, so the answer is the one an
    online vote would have shown all along, and the result never depends on label spelling.

    >>> majority_vote(["b", "a", "a", "b"])
    'a'
    """
    counts: dict[str, int] = {}
    leader: str | None = None
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
        if leader is None or counts[label] > counts[leader]:
            leader = label
    return leader


def evaluate_files(
    answers: Path,
    truth: Path,
    *,
    method: str = "dawid-skene",
    config: OnlineConfig = DEFAULT,
    required: int = 8,
    max_answers: int = 10,
) -> EvaluationReport:
    """Evaluate ``method`` on an answers CSV against a gold CSV.

    Parameters
    ----------
    method
        ``dawid-skene`` (:class:`OnlineDawidSkene`: one pass in file order, then
        :meth:`OnlineDawidSkene.settle`), ``majority`` (plain
        vote) or ``quorum`` (accept at ``required`` equal answers of at most ``max_answers``).

    Raises
    ------
    CrowdDataError
        A file is unreadable or has a malformed row.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    rows = read_answers(answers)
    gold = read_truth(truth)
    return evaluate(rows, gold, method=method, config=config, required=required,
                    max_answers=max_answers, answers_file=answers.name)


def evaluate(
    answers: Sequence[Answer],
    truth: Mapping[str, str],
    *,
    method: str = "dawid-skene",
    config: OnlineConfig = DEFAULT,
    required: int = 8,
    max_answers: int = 10,
    answers_file: str = "answers",
) -> EvaluationReport:
    """:func:`evaluate_files` on answers and gold labels already in memory."""
    started = time.perf_counter()
    latest, repeats = _latest_answers(answers)
    prequential: dict[str, str] | None = None
    superseded: int | None = None
    if method == "dawid-skene":
        model = OnlineDawidSkene(config)
        prequential = {}
        for answer in answers:
            model.observe(answer.item, answer.worker, answer.label)
            prequential[answer.item] = _label_of(model.decision(answer.item))
        model.settle()
        decided = {item: _label_of(model.decision(item)) for item in model.items()}
        superseded = sum(decided[item] != label for item, label in prequential.items())
        used = len(answers) - repeats
        blend = ("no time-local blend" if config.memory is None else
                 f"blended with a time-local model (memory {config.memory:g} answers per worker)")
        description = ("online, one pass in file order, then settled: batch full-confusion EM "
                       f"if the stream's answers favoured it by {config.full_model_margin:g} "
                       f"nats per answer, else {config.sweeps} re-decision sweep(s); {blend}"
                       + ("; empirical-Bayes priors" if config.empirical_bayes else ""))
    elif method == "majority":
        decided = {item: majority_vote(list(votes.values())) or "" for item, votes in
                   latest.items()}
        used = len(answers) - repeats
        description = "plain majority vote; ties go to the label that reached the top first"
    elif method == "quorum":
        decided, used = _run_quorum(answers, required, max_answers)
        description = f"fixed quorum, {required} equal answers of at most {max_answers}"
    else:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    scored = [item for item in truth if item in latest]
    accepted = {item: label for item, label in decided.items() if label}
    return EvaluationReport(
        method=method,
        description=description,
        answers_file=answers_file,
        answers_read=len(answers),
        answers_used=used,
        repeats=repeats,
        items=len(latest),
        items_decided=len(accepted),
        gold_items=len(scored),
        gold_without_answers=len(truth) - len(scored),
        gold_correct=sum(accepted.get(item) == truth[item] for item in scored),
        gold_decided=sum(item in accepted for item in scored),
        prequential_correct=None if prequential is None else sum(
            prequential.get(item) == truth[item] for item in scored),
        superseded=superseded,
        seconds=time.perf_counter() - started,
    )


def read_answers(path: Path) -> list[Answer]:
    """The ``item,worker,label`` rows of ``path``, in file order."""
    return [Answer(*row) for _, row in _numbered_rows(path, ("item", "worker", "label"))]


def read_truth(path: Path) -> dict[str, str]:
    """The ``item,truth`` rows of ``path``; an item may appear twice only with the same truth."""
    truth: dict[str, str] = {}
    for line, (item, label) in _numbered_rows(path, ("item", "truth")):
        if truth.setdefault(item, label) != label:
            raise CrowdDataError(
                f"{path}:{line}: item {item!r} has two gold labels ({truth[item]!r}, {label!r})")
    return truth


def _numbered_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    expected = ",".join(columns)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [cell.strip().lower() for cell in next(reader, [])]
            if tuple(header) != columns:
                raise CrowdDataError(
                    f"{path}:1: header must be {expected!r}, found {','.join(header)!r}")
            for row in reader:
                if not row:
                    continue
                cells = [cell.strip() for cell in row]
                if len(cells) != len(columns) or not all(cells):
                    raise CrowdDataError(
                        f"{path}:{reader.line_num}: expected {len(columns)} non-empty fields "
                        f"({expected}), found {row!r}")
                yield reader.line_num, cells
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CrowdDataError(f"{path}: cannot read: {error}") from error


def _latest_answers(answers: Sequence[Answer]) -> tuple[dict[str, dict[str, str]], int]:
    latest: dict[str, dict[str, str]] = {}
    repeats = 0
    for answer in answers:
        votes = latest.setdefault(answer.item, {})
        repeats += answer.worker in votes
        votes[answer.worker] = answer.label
    return latest, repeats


def _run_quorum(
    answers: Sequence[Answer], required: int, max_answers: int
) -> tuple[dict[str, str], int]:
    """Settled items (label, or "" when failed) and the number of answers used."""
    votes: dict[str, dict[str, str]] = {}
    settled: dict[str, str] = {}
    used: dict[str, int] = {}
    for answer in answers:
        if answer.item in settled:
            continue
        item_votes = votes.setdefault(answer.item, {})
        item_votes[answer.worker] = answer.label
        outcome = quorum_outcome(list(item_votes.values()), required=required,
                                 max_answers=max_answers)
        used[answer.item] = outcome.used
        if outcome.status != "open":
            settled[answer.item] = outcome.label or ""
    return settled, sum(used.values())


def _label_of(decision: tuple[str, float] | None) -> str:
    return decision[0] if decision else ""


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.4f} ({part:,}/{whole:,})" if whole else "n/a (no gold items)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: print one method's report; 2 when a file cannot be read."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--answers", type=Path, required=True, help="item,worker,label CSV")
    parser.add_argument("--truth", type=Path, required=True, help="item,truth CSV")
    parser.add_argument("--method", default="dawid-skene", choices=METHODS)
    args = parser.parse_args(argv)
    try:
        report = evaluate_files(args.answers, args.truth, method=args.method)
    except CrowdDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
