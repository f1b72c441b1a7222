"""A real Schema Registry (Apicurio's Confluent API, infra/registry) holds a crowdlog schema and
enforces the compatibility level crowdlog relies on: BACKWARD_TRANSITIVE."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from streams.events.fingerprint import canonical_form
from streams.events.schema_store import PUBLISHED_DIR, default_schema_dir

EVENT = "crowdlog.records.RecordReceived"


def latest_published(name: str) -> dict[str, Any]:
    directory = default_schema_dir() / PUBLISHED_DIR / name
    latest = max(directory.glob("v*.avsc"), key=lambda p: int(p.stem[1:]))
    loaded: dict[str, Any] = json.loads(latest.read_text(encoding="utf-8"))
    return loaded


def with_field(schema: dict[str, Any], field: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(schema)
    changed["fields"].append(field)
    return changed


def avro(schema: dict[str, Any]) -> Schema:
    return Schema(json.dumps(schema), "AVRO")


def test_the_registry_keeps_a_crowdlog_schema_and_refuses_incompatible_changes(
        schema_registry_url: str) -> None:
    client = SchemaRegistryClient({"url": schema_registry_url, "timeout": 15})
    subject = f"test-{uuid.uuid4().hex[:10]}.{EVENT}-value"
    v1 = latest_published(EVENT)

    schema_id = client.register_schema(subject, avro(v1))
    client.set_compatibility(subject, "BACKWARD_TRANSITIVE")
    assert client.get_compatibility(subject) == "BACKWARD_TRANSITIVE"

    # Read back by id through a client with an empty cache, so the server answers.
    fresh = SchemaRegistryClient({"url": schema_registry_url, "timeout": 15})
    fetched = fresh.get_schema(schema_id)
    assert fetched.schema_type == "AVRO"
    assert fetched.schema_str is not None
    assert canonical_form(json.loads(fetched.schema_str)) == canonical_form(v1)

    # A new field with a default reads old records: accepted.
    v2 = with_field(v1, {"name": "registry_probe", "type": "int", "default": 0})
    assert client.test_compatibility(subject, avro(v2))
    client.register_schema(subject, avro(v2))

    # The same field without its default reads v2 records but not v1 ones: plain BACKWARD
    # (against the latest version only) would accept it, BACKWARD_TRANSITIVE must not.
    v3 = with_field(v1, {"name": "registry_probe", "type": "int"})
    assert client.test_compatibility(subject, avro(v3), version=2)
    assert not client.test_compatibility(subject, avro(v3), version=1)
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(subject, avro(v3))
    assert refused.value.http_status_code == 409
    assert client.get_versions(subject) == [1, 2]

    assert client.delete_subject(subject) == [1, 2]
    assert client.delete_subject(subject, permanent=True) == [1, 2]
