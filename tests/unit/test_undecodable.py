"""How every reader tells an unusable message: one decode path, bounded reasons, no crash.

The broker test (``tests/integration/test_hostile_messages.py``) puts the hostile messages
through every tool and service; these pin the shared pieces without a broker.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

import pytest
from confluent_kafka import Message

from streams.consumer import consumed, message_time
from streams.events.codec import Codec
from streams.events.errors import CorruptEvent, EventFormatError, RegistryUnavailable
from streams.events.model import Event
from streams.events.schema_store import SchemaVersion
from streams.settings import Settings
from streams.tools.log_reader import (
    EPOCH,
    REASON_CHARS,
    TOMBSTONE,
    Coordinates,
    LogReader,
    PartitionRange,
    RawMessage,
    Undecodable,
    decode_value,
    describe,
)
from streams.workers.view import QualityView
from tests.factories import record
from tests.view_events import worker_quality

NOW = 1_767_322_800_000  # 2026-01-02 03:00 UTC, in milliseconds


@dataclass
class _Message:
    """The part of confluent-kafka's ``Message`` the readers use."""

    payload: bytes | None
    millis: int

    def value(self) -> bytes | None:
        return self.payload

    def key(self) -> bytes:
        return b"k"

    def timestamp(self) -> tuple[int, int]:
        return 1, self.millis  # TIMESTAMP_CREATE_TIME


def message(value: bytes | None, timestamp: int = NOW) -> Message:
    """``value`` as a consumed message (confluent-kafka makes real ones only from a broker)."""
    return cast(Message, _Message(value, timestamp))


def test_a_null_value_is_undecodable_like_any_other_bytes(codec: Codec) -> None:
    with pytest.raises(EventFormatError, match="tombstone"):
        decode_value(codec, None)
    with pytest.raises(CorruptEvent):
        decode_value(codec, b"")
    event = record()
    _schema, decoded = decode_value(codec, codec.encode(event))
    assert decoded == event


def test_a_reason_is_cut_to_one_line_and_says_so(codec: Codec) -> None:
    head = codec.encode(record())[:10]
    body = b"\xd0\x0f" + b"\xff" * 1000  # an event id of 1,000 bytes of invalid UTF-8
    with pytest.raises(EventFormatError) as caught:
        codec.decode(head + body)
    assert len(str(caught.value)) < 500  # the codec cuts its error's repr of the bytes itself
    assert str(caught.value).endswith("characters)")
    long = EventFormatError("x" * 5000)
    text = describe(long)
    assert text.startswith("event_format_error: ") and len(text) < REASON_CHARS + 50
    assert text.endswith(f"[cut from {len(str(long)) + len('event_format_error: ')} "
                         "characters]")
    assert describe(KeyError("x")) == "KeyError: 'x'"
    where = Coordinates("t", 2, 7)
    assert str(Undecodable.of(where, EventFormatError(TOMBSTONE))) == (
        f"t/2@7: event_format_error: {TOMBSTONE}")


class _Messages(LogReader):
    """A log reader over messages given in advance."""

    def __init__(self, messages: list[RawMessage]) -> None:
        super().__init__(Settings(bootstrap_servers="unused:9092"), ["t"])
        self._given = messages

    def messages(self, ranges: Sequence[PartitionRange] | None = None
                 ) -> Iterator[RawMessage]:
        yield from self._given


def test_a_reader_yields_the_events_and_lists_the_rest(codec: Codec) -> None:
    first, second = record(ref="1"), record(ref="2")
    reader = _Messages([
        RawMessage(Coordinates("t", 0, 0), b"k", codec.encode(first)),
        RawMessage(Coordinates("t", 0, 1), b"k", None),
        RawMessage(Coordinates("t", 0, 2), None, b"\xc3\x01" + b"\x00" * 8),
        RawMessage(Coordinates("t", 0, 3), b"", codec.encode(second)),
    ])
    assert [event for _where, event in reader.events(codec)] == [first, second]
    assert [str(u.coordinates) for u in reader.undecodable] == ["t/0@1", "t/0@2"]
    tombstone, unknown = reader.problems()
    assert tombstone == f"skipped t/0@1: event_format_error: {TOMBSTONE}"
    assert unknown.startswith("skipped t/0@2: unknown_fingerprint: ")


def test_a_message_time_nothing_can_hold_is_the_epoch(codec: Codec) -> None:
    assert message_time(message(None)) == datetime(2026, 1, 2, 3, tzinfo=UTC)
    assert message_time(message(None, timestamp=-1)) == EPOCH  # no timestamp
    year_10000 = 253_402_300_800_000  # Kafka 3 brokers accept any producer time by default
    assert message_time(message(None, timestamp=year_10000)) == EPOCH
    event = record()
    future = message(codec.encode(event), timestamp=year_10000)
    assert consumed(codec, future, "t", 0, 5).event == event
    with pytest.raises(EventFormatError):
        consumed(codec, message(None), "t", 0, 6)


def test_the_quality_view_counts_what_it_cannot_use_and_goes_on(
        codec: Codec, monkeypatch: pytest.MonkeyPatch) -> None:
    view = QualityView(Settings(bootstrap_servers="unused:9092"), codec, "view")
    where = Coordinates("workers.quality", 0, 0)
    view._take(message(None), where)
    view._take(message(b"random bytes"), where)
    view._take(message(codec.encode(worker_quality("W1"))), where)
    assert view.skipped == 2

    def refuse(_event: object) -> None:
        raise RuntimeError("a bug in apply")

    monkeypatch.setattr(view, "apply", refuse)
    view._take(message(codec.encode(worker_quality("W2"))), where)
    assert view.skipped == 3


def test_a_model_that_does_not_parse_is_the_prior_not_a_failure(codec: Codec) -> None:
    view = QualityView(Settings(bootstrap_servers="unused:9092"), codec, "view")
    view.apply(worker_quality("W1"))  # its model is '{"kind": "test"}': no counts, parses
    assert view.model("W1") is not None
    for garbage in ("not json", "[1, 2]", '{"counts": {"a": {"b": "x"}}}', '{"counts": 5}'):
        view.apply(replace(worker_quality("W2", minutes=len(garbage)), model=garbage))
        assert view.model("W2") is None


def test_the_quality_view_waits_for_an_unreachable_registry_instead_of_skipping(
        codec: Codec, monkeypatch: pytest.MonkeyPatch) -> None:
    view = QualityView(Settings(bootstrap_servers="unused:9092"), codec, "view")
    answers: list[Exception | None] = [RegistryUnavailable("down"), RegistryUnavailable("down"),
                                       None]

    def decode(codec: Codec, value: bytes | None) -> tuple[SchemaVersion, Event]:
        failure = answers.pop(0)
        if failure is not None:
            raise failure
        return decode_value(codec, value)

    monkeypatch.setattr("streams.workers.view.decode_value", decode)
    monkeypatch.setattr("streams.workers.view.REGISTRY_RETRY_SECONDS", 0.0)
    view._take(message(codec.encode(worker_quality("W1"))), Coordinates("q", 0, 0))
    assert answers == [] and view.skipped == 0 and view.model("W1") is not None
