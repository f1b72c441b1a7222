"""Small builders shared by the tests: events with realistic content and fixed times."""

from __future__ import annotations

from datetime import UTC, datetime

from streams.events.model import Producer
from streams.records.core import normalise_row
from streams.records.models import RecordReceived

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
PRODUCER = Producer(stage="records", version="1.0.0", instance="test")


def record(ref: str = "42", name: str = "Anthony Davis", **fields: str) -> RecordReceived:
    row = {"id": ref, "name": name, "sport": "basketball", "league": "NBA", "team": "Lakers",
           "country": "US", "instagram": "antdavis23", **fields}
    event = normalise_row(row, provider="acme", received_at=T0, producer=PRODUCER)
    assert isinstance(event, RecordReceived), event
    return event
