"""Typed errors of the event format.

Every error carries a short machine-readable ``code`` so that dead letters can be grouped and
counted by cause, and a message a person can act on.
"""

from __future__ import annotations


class EventFormatError(Exception):
    """Base class: something about an event's bytes or schema is wrong."""

    code = "event_format_error"


class CorruptEvent(EventFormatError):
    """The bytes are not a well-formed single-object encoded event."""

    code = "corrupt_event"


class UnknownFingerprint(EventFormatError):
    """The writer schema's fingerprint is not in the schema store."""

    code = "unknown_fingerprint"

    def __init__(self, fingerprint: bytes) -> None:
        super().__init__(
            f"no schema with CRC-64-AVRO fingerprint {fingerprint.hex()} is known to the store"
        )
        self.fingerprint = fingerprint


class UnknownEventType(EventFormatError):
    """The schema is known but no event class is registered for it."""

    code = "unknown_event_type"


class SchemaStoreError(Exception):
    """The schema directory is inconsistent (bad reference, unpublished change, incompatibility)."""


class InvalidEvent(EventFormatError):
    """An event object whose field values do not fit its schema (a bug in the emitting code)."""

    code = "invalid_event"


class RegistryUnavailable(Exception):
    """The Schema Registry could not be asked (down, unreachable, refusing our credentials).

    Operational, never a dead letter: the input is fine and is read again once it answers.
    """


class SchemaRefused(Exception):
    """The registry refused to register a schema (incompatible with the subject's history):
    nothing is sent, since no reader could resolve it."""
