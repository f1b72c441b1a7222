"""Deterministic event ids: same inputs, same id; anything that makes the event differ, new id."""

from datetime import timedelta

from streams.events.ids import event_id, new_meta
from streams.events.model import Producer, Provenance
from tests.factories import PRODUCER, T0

SOURCE = Provenance("provider:acme", "42")


def meta(**overrides: object):  # type: ignore[no-untyped-def]
    args = {"event_type": "x.E", "entity_id": "e", "occurred_at": T0, "producer": PRODUCER,
            "provenance": SOURCE, "parents": ("p1",), "identity": {"a": 1}, **overrides}
    return new_meta(**args)  # type: ignore[arg-type]


def test_same_inputs_same_id() -> None:
    assert meta().event_id == meta().event_id
    assert len(meta().event_id) == 32


def test_wall_clock_and_instance_do_not_change_the_id() -> None:
    other_instance = Producer(PRODUCER.stage, PRODUCER.version, "another-host-7")
    assert meta(producer=other_instance).event_id == meta().event_id
    assert meta(occurred_at=T0 + timedelta(days=3)).event_id == meta().event_id


def test_what_makes_the_event_changes_the_id() -> None:
    base = meta().event_id
    assert meta(parents=("p2",)).event_id != base
    assert meta(identity={"a": 2}).event_id != base
    assert meta(event_type="x.F").event_id != base
    assert meta(producer=Producer(PRODUCER.stage, "2.0.0", "test")).event_id != base


def test_identity_key_order_does_not_matter() -> None:
    forwards = event_id("t", "s", "1", [], {"a": 1, "b": 2})
    assert forwards == event_id("t", "s", "1", [], {"b": 2, "a": 1})


def test_occurred_at_is_truncated_to_milliseconds() -> None:
    assert meta(occurred_at=T0.replace(microsecond=123456)).occurred_at.microsecond == 123000
