"""CRC-64-AVRO fingerprints against the Avro project's published test vectors."""

import pytest

from streams.events.fingerprint import MAGIC, crc64_avro, header

# share/test/data/schema-tests.txt of Apache Avro: canonical form -> signed 64-bit fingerprint
VECTORS = [
    ('"null"', 7195948357588979594),
    ('"boolean"', -6970731678124411036),
    ('"int"', 8247732601305521295),
    ('"long"', -3434872931120570953),
    ('"string"', -8142146995180207161),
    ('{"name":"foo","type":"fixed","size":15}', 1756455273707447556),
    ('{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
     7843277075252814651),
]


@pytest.mark.parametrize(("canonical", "expected"), VECTORS)
def test_fingerprint_matches_avro_test_vectors(canonical: str, expected: int) -> None:
    assert int.from_bytes(crc64_avro(canonical), "little", signed=True) == expected


def test_header_is_marker_then_little_endian_fingerprint() -> None:
    fp = crc64_avro('"null"')
    assert header(fp) == MAGIC + (7195948357588979594).to_bytes(8, "little")
    assert MAGIC == b"\xc3\x01"
