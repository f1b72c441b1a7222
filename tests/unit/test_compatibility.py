"""Avro resolution rules used to refuse incompatible schema changes."""

from __future__ import annotations

from typing import Any

import pytest

from streams.events.compatibility import incompatibilities


def rec(*fields: dict[str, Any], name: str = "n.R") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


@pytest.mark.parametrize(("reader", "writer"), [
    ("long", "int"), ("double", "float"), ("string", "bytes"), ("bytes", "string"),
    (["null", "string"], "string"), (["null", "long"], ["null", "int"]),
    ({"type": "long", "logicalType": "timestamp-millis"}, "long"),
    (rec({"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": "x"}),
     rec({"name": "a", "type": "int"})),
    (rec({"name": "a", "type": "int"}), rec({"name": "a", "type": "int"},
                                            {"name": "gone", "type": "string"})),
    (rec({"name": "new", "type": "int", "aliases": ["old"]}), rec({"name": "old", "type": "int"})),
    ({"type": "array", "items": "long"}, {"type": "array", "items": "int"}),
    ({"type": "map", "values": ["null", "string"]}, {"type": "map", "values": "string"}),
    ({"type": "enum", "name": "n.E", "symbols": ["A", "B", "C"]},
     {"type": "enum", "name": "n.E", "symbols": ["A", "B"]}),
    ({"type": "enum", "name": "n.E", "symbols": ["A"], "default": "A"},
     {"type": "enum", "name": "n.E", "symbols": ["A", "Z"]}),
])
def test_compatible(reader: Any, writer: Any) -> None:
    assert incompatibilities(reader, writer) == []


@pytest.mark.parametrize(("reader", "writer", "reason"), [
    ("int", "long", "cannot be read as int"),
    ("string", ["null", "string"], "|null"),
    (rec({"name": "b", "type": "int"}), rec({"name": "a", "type": "int"}),
     "b: new field without a default"),
    (rec({"name": "a", "type": "int"}, name="n.Other"), rec({"name": "a", "type": "int"}),
     "does not match"),
    ({"type": "enum", "name": "n.E", "symbols": ["A"]},
     {"type": "enum", "name": "n.E", "symbols": ["A", "Z"]}, "lacks ['Z']"),
    ({"type": "fixed", "name": "n.F", "size": 4}, {"type": "fixed", "name": "n.F", "size": 8},
     "sizes differ"),
    ({"type": "array", "items": "int"}, {"type": "map", "values": "int"}, "cannot be read"),
])
def test_incompatible(reader: Any, writer: Any, reason: str) -> None:
    problems = incompatibilities(reader, writer)
    assert problems and any(reason in p for p in problems), problems
