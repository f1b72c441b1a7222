"""Avro single-object encoding of typed events.

Wire format (Avro specification, "Single-object encoding"): ``C3 01``, the 8-byte little-endian
CRC-64-AVRO fingerprint of the writer schema's canonical form, then the Avro binary body.
Decoding looks the writer schema up by fingerprint and resolves it against the current schema of
the same event type, so events written years ago with older versions still decode.
"""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from streams.events.errors import CorruptEvent, EventFormatError, UnknownEventType
from streams.events.fingerprint import HEADER_SIZE, MAGIC
from streams.events.model import Event
from streams.events.schema_store import SchemaStore, SchemaVersion


class Codec:
    """Encodes registered event classes and decodes any published version of them."""

    def __init__(self, store: SchemaStore, event_types: Iterable[type[Event]]) -> None:
        self.store = store
        self._classes: dict[str, type[Event]] = {}
        self._writers: dict[type[Event], SchemaVersion] = {}
        for cls in event_types:
            self._classes[cls.schema_name] = cls
            self._writers[cls] = store.current(cls.schema_name)
        # reader per fingerprint: None when writer == reader (fastavro skips resolution then)
        self._readers: dict[bytes, Any] = {}

    @property
    def event_types(self) -> tuple[type[Event], ...]:
        return tuple(self._writers)

    def encode(self, event: Event) -> bytes:
        try:
            writer = self._writers[type(event)]
        except KeyError:
            raise UnknownEventType(f"{type(event).__name__} is not registered") from None
        buffer = BytesIO()
        buffer.write(writer.header)
        schemaless_writer(buffer, writer.parsed, event.to_avro())
        return buffer.getvalue()

    def decode_record(self, data: bytes) -> tuple[SchemaVersion, dict[str, Any]]:
        """Decode to the writer's schema version and a record shaped by the current schema."""
        if len(data) < HEADER_SIZE or data[:2] != MAGIC:
            raise CorruptEvent("not an Avro single-object encoded event (bad marker or too short)")
        writer = self.store.by_fingerprint(data[2:HEADER_SIZE])
        if writer.name not in self._classes:
            raise UnknownEventType(f"no event class is registered for {writer.name}")
        reader = self._reader_for(writer)
        body = BytesIO(data)
        body.seek(HEADER_SIZE)
        try:
            record = schemaless_reader(body, writer.parsed, reader)
        except EventFormatError:
            raise
        except Exception as exc:  # fastavro raises many types on bad bytes
            raise CorruptEvent(
                f"undecodable {writer.name} v{writer.version} body: {exc!r}"
            ) from exc
        if body.tell() != len(data):
            raise CorruptEvent(
                f"{len(data) - body.tell()} trailing bytes after a {writer.name} body"
            )
        if not isinstance(record, dict):
            raise CorruptEvent(f"{writer.name} decoded to {type(record).__name__}, not a record")
        return writer, record

    def decode(self, data: bytes) -> Event:
        return self.decode_versioned(data)[1]

    def decode_versioned(self, data: bytes) -> tuple[SchemaVersion, Event]:
        """The typed event and the schema version it was written with."""
        writer, record = self.decode_record(data)
        try:
            return writer, self._classes[writer.name].from_avro(record)
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptEvent(f"{writer.name} record does not fit its class: {exc!r}") from exc

    def _reader_for(self, writer: SchemaVersion) -> Any:
        if writer.fingerprint not in self._readers:
            current = self.store.current(writer.name)
            same = current.fingerprint == writer.fingerprint
            self._readers[writer.fingerprint] = None if same else current.parsed
        return self._readers[writer.fingerprint]
