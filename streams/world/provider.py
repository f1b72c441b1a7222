"""The third-party feed: one row per athlete, with the gaps and faults real feeds have.

Most rows are clean but incomplete (the provider knows about 15% of the handles, and some rows
lack a league, team or country). A few are messy in ways ingest repairs: odd case, stray spaces,
sport aliases such as ``Football (American)``, country names instead of codes. A very few carry
one fault ingest must reject, and each such row records the reason code ingest is expected to
give. Handles the provider knows are right but typed in many forms (``@Handle``, profile URLs).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

import pycountry

from streams.handles import PLATFORMS
from streams.world.leagues import SPORT_ALIASES, SPORT_DISPLAY, country_name
from streams.world.model import Athlete, ProviderRow, WorldConfig
from streams.world.spelling import provider_form

COLUMNS = ("id", "name", "sport", "league", "team", "country", "twitter", "instagram",
           "facebook", "updated_at")
# How often a clean row lacks a field the provider could have known.
_GAPS = {"league": 0.04, "team": 0.06, "country": 0.08}
# Aliases ingest resolves (see streams.records.core); "bad" names people use for a country.
_COUNTRY_ALIASES = {"GB": ("England", "Scotland", "Wales", "UK"), "US": ("USA",),
                    "RU": ("Russia",), "CI": ("Ivory Coast",)}
# One fault per invalid row, and the reason code ingest gives for it.
_FAULTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "missing_name": ("name", ("",)),
    "missing_sport": ("sport", ("", "  ")),
    "invalid_name": ("name", ("???", "-", "0")),
    "invalid_country": ("country", ("Untied States", "Great Britain", "Holland", "Brasil",
                                    "Deutschland", "Atlantis")),
    "invalid_twitter_handle": ("twitter", ("n/a", "not on twitter", "see instagram")),
    "invalid_updated_at": ("updated_at", ("last tuesday", "03/10/2026", "2026-13-01")),
}
_FEED_WINDOW = timedelta(days=90)


def provider_rows(athletes: Sequence[Athlete], config: WorldConfig,
                  rng: random.Random) -> tuple[ProviderRow, ...]:
    """The feed for ``athletes``: every athlete once, a few rows twice, in athlete order."""
    count = len(athletes)
    invalid = set(rng.sample(range(count), round(count * config.invalid_rate)))
    messy = set(rng.sample(range(count), round(count * config.messy_rate)))
    rows = []
    for index, athlete in enumerate(athletes):
        fields = _fields(athlete, config, rng)
        if index in messy:
            _mess_up(fields, athlete, rng)
        rejection = _break(fields, rng) if index in invalid else None
        rows.append(ProviderRow(fields, rejection))
    valid = [i for i in range(count) if i not in invalid]
    for index in sorted(rng.sample(valid, min(len(valid), round(count * config.duplicate_rate))),
                        reverse=True):
        later = rng.randint(index + 1, len(rows))
        rows.insert(later, ProviderRow(dict(rows[index].fields)))
    return tuple(rows)


def _fields(athlete: Athlete, config: WorldConfig, rng: random.Random) -> dict[str, str]:
    """A clean row with gaps: what a careful provider that knows little would send."""
    updated = config.as_of - timedelta(seconds=rng.randrange(int(_FEED_WINDOW.total_seconds())))
    fields = {
        "id": athlete.ref,
        "name": athlete.name,
        "sport": SPORT_DISPLAY[athlete.sport],
        "league": athlete.league or "",
        "team": athlete.team or "",
        "country": _country(athlete.country, rng),
        "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    for column, rate in _GAPS.items():
        if rng.random() < rate:
            fields[column] = ""
    for platform in PLATFORMS:
        handle = athlete.handles[platform]
        known = handle is not None and rng.random() < config.provider_handle_rate
        fields[platform] = provider_form(handle, platform, rng) if handle and known else ""
    return {column: fields[column] for column in COLUMNS}


def _country(code: str, rng: random.Random) -> str:
    """The country as feeds write it: a code, a name, an alpha-3 code or a colloquial name."""
    roll = rng.random()
    if roll < 0.45:
        return code
    if roll < 0.75:
        return country_name(code)
    if roll < 0.9 or code not in _COUNTRY_ALIASES:
        country = pycountry.countries.get(alpha_2=code)
        return str(country.alpha_3) if country else code
    return rng.choice(_COUNTRY_ALIASES[code])


def _mess_up(fields: dict[str, str], athlete: Athlete, rng: random.Random) -> None:
    """One or two cosmetic faults that ingest either repairs or keeps harmlessly."""
    for fault in rng.sample(("case", "spaces", "sport", "league", "team"), rng.randint(1, 2)):
        if fault == "case":
            fields["name"] = rng.choice((str.upper, str.lower))(fields["name"])
        elif fault == "spaces":
            fields["name"] = "  " + fields["name"].replace(" ", "   ") + " "
        elif fault == "sport":
            aliases = SPORT_ALIASES.get(athlete.sport, ())
            fields["sport"] = (rng.choice(aliases) if aliases
                               else rng.choice((str.upper, str.lower))(fields["sport"]))
        elif fault == "league" and fields["league"].isalpha() and len(fields["league"]) <= 5:
            fields["league"] = fields["league"].lower()
        elif fault == "team" and fields["team"]:
            fields["team"] = " " + fields["team"].lower() + "  "


def _break(fields: dict[str, str], rng: random.Random) -> str:
    """Give the row one fault ingest must reject; return the reason code it will give."""
    code = rng.choice(sorted(_FAULTS))
    column, values = _FAULTS[code]
    fields[column] = rng.choice(values)
    return code
