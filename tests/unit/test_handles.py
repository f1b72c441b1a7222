"""Handle normalisation: every form a person types, one canonical handle."""

import pytest

from streams.handles import InvalidHandle, normalise_handle


@pytest.mark.parametrize(("platform", "text", "expected"), [
    ("twitter", "@KingJames", "kingjames"),
    ("twitter", " kingjames ", "kingjames"),
    ("twitter", "https://twitter.com/KingJames", "kingjames"),
    ("twitter", "https://x.com/KingJames/", "kingjames"),
    ("twitter", "x.com/KingJames?ref=abc", "kingjames"),
    ("instagram", "https://www.instagram.com/antdavis23/", "antdavis23"),
    ("instagram", "@Anthony.Davis_", "anthony.davis_"),
    ("facebook", "https://www.facebook.com/AnthonyDavis/", "anthonydavis"),
    ("facebook", "facebook.com/lebron.james", "lebron.james"),
])
def test_normalises(platform: str, text: str, expected: str) -> None:
    assert normalise_handle(platform, text) == expected


@pytest.mark.parametrize(("platform", "text"), [
    ("twitter", "has space"),
    ("twitter", "waytoolongforatwitterhandle"),
    ("twitter", "https://instagram.com/someone"),
    ("instagram", "https://instagram.com/"),
    ("facebook", "abc"),
    ("myspace", "tom"),
    ("twitter", ""),
])
def test_rejects(platform: str, text: str) -> None:
    with pytest.raises(InvalidHandle):
        normalise_handle(platform, text)
