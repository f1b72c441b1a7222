"""Avro single-object encoding of typed events.

Wire format (Avro specification, "Single-object encoding"): ``C3 01``, the 8-byte little-endian
CRC-64-AVRO fingerprint of the writer schema's canonical form, then the Avro binary body.
Decoding looks the writer schema up by fingerprint and resolves it against the current schema of
the same event type, so events written years ago with older versions still decode.

Bodies of current-version events are written and read by functions compiled from the schema
(``compiled.py``), about three times faster than fastavro's interpreter; other versions, and
schemas the compiler does not handle, go through fastavro with schema resolution.

Given a ``SchemaRegistry`` the codec also writes the Confluent wire format (``encode_for``, per
topic), and it always reads both framings: ``C3 01`` + fingerprint, or ``00`` + schema id
(``streams.events.registry``). The body is the same Avro either way.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from streams.events.compiled import (
    Malformed,
    NotCompilable,
    Truncated,
    compile_decoder,
    compile_encoder,
    read_length,
)
from streams.events.errors import CorruptEvent, InvalidEvent, UnknownEventType
from streams.events.fingerprint import HEADER_SIZE, MAGIC
from streams.events.model import Event
from streams.events.registry import (
    WIRE_HEADER_SIZE,
    WIRE_MAGIC,
    SchemaRegistry,
    UnknownSchemaId,
    schema_id_of,
    wire_header,
)
from streams.events.schema_store import SchemaStore, SchemaVersion

BodyWriter = Callable[[dict[str, Any]], bytes]
BodyReader = Callable[[bytes, int], tuple[dict[str, Any], int]]

# what malformed bytes or mistyped fields make the compiled functions or fastavro raise
_DECODE_ERRORS = (Truncated, Malformed, IndexError, UnicodeDecodeError, EOFError, ValueError,
                  TypeError, KeyError, OverflowError, struct.error)
_ENCODE_ERRORS = (TypeError, ValueError, AttributeError, KeyError, OverflowError, struct.error)


def _fastavro_writer(version: SchemaVersion) -> BodyWriter:
    def write(record: dict[str, Any]) -> bytes:
        buffer = BytesIO()
        schemaless_writer(buffer, version.parsed, record)
        return buffer.getvalue()

    return write


def _fastavro_reader(writer: SchemaVersion, reader: SchemaVersion) -> BodyReader:
    resolved = None if reader.fingerprint == writer.fingerprint else reader.parsed

    def read(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
        body = BytesIO(data)
        body.seek(pos)
        record = schemaless_reader(body, writer.parsed, resolved)
        if not isinstance(record, dict):
            raise Malformed(f"decoded to {type(record).__name__}, not a record")
        return record, body.tell()

    return read


def _short(exc: Exception) -> str:
    """An error's repr cut to a line: a decoder's error may repeat the whole body (a 1 MB
    message gave a 3.9 million character reason)."""
    text = repr(exc)
    return text if len(text) <= 300 else f"{text[:300]}... ({len(text)} characters)"


def _body_start(data: bytes) -> int:
    """Where the Avro body starts in either framing."""
    return WIRE_HEADER_SIZE if data[:1] == WIRE_MAGIC else HEADER_SIZE


def peek_event_id(data: bytes) -> str:
    """An encoded event's id, read without decoding the rest (either framing).

    Every event schema starts with ``meta``, whose first field is the ``event_id`` string (the
    schema store refuses any other shape), so the id is the first string of the body.
    """
    try:
        end, start = read_length(data, _body_start(data))
        if end > len(data):
            raise Truncated
        return data[start:end].decode()
    except (Truncated, Malformed, UnicodeDecodeError) as exc:
        raise CorruptEvent(f"no event id at the start of the body: {_short(exc)}") from exc


class Codec:
    """Encodes registered event classes and decodes any published version of them."""

    def __init__(self, store: SchemaStore, event_types: Iterable[type[Event]],
                 registry: SchemaRegistry | None = None) -> None:
        self.store = store
        self.registry = registry
        self._classes: dict[str, type[Event]] = {}
        self._writers: dict[type[Event], tuple[bytes, BodyWriter]] = {}
        self._current: dict[type[Event], SchemaVersion] = {}
        self._readers: dict[bytes, BodyReader] = {}
        for cls in event_types:
            current = store.current(cls.schema_name)
            self._current[cls] = current
            self._classes[cls.schema_name] = cls
            try:
                self._writers[cls] = (current.header, compile_encoder(current.schema))
                self._readers[current.fingerprint] = compile_decoder(current.schema)
            except NotCompilable:
                self._writers[cls] = (current.header, _fastavro_writer(current))

    def encode(self, event: Event) -> bytes:
        try:
            header, write = self._writers[type(event)]
        except KeyError:
            raise UnknownEventType(f"{type(event).__name__} is not registered") from None
        try:
            return header + write(event.to_avro())
        except _ENCODE_ERRORS as exc:
            raise InvalidEvent(
                f"{event.schema_name} does not fit its schema: {_short(exc)}") from exc

    def encode_for(self, event: Event, topic: str) -> bytes:
        """``event`` as it is written to ``topic``: the Confluent wire format with a registry
        (the schema registered under the topic's subject first), single-object without."""
        encoded = self.encode(event)
        if self.registry is None:
            return encoded
        schema_id = self.registry.id_for(topic, self._current[type(event)])
        return wire_header(schema_id) + encoded[HEADER_SIZE:]

    def decode_record(self, data: bytes) -> tuple[SchemaVersion, dict[str, Any]]:
        """Decode to the writer's schema version and a record shaped by the current schema."""
        writer, start = self._writer_of(data)
        if writer.name not in self._classes:
            raise UnknownEventType(f"no event class is registered for {writer.name}")
        read = self._readers.get(writer.fingerprint)
        if read is None:
            read = _fastavro_reader(writer, self.store.current(writer.name))
            self._readers[writer.fingerprint] = read
        try:
            record, end = read(data, start)
        except _DECODE_ERRORS as exc:
            raise CorruptEvent(
                f"undecodable {writer.name} v{writer.version} body: {_short(exc)}"
            ) from exc
        if end != len(data):
            raise CorruptEvent(f"{len(data) - end} trailing bytes after a {writer.name} body")
        return writer, record

    def _writer_of(self, data: bytes) -> tuple[SchemaVersion, int]:
        """The writer schema named by the framing, and where the body starts."""
        if data[:1] == WIRE_MAGIC and len(data) >= WIRE_HEADER_SIZE:
            if self.registry is None:
                raise UnknownSchemaId(
                    f"Confluent wire format (schema id {schema_id_of(data)}) but no schema "
                    "registry is configured: set CROWDLOG_SCHEMA_REGISTRY_URL")
            return self.registry.writer(schema_id_of(data)), WIRE_HEADER_SIZE
        if len(data) < HEADER_SIZE or data[:2] != MAGIC:
            raise CorruptEvent("not an Avro event: neither the single-object marker (C3 01) nor "
                               "the Confluent wire format (00 + schema id), or too short")
        return self.store.by_fingerprint(data[2:HEADER_SIZE]), HEADER_SIZE

    def decode(self, data: bytes) -> Event:
        return self.decode_versioned(data)[1]

    def decode_versioned(self, data: bytes) -> tuple[SchemaVersion, Event]:
        """The typed event and the schema version it was written with."""
        writer, record = self.decode_record(data)
        try:
            return writer, self._classes[writer.name].from_avro(record)
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptEvent(
                f"{writer.name} record does not fit its class: {_short(exc)}") from exc
