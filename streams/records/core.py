"""Validation and normalisation of provider rows: the pure core of ingest.

A row is a mapping of column names to text, as read from a CSV or JSON Lines file. The core
either returns a ``RecordReceived`` event or a ``Rejection`` with a reason code (for the summary)
and a message (for the dead letter). It reads no clock and does no I/O, so the same row always
gives the same event and the same id.

Every column has a maximum length (``FIELD_MAX``), checked on the value as given under any of
the column's names: longer than any real name, team or handle address, it is a broken feed, and
bounded values keep each event small, its id and Kafka key short, and the text shown to crowd
workers readable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pycountry

from streams.events.ids import new_meta
from streams.events.model import Producer, Provenance
from streams.handles import PLATFORMS, InvalidHandle, normalise_handle
from streams.records.models import RecordReceived

STAGE = "records"
STAGE_VERSION = "1.0.0"

# Column names providers use for the same thing; the first is ours.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "athlete", "athlete_name", "full_name"),
    "sport": ("sport",),
    "league": ("league", "competition"),
    "team": ("team", "club"),
    "country": ("country", "nationality", "country_code"),
    "provider_ref": ("provider_ref", "id", "athlete_id", "ref"),
    "updated_at": ("updated_at", "last_modified"),
    "twitter": ("twitter", "twitter_handle", "x"),
    "instagram": ("instagram", "instagram_handle"),
    "facebook": ("facebook", "facebook_page", "facebook_handle"),
}
REQUIRED = ("name", "sport", "provider_ref")
# The most characters each column's value may have (``field_too_long`` beyond). Handles allow
# a profile address with its query string; provider_ref becomes part of the entity id.
FIELD_MAX: dict[str, int] = {
    "name": 200,
    "sport": 100,
    "league": 100,
    "team": 200,
    "country": 100,
    "provider_ref": 200,
    "updated_at": 64,
    "twitter": 500,
    "instagram": 500,
    "facebook": 500,
}

_SPORT_ALIASES = {
    "football (american)": "american football",
    "nfl football": "american football",
    "gridiron": "american football",
    "association football": "soccer",
    "hockey": "ice hockey",
    "basket": "basketball",
}
_COUNTRY_ALIASES = {
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "russia": "RU", "ivory coast": "CI", "kosovo": "XK", "usa": "US", "uk": "GB",
}
_PROVIDER = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
# Control characters (NUL above all) are never part of a name or id, and PostgreSQL cannot
# store NUL in text; tabs and line breaks are whitespace and get folded instead.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Half of a UTF-16 pair alone (JSON's "\ud800") is no character: UTF-8 cannot encode it, so
# neither the event id nor the Avro body could be made.
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a row was not accepted: ``code`` groups rejections, ``message`` explains one."""

    code: str
    message: str


class _Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.rejection = Rejection(code, message)


def valid_provider(provider: str) -> bool:
    """Provider names become part of entity ids: lower-case letters, digits, ``_.-``."""
    return bool(_PROVIDER.fullmatch(provider))


_SCALARS = (str, int, float, bool)


def pick(row: Mapping[str, object], column: str) -> str | None:
    """The stripped text of ``column`` under any of its aliases; None when absent or blank.

    Nested values (JSON objects or arrays) are not text: they count as absent here, and
    ``normalise_row`` rejects the row for them.
    """
    for alias in COLUMNS[column]:
        value = row.get(alias)
        if value is None or not isinstance(value, _SCALARS):
            continue
        text = value if isinstance(value, str) else str(value)
        text = " ".join(unicodedata.normalize("NFC", text).split())
        if text:
            return text
    return None


def normalise_row(row: Mapping[str, object], *, provider: str, received_at: datetime,
                  producer: Producer) -> RecordReceived | Rejection:
    """Validate one provider row; ``received_at`` is used when the row has no timestamp."""
    try:
        return _record(row, provider, received_at, producer)
    except _Invalid as invalid:
        return invalid.rejection


def row_entity_id(row: Mapping[str, object], provider: str) -> str | None:
    """The entity a rejected row is about (its dead letter's key), if its provider_ref is valid.

    An invalid reference (too long, not text) must not become a Kafka key: None instead.
    """
    try:
        _check_column(row, "provider_ref")
    except _Invalid:
        return None
    ref = pick(row, "provider_ref")
    return f"{provider}:{ref}" if ref else None


def _check_column(row: Mapping[str, object], column: str) -> None:
    """Every value given for ``column``, under any alias, is text within its maximum length."""
    for alias in COLUMNS[column]:
        value = row.get(alias)
        if value is None:
            continue
        if not isinstance(value, _SCALARS):
            raise _Invalid(f"invalid_{column}",
                           f"{alias} is a {type(value).__name__}, not a text value")
        text = value if isinstance(value, str) else str(value)
        if len(text) > FIELD_MAX[column]:
            raise _Invalid("field_too_long", f"{alias} is {len(text)} characters long, more"
                           f" than the {FIELD_MAX[column]} a {column} may have")
        if _CONTROL.search(text):
            raise _Invalid(f"invalid_{column}", f"{alias} contains control characters")
        if _SURROGATE.search(text):
            raise _Invalid(f"invalid_{column}",
                           f"{alias} contains an unpaired surrogate, which is not a character")


def _record(row: Mapping[str, object], provider: str, received_at: datetime,
            producer: Producer) -> RecordReceived:
    for column in COLUMNS:
        _check_column(row, column)
    for column in REQUIRED:
        if pick(row, column) is None:
            raise _Invalid(f"missing_{column}", f"required column {column!r} is missing or empty")
    name, sport, ref = (pick(row, c) or "" for c in REQUIRED)
    if not any(ch.isalpha() for ch in name):
        raise _Invalid("invalid_name", f"name {name!r} contains no letters")
    sport = _SPORT_ALIASES.get(sport.lower(), sport.lower())
    payload: dict[str, Any] = {
        "name": name,
        "sport": sport,
        "provider": provider,
        "provider_ref": ref,
        "league": _league(pick(row, "league")),
        "team": pick(row, "team"),
        "country": _country(pick(row, "country")),
        "known_handles": _handles(row),
    }
    entity_id = f"{provider}:{ref}"
    meta = new_meta(
        event_type=RecordReceived.schema_name,
        entity_id=entity_id,
        occurred_at=_timestamp(pick(row, "updated_at"), received_at),
        producer=producer,
        provenance=Provenance(source=f"provider:{provider}", reference=ref),
        identity=payload,
    )
    return RecordReceived(meta=meta, **payload)


def _league(text: str | None) -> str | None:
    """Short league codes (nba, Nfl) in upper case; longer names as given."""
    if text is None:
        return None
    return text.upper() if text.isalpha() and len(text) <= 5 else text


def _country(text: str | None) -> str | None:
    if text is None:
        return None
    alias = _COUNTRY_ALIASES.get(text.lower())
    if alias:
        return alias
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        raise _Invalid("invalid_country", f"country {text!r} is not recognised") from None


def _handles(row: Mapping[str, object]) -> dict[str, str]:
    handles = {}
    for platform in PLATFORMS:
        text = pick(row, platform)
        if text is None:
            continue
        try:
            handles[platform] = normalise_handle(platform, text)
        except InvalidHandle as exc:
            raise _Invalid(f"invalid_{platform}_handle", str(exc)) from None
    return handles


def _timestamp(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Invalid("invalid_updated_at", f"updated_at {text!r} is not ISO 8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
