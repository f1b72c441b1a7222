"""`crowdlog export`: topic names, the container schema, and files fastavro reads back."""

from __future__ import annotations

from pathlib import Path

import fastavro
import pytest

from streams.events.codec import Codec
from streams.events.ids import new_meta
from streams.events.model import Producer, Provenance
from streams.tasks.models import HitExpired
from streams.tools.export import (
    UnknownTopic,
    container_records,
    container_schema,
    resolve_topic,
    write_container,
)
from streams.topics import RECORDS_RECEIVED, TASKS_HITS
from tests.factories import T0, hit, record


def expired(hit_id: str = "H1") -> HitExpired:
    meta = new_meta(event_type=HitExpired.schema_name, entity_id="acme:42", occurred_at=T0,
                    producer=Producer("tasks", "1.0.0", "test"),
                    provenance=Provenance("provider:acme", "42"), identity=[hit_id, "expired"])
    return HitExpired(meta=meta, hit_id=hit_id, reason="decided", max_assignments=10)


def test_topics_are_named_with_or_without_the_prefix() -> None:
    assert resolve_topic("records.received", "t1.") == (RECORDS_RECEIVED, "t1.records.received")
    assert resolve_topic("t1.tasks.hits", "t1.") == (TASKS_HITS, "t1.tasks.hits")
    assert resolve_topic("tasks.hits", "") == (TASKS_HITS, "tasks.hits")
    with pytest.raises(UnknownTopic, match=r"records\.recieved"):
        resolve_topic("records.recieved", "t1.")
    with pytest.raises(UnknownTopic):
        resolve_topic("t2.tasks.hits", "t1.")


def test_one_event_type_is_written_with_its_current_schema(codec: Codec, tmp_path: Path) -> None:
    schema = container_schema(codec.store, RECORDS_RECEIVED)
    assert schema == codec.store.current("crowdlog.records.RecordReceived").schema
    events = [record(ref=str(n), team="Lakers" if n % 2 else "") for n in range(3)]
    path = tmp_path / "records.avro"
    write_container(path, schema, container_records(RECORDS_RECEIVED, events), codec="deflate")
    with path.open("rb") as data:
        reader = fastavro.reader(data)
        assert reader.codec == "deflate"
        written = reader.writer_schema
        assert isinstance(written, dict) and written["name"] == "crowdlog.records.RecordReceived"
        assert list(reader) == [e.to_avro() for e in events]
    assert [p.name for p in tmp_path.iterdir()] == ["records.avro"]  # no partial file left


def test_several_event_types_make_a_union_defining_each_named_type_once(
        codec: Codec, tmp_path: Path) -> None:
    schema = container_schema(codec.store, TASKS_HITS)
    assert [branch["name"] for branch in schema] == [
        "crowdlog.tasks.HitPublished", "crowdlog.tasks.HitExtended", "crowdlog.tasks.HitExpired",
        "crowdlog.tasks.HitPosted"]
    assert isinstance(schema[0]["fields"][0]["type"], dict)  # EventMeta defined in the first
    assert schema[2]["fields"][0]["type"] == "crowdlog.common.EventMeta"  # referenced after
    events = [hit(), expired(), hit(hit_id="H2", gold=True)]
    path = tmp_path / "hits.avro"
    write_container(path, schema, container_records(TASKS_HITS, events))
    with path.open("rb") as data:
        records = list(fastavro.reader(data, return_record_name=True))
    assert records == [(e.schema_name, e.to_avro()) for e in events]


def test_a_failed_write_leaves_no_file(codec: Codec, tmp_path: Path) -> None:
    path = tmp_path / "broken.avro"
    broken = [{"meta": "not a record"}]
    with pytest.raises((TypeError, ValueError, AttributeError)):
        write_container(path, container_schema(codec.store, RECORDS_RECEIVED), broken)
    assert list(tmp_path.iterdir()) == []
