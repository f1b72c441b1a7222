"""The gold set: records whose handles staff verified, read from a CSV the operator provides.

One row per (record, platform): ``provider_ref`` (or ``id``), ``platform``, ``handle`` (empty
when the athlete has no account there), and the record's context columns (``name``, ``sport``,
``league``, ``team``, ``country``) that a gold HIT shows workers like any other HIT.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from streams.consensus.answers import NOT_FOUND
from streams.handles import PLATFORMS, normalise_handle
from streams.tasks.core import GoldItem

_CONTEXT = ("name", "sport", "league", "team", "country")


class InvalidGold(ValueError):
    """The gold file cannot be used; the message names the file and line."""


def load_gold(path: Path) -> tuple[GoldItem, ...]:
    """Every gold record in ``path``, in file order of first appearance."""
    contexts: dict[str, dict[str, str]] = {}
    answers: dict[str, dict[str, str | None]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            ref = (row.get("provider_ref") or row.get("id") or "").strip()
            platform = (row.get("platform") or "").strip().lower()
            if not ref or platform not in PLATFORMS:
                raise InvalidGold(f"{path}:{line}: needs a provider_ref and a platform "
                                  f"among {PLATFORMS}")
            text = (row.get("handle") or "").strip()
            try:
                handle_value = normalise_handle(platform, text) if text else None
            except ValueError as exc:
                raise InvalidGold(f"{path}:{line}: {exc}") from exc
            answers.setdefault(ref, {})[platform] = handle_value
            context = contexts.setdefault(ref, {})
            for column in _CONTEXT:
                if (row.get(column) or "").strip():
                    context[column] = row[column].strip()
    missing = [ref for ref, context in contexts.items() if "name" not in context]
    if missing:
        raise InvalidGold(f"{path}: gold records without a name column value: {missing[:5]}")
    return tuple(GoldItem(ref, contexts[ref], answers[ref]) for ref in answers)


def gold_labels(items: tuple[GoldItem, ...]) -> Mapping[str, Mapping[str, str]]:
    """Provider ref -> platform -> the label a correct answer has (``not-found`` for none)."""
    return {item.provider_ref: {p: h if h is not None else NOT_FOUND
                                for p, h in item.answers.items()} for item in items}
