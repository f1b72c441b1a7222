"""`crowdlog export`: one topic into an Avro object container file that any Avro tool reads.

The log's messages are single-object encoded, which only readers with our schema store can
decode. An object container file carries its schema in its header, so Spark, Hive, DuckDB or
Apache's avro-tools read the export with nothing from crowdlog. Events written with older schema
versions are decoded (resolved to the current version) and written with the current schema, so
one file has one schema. A topic that carries several event types (``tasks.hits``) gets a union
of their records, each named type defined once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro

from streams.events.codec import Codec
from streams.events.errors import EventFormatError
from streams.events.model import Event
from streams.events.schema_store import SchemaStore
from streams.settings import Settings
from streams.tools.log_reader import Coordinates, LogReader, describe
from streams.topics import CATALOGUE, TopicSpec, full_name

CODECS = ("null", "deflate")
_NAMED = ("record", "error", "enum", "fixed")


class UnknownTopic(ValueError):
    """The name is not a catalogue topic, with or without the prefix."""


def resolve_topic(name: str, prefix: str,
                  catalogue: Iterable[TopicSpec] = CATALOGUE) -> tuple[TopicSpec, str]:
    """The catalogue entry and full topic name for an unprefixed or a full topic name."""
    specs = {spec.name: spec for spec in catalogue}
    if name in specs:
        return specs[name], full_name(specs[name], prefix)
    if prefix and name.startswith(prefix) and name[len(prefix):] in specs:
        return specs[name[len(prefix):]], name
    known = ", ".join(sorted(specs))
    raise UnknownTopic(f"{name!r} is not a catalogue topic (prefix {prefix!r}); known: {known}")


def _define_once(schema: Any, defined: set[str], namespace: str = "") -> Any:
    """``schema`` with every named type already in ``defined`` replaced by a reference."""
    if isinstance(schema, list):
        return [_define_once(branch, defined, namespace) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if kind in _NAMED:
        name = schema["name"]
        space = schema.get("namespace", namespace)
        full = name if "." in name or not space else f"{space}.{name}"
        if full in defined:
            return full
        defined.add(full)
        if kind in ("record", "error"):
            inner = full.rpartition(".")[0]
            fields = [{**f, "type": _define_once(f["type"], defined, inner)}
                      for f in schema["fields"]]
            return {**schema, "fields": fields}
        return dict(schema)
    if kind == "array":
        return {**schema, "items": _define_once(schema["items"], defined, namespace)}
    if kind == "map":
        return {**schema, "values": _define_once(schema["values"], defined, namespace)}
    if isinstance(kind, (dict, list)):
        return {**schema, "type": _define_once(kind, defined, namespace)}
    return schema


def container_schema(store: SchemaStore, spec: TopicSpec) -> Any:
    """The current schema of the topic's event type, or a union of its event types' schemas."""
    schemas = [store.current(cls.schema_name).schema for cls in spec.event_types]
    if len(schemas) == 1:
        return schemas[0]
    defined: set[str] = set()
    return [_define_once(schema, defined) for schema in schemas]


def container_records(spec: TopicSpec, events: Iterable[Event]) -> Iterator[Any]:
    """Records for fastavro; in a union each names its branch (fastavro's tuple notation)."""
    if len(spec.event_types) == 1:
        for event in events:
            yield event.to_avro()
    else:
        for event in events:
            yield (event.schema_name, event.to_avro())


def write_container(path: Path, schema: Any, records: Iterable[Any], *,
                    codec: str = "null") -> None:
    """Write ``records`` to ``path`` atomically: a reader never sees a half-written file."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("wb") as out:
            fastavro.writer(out, fastavro.parse_schema(schema), records, codec=codec)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@dataclass
class ExportReport:
    topic: str
    path: Path
    exported: int = 0
    skipped: list[tuple[Coordinates, str]] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)


def _events(reader: LogReader, codec: Codec, spec: TopicSpec,
            report: ExportReport) -> Iterator[Event]:
    """Decoded events of the topic, in partition then offset order; the rest is reported."""
    for where, item in reader.decoded(codec):
        if isinstance(item, EventFormatError):
            report.skipped.append((where, describe(item)))
        elif type(item) not in spec.event_types:
            report.skipped.append((where, f"{item.schema_name} is not an event type of this "
                                          "topic"))
        else:
            report.exported += 1
            yield item
    if reader.missing_topics:  # raised inside the writer: no file is left behind
        raise UnknownTopic(f"topic {reader.missing_topics[0]} does not exist on the cluster")


def export_topic(settings: Settings, codec: Codec, topic: str, path: Path, *,
                 avro_codec: str = "null", idle_timeout: float = 10.0) -> ExportReport:
    """Export every event of ``topic`` as it is now (end offsets taken at the start)."""
    spec, name = resolve_topic(topic, settings.topic_prefix)
    reader = LogReader(settings, [name], idle_timeout=idle_timeout)
    report = ExportReport(name, path)
    write_container(path, container_schema(codec.store, spec),
                    container_records(spec, _events(reader, codec, spec, report)),
                    codec=avro_codec)
    report.incomplete = [f"{p.topic}/{p.partition}" for p in reader.incomplete]
    return report
