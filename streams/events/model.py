"""Typed events: frozen dataclasses that mirror their Avro schemas.

Every event class is a frozen dataclass whose first field is ``meta`` (:class:`EventMeta`) and
whose other fields are Avro-native values (str, int, float, bool, None, bytes, lists, maps,
datetimes). A class whose payload holds nested records overrides ``payload_to_avro`` and
``payload_from_avro``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Self


@dataclass(frozen=True, slots=True)
class Producer:
    """The stage that emitted an event: its name, logic version and process instance."""

    stage: str
    version: str
    instance: str


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where the data originally came from: the source system and its own reference."""

    source: str
    reference: str


@dataclass(frozen=True, slots=True)
class EventMeta:
    """Identity, lineage and provenance shared by every event (``crowdlog.common.EventMeta``)."""

    event_id: str
    event_type: str
    entity_id: str
    occurred_at: datetime
    producer: Producer
    provenance: Provenance
    parents: tuple[str, ...] = ()

    def to_avro(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "entity_id": self.entity_id,
            "occurred_at": self.occurred_at,
            "producer": {
                "stage": self.producer.stage,
                "version": self.producer.version,
                "instance": self.producer.instance,
            },
            "provenance": {
                "source": self.provenance.source,
                "reference": self.provenance.reference,
            },
            "parents": list(self.parents),
        }

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> EventMeta:
        producer = record["producer"]
        provenance = record["provenance"]
        return cls(
            event_id=record["event_id"],
            event_type=record["event_type"],
            entity_id=record["entity_id"],
            occurred_at=record["occurred_at"],
            producer=Producer(producer["stage"], producer["version"], producer["instance"]),
            provenance=Provenance(provenance["source"], provenance["reference"]),
            parents=tuple(record["parents"]),
        )


_PAYLOAD_FIELDS: dict[type[Event], tuple[str, ...]] = {}


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event class; ``schema_name`` is the Avro full name it is written with."""

    schema_name: ClassVar[str]
    meta: EventMeta

    @classmethod
    def payload_fields(cls) -> tuple[str, ...]:
        """Names of the fields besides ``meta`` (computed once per class: codecs are hot)."""
        cached = _PAYLOAD_FIELDS.get(cls)
        if cached is None:
            cached = tuple(f.name for f in dataclasses.fields(cls) if f.name != "meta")
            _PAYLOAD_FIELDS[cls] = cached
        return cached

    def payload_to_avro(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.payload_fields()}

    @classmethod
    def payload_from_avro(cls, record: Mapping[str, Any]) -> dict[str, Any]:
        return {name: record[name] for name in cls.payload_fields()}

    def to_avro(self) -> dict[str, Any]:
        record = self.payload_to_avro()
        record["meta"] = self.meta.to_avro()
        return record

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Self:
        return cls(meta=EventMeta.from_avro(record["meta"]), **cls.payload_from_avro(record))

    @property
    def event_id(self) -> str:
        return self.meta.event_id

    @property
    def entity_id(self) -> str:
        return self.meta.entity_id
