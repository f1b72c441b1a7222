"""The schema store: references between files, publication, and BACKWARD_TRANSITIVE evolution."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer

from streams.events.codec import Codec
from streams.events.errors import SchemaStoreError
from streams.events.fingerprint import canonical_form, crc64_avro
from streams.events.schema_store import SchemaStore, default_schema_dir
from streams.records.models import RecordReceived
from streams.topics import event_types
from tests.factories import T0, record


def sample(schema: Any) -> Any:
    """A datum for any expanded schema: exercises every field a version ever had."""
    if isinstance(schema, list):
        return sample(next((b for b in schema if b != "null"), "null"))
    if isinstance(schema, dict):
        kind = schema["type"]
        if isinstance(kind, (dict, list)):
            return sample(kind)
        if schema.get("logicalType") == "timestamp-millis":
            return T0
        if kind == "record":
            return {f["name"]: sample(f["type"]) for f in schema["fields"]}
        if kind == "array":
            return [sample(schema["items"])]
        if kind == "map":
            return {"k": sample(schema["values"])}
        if kind == "enum":
            return schema["symbols"][0]
        if kind == "fixed":
            return b"\x00" * schema["size"]
        return sample(kind)
    return {"null": None, "boolean": True, "int": 1, "long": 2, "float": 1.5, "double": 2.5,
            "bytes": b"\x01", "string": "s"}[schema]


def single_object(version_schema: dict[str, Any], datum: Any) -> bytes:
    buffer = io.BytesIO()
    buffer.write(b"\xc3\x01" + crc64_avro(canonical_form(version_schema)))
    schemaless_writer(buffer, parse_schema(version_schema), datum)
    return buffer.getvalue()


def test_every_source_schema_is_published() -> None:
    store = SchemaStore.load()
    assert store.unpublished() == [], "run `crowdlog schemas publish`"
    assert set(store.names()) == {cls.schema_name for cls in event_types()}


def test_every_published_version_decodes_with_the_current_reader() -> None:
    """The BACKWARD_TRANSITIVE contract, over the real publication history."""
    store = SchemaStore.load()
    codec = Codec(store, event_types())
    for name in store.names():
        versions = store.versions(name)
        assert versions, name
        for version in versions:
            event = codec.decode(single_object(version.schema, sample(version.schema)))
            assert event.meta.event_type == "s"  # the sample's string, read back
            assert type(event).schema_name == name


@pytest.fixture
def schema_dir(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(default_schema_dir(), target)
    return target


def edit_record_schema(schema_dir: Path, change: Any) -> None:
    path = schema_dir / "records" / "record_received.avsc"
    schema = json.loads(path.read_text())
    change(schema["fields"])
    path.write_text(json.dumps(schema))


def test_evolution_adds_a_version_old_events_still_decode(schema_dir: Path) -> None:
    old_codec = Codec(SchemaStore.load(schema_dir), event_types())
    old_bytes = old_codec.encode(record())

    edit_record_schema(schema_dir, lambda fields: fields.append(
        {"name": "position", "type": ["null", "string"], "default": None}))
    store = SchemaStore.load(schema_dir)
    assert store.unpublished() == [RecordReceived.schema_name]
    with pytest.raises(SchemaStoreError, match="unpublished"):
        store.current(RecordReceived.schema_name)
    written = store.publish()
    assert [(v.name, v.version) for v in written] == [(RecordReceived.schema_name, 2)]

    reloaded = SchemaStore.load(schema_dir)
    assert reloaded.unpublished() == []
    writer, fields = Codec(reloaded, event_types()).decode_record(old_bytes)
    assert writer.version == 1
    assert fields["position"] is None
    assert fields["name"] == "Anthony Davis"


def test_incompatible_change_is_refused_and_nothing_written(schema_dir: Path) -> None:
    edit_record_schema(schema_dir, lambda fields: fields.append(
        {"name": "birth_year", "type": "int"}))
    store = SchemaStore.load(schema_dir)
    with pytest.raises(SchemaStoreError, match="birth_year: new field without a default"):
        store.publish()
    assert not (schema_dir / "published" / RecordReceived.schema_name / "v2.avsc").exists()


def test_unresolvable_reference(schema_dir: Path) -> None:
    (schema_dir / "common" / "event_meta.avsc").unlink()
    with pytest.raises(SchemaStoreError, match="unresolvable"):
        SchemaStore.load(schema_dir)


def test_unreadable_schema_file(schema_dir: Path) -> None:
    (schema_dir / "records" / "broken.avsc").write_text("{not json")
    with pytest.raises(SchemaStoreError, match=r"broken\.avsc"):
        SchemaStore.load(schema_dir)
