"""Avro schema resolution rules, used to keep evolution BACKWARD_TRANSITIVE.

``incompatibilities(reader, writer)`` lists every reason data written with ``writer`` could not be
read with ``reader`` under the Avro specification's resolution rules. An empty list means the
reader can read everything the writer can write. Both schemas must be expanded (self-contained):
the schema store only hands out expanded schemas.
"""

from __future__ import annotations

from typing import Any

Schema = Any  # an expanded Avro schema: a type name, a dict, or a list (union)

_PROMOTIONS: dict[str, set[str]] = {
    "int": {"int", "long", "float", "double"},
    "long": {"long", "float", "double"},
    "float": {"float", "double"},
    "double": {"double"},
    "string": {"string", "bytes"},
    "bytes": {"bytes", "string"},
    "null": {"null"},
    "boolean": {"boolean"},
}


def _type_of(schema: Schema) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"]) if not isinstance(schema["type"], (dict, list)) else "wrapped"
    return str(schema)


def _unwrap(schema: Schema) -> Schema:
    """``{"type": "string"}`` and ``{"type": {...}}`` are the same as their inner type."""
    while isinstance(schema, dict) and isinstance(schema["type"], (dict, list)):
        schema = schema["type"]
    if isinstance(schema, dict) and schema["type"] in _PROMOTIONS:
        return schema["type"]
    return schema


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _names_match(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
    accepted = {reader["name"], _short(reader["name"])}
    accepted.update(reader.get("aliases", []))
    return writer["name"] in accepted or _short(writer["name"]) in accepted


def incompatibilities(reader: Schema, writer: Schema, path: str = "") -> list[str]:
    """Reasons why ``reader`` cannot read data written with ``writer`` (empty when it can)."""
    reader, writer = _unwrap(reader), _unwrap(writer)
    r_type, w_type = _type_of(reader), _type_of(writer)
    where = path or "<root>"

    if w_type == "union":
        problems: list[str] = []
        for branch in writer:
            problems += incompatibilities(reader, branch, f"{path}|{_type_of(_unwrap(branch))}")
        return problems
    if r_type == "union":
        if any(not incompatibilities(branch, writer, path) for branch in reader):
            return []
        return [f"{where}: no branch of the reader's union reads the writer's {w_type}"]
    if w_type in _PROMOTIONS:
        if r_type in _PROMOTIONS[w_type]:
            return []
        return [f"{where}: writer's {w_type} cannot be read as {r_type}"]
    if r_type != w_type:
        return [f"{where}: writer's {w_type} cannot be read as {r_type}"]
    if w_type == "array":
        return incompatibilities(reader["items"], writer["items"], f"{path}[]")
    if w_type == "map":
        return incompatibilities(reader["values"], writer["values"], f"{path}{{}}")
    if not _names_match(reader, writer):
        return [f"{where}: writer's {writer['name']} does not match reader's {reader['name']}"]
    if w_type == "fixed":
        ok = reader["size"] == writer["size"]
        return [] if ok else [f"{where}: fixed sizes differ"]
    if w_type == "enum":
        missing = set(writer["symbols"]) - set(reader["symbols"])
        if missing and "default" not in reader:
            return [f"{where}: reader's enum lacks {sorted(missing)} and has no default"]
        return []
    return _record_incompatibilities(reader, writer, path)


def _record_incompatibilities(reader: dict[str, Any], writer: dict[str, Any],
                              path: str) -> list[str]:
    written: dict[str, dict[str, Any]] = {}
    for field in writer["fields"]:
        written[field["name"]] = field
    problems: list[str] = []
    for field in reader["fields"]:
        field_path = f"{path}.{field['name']}" if path else field["name"]
        candidates = [field["name"], *field.get("aliases", [])]
        source = next((written[name] for name in candidates if name in written), None)
        if source is not None:
            problems += incompatibilities(field["type"], source["type"], field_path)
        elif "default" not in field:
            problems.append(f"{field_path}: new field without a default")
    return problems
