"""Validation and normalisation of provider rows."""

from __future__ import annotations

import pytest

from streams.records.core import (
    COLUMNS,
    FIELD_MAX,
    Rejection,
    normalise_row,
    row_entity_id,
    valid_provider,
)
from streams.records.models import RecordReceived
from tests.factories import PRODUCER, T0


def normalise(**row: object) -> RecordReceived | Rejection:
    base: dict[str, object] = {"name": "Anthony Davis", "sport": "Basketball", "id": "7"}
    return normalise_row({**base, **row}, provider="acme", received_at=T0, producer=PRODUCER)


def test_normalises_a_full_row() -> None:
    event = normalise(name="  Anthony   Davis ", league="nba", team="Los Angeles Lakers",
                      country="United States", twitter="@AntDavis23",
                      facebook="https://facebook.com/AnthonyDavis/")
    assert isinstance(event, RecordReceived)
    assert (event.name, event.sport, event.league, event.country) == (
        "Anthony Davis", "basketball", "NBA", "US")
    assert event.known_handles == {"twitter": "antdavis23", "facebook": "anthonydavis"}
    assert event.entity_id == "acme:7"
    assert event.meta.provenance.source == "provider:acme"
    assert event.meta.occurred_at == T0
    assert event.meta.parents == ()


def test_column_aliases_and_country_forms() -> None:
    event = normalise_row({"athlete_name": "Anthony Davis", "sport": "American Football",
                           "athlete_id": "99", "nationality": "USA", "club": "Bears"},
                          provider="acme", received_at=T0, producer=PRODUCER)
    assert isinstance(event, RecordReceived)
    assert (event.sport, event.country, event.team) == ("american football", "US", "Bears")
    assert isinstance(e := normalise(country="England"), RecordReceived) and e.country == "GB"
    assert isinstance(e := normalise(country="fr"), RecordReceived) and e.country == "FR"


def test_row_timestamp_is_the_event_time() -> None:
    event = normalise(updated_at="2025-03-01T10:00:00Z")
    assert isinstance(event, RecordReceived)
    assert event.meta.occurred_at.isoformat() == "2025-03-01T10:00:00+00:00"


@pytest.mark.parametrize(("row", "code"), [
    ({"name": ""}, "missing_name"),
    ({"sport": None}, "missing_sport"),
    ({"id": "  "}, "missing_provider_ref"),
    ({"name": "1234"}, "invalid_name"),
    ({"name": "x" * 201}, "field_too_long"),
    ({"name": "Anthony \ud800Davis"}, "invalid_name"),  # JSON's "\ud800": half a character
    ({"country": "Atlantis"}, "invalid_country"),
    ({"twitter": "not a handle"}, "invalid_twitter_handle"),
    ({"instagram": "https://facebook.com/x"}, "invalid_instagram_handle"),
    ({"updated_at": "yesterday"}, "invalid_updated_at"),
    ({"name": {"first": "Anthony"}}, "invalid_name"),
    ({"id": ["7"]}, "invalid_provider_ref"),
    ({"name": "Anthony\x00Davis"}, "invalid_name"),
    ({"team": "Lakers\x1b[31m"}, "invalid_team"),
])
def test_rejections_have_a_reason(row: dict[str, object], code: str) -> None:
    outcome = normalise(**row)
    assert isinstance(outcome, Rejection)
    assert outcome.code == code
    assert outcome.message


def test_same_row_same_event_changed_row_new_event() -> None:
    first, again = normalise(team="Lakers"), normalise(team="Lakers")
    changed = normalise(team="Pelicans")
    assert isinstance(first, RecordReceived) and isinstance(again, RecordReceived)
    assert isinstance(changed, RecordReceived)
    assert first.event_id == again.event_id
    assert first.event_id != changed.event_id
    assert first.entity_id == changed.entity_id


def test_provider_names() -> None:
    assert valid_provider("acme-sports.v2")
    assert not valid_provider("Acme Sports")
    assert not valid_provider("")


# A value each column accepts, padded to a given length where the column's rules allow it.
FITS = {"name": "A", "sport": "s", "league": "L", "team": "t", "provider_ref": "7",
        "country": None, "updated_at": None, "twitter": None, "instagram": None,
        "facebook": None}


def test_every_column_has_a_maximum() -> None:
    assert set(FIELD_MAX) == set(COLUMNS)


@pytest.mark.parametrize("alias", [alias for aliases in COLUMNS.values() for alias in aliases])
def test_a_value_longer_than_its_maximum_is_rejected(alias: str) -> None:
    column = next(c for c, aliases in COLUMNS.items() if alias in aliases)
    limit = FIELD_MAX[column]
    outcome = normalise(**{alias: "x" * (limit + 1)})
    assert outcome == Rejection("field_too_long", f"{alias} is {limit + 1} characters long,"
                                f" more than the {limit} a {column} may have")


@pytest.mark.parametrize("column", [c for c, start in FITS.items() if start is not None])
def test_a_value_of_its_maximum_is_accepted(column: str) -> None:
    start = FITS[column] or ""
    value = start + "x" * (FIELD_MAX[column] - len(start))
    event = normalise(**{COLUMNS[column][0]: value})
    assert isinstance(event, RecordReceived)


def test_length_is_checked_on_the_value_as_given() -> None:
    assert normalise(id=10**200) == Rejection(  # 201 digits
        "field_too_long", "id is 201 characters long, more than the 200 a provider_ref may have")
    assert isinstance(e := normalise(id=10**199), RecordReceived) and len(e.provider_ref) == 200
    padded = normalise(team=" " * 150 + "Lakers" + " " * 150)  # whitespace counts before folding
    assert isinstance(padded, Rejection) and padded.code == "field_too_long"
    assert isinstance(normalise(notes="x" * 100_000), RecordReceived)  # not a column of ours


@pytest.mark.parametrize(("row", "entity"), [
    ({"id": "7"}, "acme:7"),
    ({"athlete_id": " 7 "}, "acme:7"),
    ({}, None),
    ({"id": "7" * 201}, None),
    ({"id": "\ud800"}, None),
    ({"id": {"nested": 1}}, None),
    ({"id": "7", "ref": "x" * 201}, None),  # every alias of provider_ref must be valid
])
def test_row_entity_id(row: dict[str, object], entity: str | None) -> None:
    assert row_entity_id(row, "acme") == entity
