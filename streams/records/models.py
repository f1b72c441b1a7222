"""Events of the records domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from streams.events.model import Event


@dataclass(frozen=True, slots=True)
class RecordReceived(Event):
    """An athlete row from a provider, validated and normalised (``records.received``)."""

    schema_name: ClassVar[str] = "crowdlog.records.RecordReceived"

    name: str
    sport: str
    provider: str
    provider_ref: str
    league: str | None = None
    team: str | None = None
    country: str | None = None
    known_handles: dict[str, str] = field(default_factory=dict)
