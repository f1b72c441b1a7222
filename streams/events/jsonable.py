"""Events as JSON values, for state that must remember an event exactly (Faust tables).

A stage that may have to re-emit an event after a crash keeps it in its table; tables hold JSON,
so the event's Avro record is stored with its timestamps as epoch milliseconds, which is also
what Avro keeps, so the round trip is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from streams.events.model import Event

E = TypeVar("E", bound=Event)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STAMP = "$ms"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_STAMP: (value - _EPOCH) // timedelta(milliseconds=1)}
    if isinstance(value, Mapping):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, Mapping):
        if set(value) == {_STAMP}:
            return _EPOCH + timedelta(milliseconds=value[_STAMP])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def event_to_json(event: Event) -> dict[str, Any]:
    """A JSON-able value that ``event_from_json`` turns back into an equal event."""
    return {"type": event.schema_name, "record": _encode(event.to_avro())}


def event_from_json(cls: type[E], data: Mapping[str, Any]) -> E:
    if data["type"] != cls.schema_name:
        raise ValueError(f"stored event is a {data['type']}, not a {cls.schema_name}")
    return cls.from_avro(_decode(data["record"]))
