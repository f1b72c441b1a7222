"""CRC-64-AVRO fingerprints and the single-object encoding header.

The Avro specification stores the fingerprint little-endian after the two marker bytes
``C3 01``; fastavro returns the same bytes as a hex string, which we decode once per schema.
"""

from __future__ import annotations

from typing import Any

from fastavro.schema import fingerprint, to_parsing_canonical_form

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8


def canonical_form(schema: dict[str, Any]) -> str:
    """Parsing Canonical Form of a self-contained (expanded) schema."""
    return str(to_parsing_canonical_form(schema))


def crc64_avro(canonical: str) -> bytes:
    """The 8-byte CRC-64-AVRO fingerprint of a canonical form, in wire (little-endian) order."""
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


def header(fp: bytes) -> bytes:
    """Single-object encoding header for a writer schema with fingerprint ``fp``."""
    return MAGIC + fp
