"""The single-object codec: round trips, wire format, and typed errors for bad bytes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.codecs import default_codec
from streams.events.codec import Codec, peek_event_id
from streams.events.deadletter import MessageDeadLettered, dead_letter_message
from streams.events.errors import CorruptEvent, UnknownEventType, UnknownFingerprint
from streams.events.fingerprint import MAGIC
from streams.events.registry import UnknownSchemaId
from streams.events.schema_store import SchemaStore
from streams.records.models import RecordReceived
from tests.factories import PRODUCER, T0, record

CODEC = default_codec()


def test_round_trip_keeps_every_field() -> None:
    event = record()
    assert CODEC.decode(CODEC.encode(event)) == event


def test_wire_format_is_single_object_encoding() -> None:
    data = CODEC.encode(record())
    current = CODEC.store.current(RecordReceived.schema_name)
    assert data[:2] == MAGIC
    assert data[2:10] == current.fingerprint


def test_decode_reports_the_writer_version() -> None:
    version, event = CODEC.decode_versioned(CODEC.encode(record()))
    assert version.name == RecordReceived.schema_name
    assert isinstance(event, RecordReceived)


def test_dead_letter_keeps_bytes_exactly() -> None:
    letter = dead_letter_message(topic="t", partition=1, offset=7, key=b"k\xff",
                                 value=bytes(range(256)), timestamp=T0, error="corrupt_event",
                                 reason="because", producer=PRODUCER)
    decoded = CODEC.decode(CODEC.encode(letter))
    assert isinstance(decoded, MessageDeadLettered)
    assert decoded.original_value == bytes(range(256))
    assert decoded.original_key == b"k\xff"


@pytest.mark.parametrize("data", [b"", b"\xc3", b"\x01\x01" + bytes(20), b"{\"json\": true}"])
def test_not_single_object_encoded(data: bytes) -> None:
    with pytest.raises(CorruptEvent):
        CODEC.decode(data)


def test_confluent_framing_without_a_registry_says_what_to_set() -> None:
    with pytest.raises(UnknownSchemaId, match="CROWDLOG_SCHEMA_REGISTRY_URL"):
        CODEC.decode(b"\x00\x00\x00\x00\x07" + bytes(20))


def test_unknown_fingerprint() -> None:
    data = MAGIC + b"\x01" * 8 + b"\x00"
    with pytest.raises(UnknownFingerprint) as caught:
        CODEC.decode(data)
    assert caught.value.fingerprint == b"\x01" * 8
    assert caught.value.code == "unknown_fingerprint"


def test_truncated_body() -> None:
    data = CODEC.encode(record())
    with pytest.raises(CorruptEvent):
        CODEC.decode(data[:-5])


def test_trailing_bytes() -> None:
    with pytest.raises(CorruptEvent, match="trailing"):
        CODEC.decode(CODEC.encode(record()) + b"\x00")


def test_garbage_body_never_escapes_as_another_error() -> None:
    data = bytearray(CODEC.encode(record()))
    for i in range(10, len(data)):
        data[i] = 0xFF
    with pytest.raises(CorruptEvent):
        CODEC.decode(bytes(data))


def test_unregistered_event_type() -> None:
    codec = Codec(SchemaStore.load(), [MessageDeadLettered])
    with pytest.raises(UnknownEventType):
        codec.encode(record())
    with pytest.raises(UnknownEventType):
        codec.decode(CODEC.encode(record()))


TEXT = st.characters(exclude_categories=("Cc", "Cs"))  # ingest refuses control characters


@given(
    name=st.text(TEXT, min_size=1, max_size=50).filter(lambda s: any(c.isalpha() for c in s)),
    team=st.one_of(st.none(), st.text(TEXT, max_size=30)),
    noise=st.binary(max_size=64),
)
def test_round_trip_property(name: str, team: str | None, noise: bytes) -> None:
    event = record(name=name, team=team or "")
    assert CODEC.decode(CODEC.encode(event)) == event
    letter = dead_letter_message(topic="x", partition=0, offset=1, key=None, value=noise,
                                 timestamp=T0, error="e", reason=name, producer=PRODUCER)
    assert CODEC.decode(CODEC.encode(letter)) == letter


@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_typed_errors(data: bytes) -> None:
    fingerprint = CODEC.store.current(RecordReceived.schema_name).fingerprint
    with contextlib.suppress(CorruptEvent):
        CODEC.decode(MAGIC + fingerprint + data)


def test_peek_event_id_reads_the_id_without_decoding() -> None:
    event = record()
    assert peek_event_id(CODEC.encode(event)) == event.event_id
    with pytest.raises(CorruptEvent):
        peek_event_id(MAGIC + b"\x00" * 8 + b"\x7f")


def test_dead_letter_entity_is_the_key_only_when_printable() -> None:
    def letter(key: bytes) -> str:
        return dead_letter_message(topic="t", partition=2, offset=9, key=key, value=b"x",
                                   timestamp=T0, error="e", reason="r",
                                   producer=PRODUCER).entity_id

    assert letter(b"acme:42") == "acme:42"
    assert letter(b"acme:\x00") == "t/2@9"
    assert letter(b"\xff") == "t/2@9"
