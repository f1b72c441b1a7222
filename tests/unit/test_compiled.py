"""The compiled Avro codec is byte-for-byte the Avro binary encoding: checked against fastavro."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events.compiled import (
    Malformed,
    NotCompilable,
    Truncated,
    compile_decoder,
    compile_encoder,
)
from streams.events.schema_store import SchemaStore

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

EVERYTHING = {
    "type": "record", "name": "t.Everything", "fields": [
        {"name": "flag", "type": "boolean"},
        {"name": "small", "type": "int"},
        {"name": "big", "type": "long"},
        {"name": "ratio", "type": "float"},
        {"name": "precise", "type": "double"},
        {"name": "blob", "type": "bytes"},
        {"name": "text", "type": "string"},
        {"name": "nothing", "type": "null"},
        {"name": "maybe", "type": ["null", "string"]},
        {"name": "maybe_last", "type": ["long", "null"]},
        {"name": "when", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "colour", "type": {"type": "enum", "name": "t.Colour",
                                    "symbols": ["RED", "GREEN", "BLUE"]}},
        {"name": "digest", "type": {"type": "fixed", "name": "t.Digest", "size": 4}},
        {"name": "items", "type": {"type": "array", "items": {
            "type": "record", "name": "t.Item", "fields": [
                {"name": "id", "type": "string"},
                {"name": "tags", "type": {"type": "array", "items": "string"}}]}}},
        {"name": "counts", "type": {"type": "map", "values": ["null", "long"]}},
        {"name": "wrapped", "type": {"type": "string"}},
    ],
}


def datum(schema: Any) -> st.SearchStrategy[Any]:
    """Values of any schema the compiler handles."""
    if isinstance(schema, list):
        return st.one_of(*(datum(branch) for branch in schema))
    if isinstance(schema, dict):
        kind = schema["type"]
        if isinstance(kind, (dict, list)):
            return datum(kind)
        if schema.get("logicalType") == "timestamp-millis":
            millis = st.integers(-(2**40), 2**44)
            return millis.map(lambda ms: EPOCH + timedelta(milliseconds=ms))
        if kind == "record":
            return st.fixed_dictionaries({f["name"]: datum(f["type"]) for f in schema["fields"]})
        if kind == "array":
            return st.lists(datum(schema["items"]), max_size=70)
        if kind == "map":
            return st.dictionaries(st.text(max_size=10), datum(schema["values"]), max_size=70)
        if kind == "enum":
            return st.sampled_from(schema["symbols"])
        if kind == "fixed":
            return st.binary(min_size=schema["size"], max_size=schema["size"])
        return datum(kind)
    return {
        "null": st.none(), "boolean": st.booleans(), "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1), "bytes": st.binary(max_size=200),
        "float": st.floats(width=32, allow_nan=False), "string": st.text(max_size=100),
        "double": st.floats(allow_nan=False),
    }[schema]


def fastavro_bytes(schema: dict[str, Any], value: Any) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, parse_schema(schema), value)
    return buffer.getvalue()


def fastavro_value(schema: dict[str, Any], data: bytes) -> tuple[Any, int]:
    buffer = io.BytesIO(data)
    return schemaless_reader(buffer, parse_schema(schema), None), buffer.tell()


STORE = SchemaStore.load()
SCHEMAS = [EVERYTHING] + [v.schema for n in STORE.names() for v in STORE.versions(n)]
COMPILED = {json.dumps(s): (compile_encoder(s), compile_decoder(s)) for s in SCHEMAS}


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s["name"])
@settings(max_examples=150)
@given(data=st.data())
def test_same_bytes_and_values_as_fastavro(schema: dict[str, Any], data: st.DataObject) -> None:
    value = data.draw(datum(schema))
    expected = fastavro_bytes(schema, value)
    encode, decode = COMPILED[json.dumps(schema)]
    assert encode(value) == expected
    decoded, end = decode(expected, 0)
    assert end == len(expected)
    assert decoded == fastavro_value(schema, expected)[0]


@settings(max_examples=300)
@given(st.binary(max_size=120))
def test_arbitrary_bytes_raise_or_agree_with_fastavro(data: bytes) -> None:
    try:
        ours = COMPILED[json.dumps(EVERYTHING)][1](data, 0)
    except (Truncated, Malformed, IndexError, UnicodeDecodeError):
        return
    assert ours == fastavro_value(EVERYTHING, data)


def test_negative_block_counts_from_other_writers() -> None:
    """Java's writer may prefix a block with -count and its byte size; readers must accept it."""
    schema = {"type": "record", "name": "t.A",
              "fields": [{"name": "xs", "type": {"type": "array", "items": "long"}}]}
    data = bytes([0x03, 0x04, 0x02, 0x04, 0x00])  # count -2, size 2 bytes, 1, 2, end
    assert compile_decoder(schema)(data, 0) == ({"xs": [1, 2]}, 5)


@pytest.mark.parametrize("field_type", [
    ["string", "long"],
    ["null", "string", "long"],
    {"type": "int", "logicalType": "date"},
    {"type": "bytes", "logicalType": "decimal", "precision": 4},
])
def test_leaves_other_features_to_fastavro(field_type: Any) -> None:
    schema = {"type": "record", "name": "t.B", "fields": [{"name": "x", "type": field_type}]}
    with pytest.raises(NotCompilable):
        compile_encoder(schema)


@pytest.mark.parametrize(("field_type", "value"), [
    ("int", 2**31), ("string", None), ("boolean", 1), ("long", "7"),
])
def test_encoding_a_wrong_value_raises(field_type: str, value: object) -> None:
    schema = {"type": "record", "name": "t.C", "fields": [{"name": "x", "type": field_type}]}
    with pytest.raises((TypeError, ValueError, AttributeError)):
        compile_encoder(schema)({"x": value})
