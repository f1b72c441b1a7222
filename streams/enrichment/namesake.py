"""The namesake check of the enrichment stage: does a fetched profile contradict its record?

Consensus accepts the handle most trusted workers agreed on, and now and then that handle
belongs to a namesake: the same name in another sport or on another team. Once the stage has
fetched the accepted profile it reads the bio for the sport, league, team and country it names
and weighs each contradiction with the record. It uses only what the record and the profile say
(and its own reference data of sports, leagues and teams, :mod:`streams.enrichment.reference`),
never the simulated world's truth.

Provider rows have gaps, so a fact the record lacks is no evidence either way. The weights say
how sure a contradiction makes us that the account is someone else's:

* sport (2.0): athletes do not change sport, so this alone rejects the handle;
* team (1.0): enough alone, since a rejected handle only costs one more crowd round with
  stronger context while an accepted namesake corrupts the record; a bio that speaks of the
  past ("Former", "alum") may name a former team, so then only 0.5;
* league, country (0.5 each): players move leagues and feeds mistake countries;
* audience (0.5): followers 20 times more or fewer than on the athlete's other accepted
  profiles; platforms differ in reach, so only a gross mismatch counts, and only as support.

A profile contradicts its record when the weights add up to 1.0 or more.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import pycountry

from streams.enrichment.reference import LEAGUES, SPORT_NOUN
from streams.records.models import RecordReceived

THRESHOLD = 1.0
SPORT_WEIGHT = 2.0
TEAM_WEIGHT = 1.0
FORMER_TEAM_WEIGHT = 0.5
LEAGUE_WEIGHT = 0.5
COUNTRY_WEIGHT = 0.5
AUDIENCE_WEIGHT = 0.5
AUDIENCE_RATIO = 20.0
# What any sportsperson may call themselves: names a sport only when nothing else does.
_GENERIC_NOUNS = frozenset({"athlete"})
_PAST = re.compile(r"\b(former|formerly|alum|alumna|alumnus|alumni|retired|ex)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What the provider says about the athlete; None where the row had a gap."""

    name: str
    sport: str
    league: str | None = None
    team: str | None = None
    country: str | None = None

    @classmethod
    def of(cls, record: RecordReceived) -> RecordFacts:
        """The facts of a ``RecordReceived`` event."""
        return cls(record.name, record.sport, record.league, record.team, record.country)


@dataclass(frozen=True, slots=True)
class ProfileText:
    """The parts of a fetched profile the check reads."""

    platform: str
    followers: int
    verified: bool
    category: str
    bio: str


@dataclass(frozen=True, slots=True)
class NamesakeVerdict:
    """The check's outcome: contradiction or not, the summed weight, and why in plain words.

    ``profile`` and what its bio names (``sports``, ``teams``) are kept so the stage can tell
    the crowd which account *not* to give again.
    """

    contradicts: bool
    score: float
    evidence: tuple[str, ...]
    profile: ProfileText
    sports: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Term:
    kind: str  # "sport", "league", "team" or "country"
    value: str
    sport: str | None
    generic: bool = False


@dataclass(frozen=True, slots=True)
class _Bio:
    """What a bio names, each as the canonical value (sport name, league code, ISO country)."""

    sports: frozenset[str]
    leagues: frozenset[str]
    teams: frozenset[str]
    countries: frozenset[str]
    past: bool


def _vocabulary() -> dict[str, _Term]:
    terms: dict[str, _Term] = {}
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            text = getattr(country, attribute, None)
            if text:
                terms[str(text).casefold()] = _Term("country", str(country.alpha_2), None)
    for league in LEAGUES:
        terms[league.code.casefold()] = _Term("league", league.code, league.sport)
        terms.update({team.casefold(): _Term("team", team, league.sport) for team in league.teams})
    terms.update({noun: _Term("sport", sport, sport, noun in _GENERIC_NOUNS)
                  for sport, noun in SPORT_NOUN.items()})
    return terms


_TERMS = _vocabulary()
# Longest first, so "Los Angeles Kings" is read as one team rather than as "Kings".
_PATTERN = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(t) for t in sorted(_TERMS, key=len, reverse=True))
    + r")(?!\w)", re.IGNORECASE)


def _read_bio(bio: str, name: str) -> _Bio:
    """The sports, leagues, teams and countries a bio names, the athlete's own name left out.

    The name goes first because names contain club and country words (Chelsea, Jordan).
    """
    text = re.sub(re.escape(" ".join(name.split())), " ", " ".join(bio.split()),
                  flags=re.IGNORECASE)
    # .get: a few Unicode letters match case-insensitively yet casefold to something else.
    found = [term for match in _PATTERN.finditer(text)
             if (term := _TERMS.get(match.group(1).casefold())) is not None]
    sports = ({t.sport for t in found if t.sport and not t.generic}
              or {t.sport for t in found if t.sport})
    return _Bio(
        sports=frozenset(sports),
        leagues=frozenset(t.value for t in found if t.kind == "league"),
        teams=frozenset(t.value for t in found if t.kind == "team"),
        countries=frozenset(t.value for t in found if t.kind == "country"),
        past=bool(_PAST.search(text)),
    )


def check_profile(record: RecordFacts, profile: ProfileText, *,
                  other_profiles: Sequence[ProfileText] = ()) -> NamesakeVerdict:
    """Whether ``profile`` contradicts ``record``: see the module docstring for the weights.

    ``other_profiles`` are the athlete's accepted profiles on other platforms; their audience
    is the yardstick for this one's.
    """
    bio = _read_bio(profile.bio, record.name)
    findings = [*_sport(record, bio), *_team(record, bio, profile.bio), *_league(record, bio),
                *_country(record, bio), *_audience(profile, other_profiles)]
    score = round(sum(weight for weight, _ in findings), 3)
    return NamesakeVerdict(contradicts=score >= THRESHOLD, score=score,
                           evidence=tuple(text for _, text in findings), profile=profile,
                           sports=tuple(sorted(bio.sports)), teams=tuple(sorted(bio.teams)))


def stronger_context(record: RecordFacts, verdict: NamesakeVerdict) -> dict[str, str]:
    """The HIT context for asking again: the record's facts and the account that is not it."""
    context = {key: value for key, value in (
        ("name", record.name), ("sport", record.sport), ("league", record.league),
        ("team", record.team), ("country", record.country)) if value}
    who = " or ".join(SPORT_NOUN.get(sport, f"{sport} player") for sport in verdict.sports)
    profile = verdict.profile
    context["not"] = (
        f"the {who or 'athlete'}{' of ' + ', '.join(verdict.teams) if verdict.teams else ''} "
        f"whose {profile.platform} account ({profile.followers:,} followers"
        f"{', verified' if profile.verified else ''}) has the bio {profile.bio!r}")
    return context


def _sport(record: RecordFacts, bio: _Bio) -> list[tuple[float, str]]:
    if not bio.sports or record.sport.casefold() in bio.sports:
        return []
    named = " and ".join(repr(s) for s in sorted(bio.sports))
    return [(SPORT_WEIGHT, f"bio names sport {named}, record says {record.sport!r}")]


def _team(record: RecordFacts, bio: _Bio, text: str) -> list[tuple[float, str]]:
    """A team the record lacks is no evidence, nor is a bio that spells the record's team."""
    if not record.team or not bio.teams:
        return []
    team = " ".join(record.team.split())
    if team.casefold() in {t.casefold() for t in bio.teams} or re.search(
            rf"(?<!\w){re.escape(team)}(?!\w)", " ".join(text.split()), re.IGNORECASE):
        return []
    named = " and ".join(repr(t) for t in sorted(bio.teams))
    if bio.past:
        return [(FORMER_TEAM_WEIGHT,
                 f"bio names team {named} in the past tense, record says {record.team!r}")]
    return [(TEAM_WEIGHT, f"bio names team {named}, record says {record.team!r}")]


def _league(record: RecordFacts, bio: _Bio) -> list[tuple[float, str]]:
    if not record.league or not bio.leagues:
        return []
    if record.league.casefold() in {league.casefold() for league in bio.leagues}:
        return []
    named = " and ".join(repr(t) for t in sorted(bio.leagues))
    return [(LEAGUE_WEIGHT, f"bio names league {named}, record says {record.league!r}")]


def _country(record: RecordFacts, bio: _Bio) -> list[tuple[float, str]]:
    if not record.country or not bio.countries or record.country.upper() in bio.countries:
        return []
    named = " and ".join(repr(c) for c in sorted(bio.countries))
    return [(COUNTRY_WEIGHT, f"bio names country {named}, record says {record.country!r}")]


def _audience(profile: ProfileText,
              others: Sequence[ProfileText]) -> list[tuple[float, str]]:
    yardstick = [p.followers for p in others if p.platform != profile.platform]
    if not yardstick:
        return []
    typical = max(1.0, statistics.median(yardstick))
    ratio = max(profile.followers, 1) / typical
    if 1 / AUDIENCE_RATIO < ratio < AUDIENCE_RATIO:
        return []
    return [(AUDIENCE_WEIGHT, f"{profile.followers:,} followers against a median of "
                              f"{typical:,.0f} on the athlete's other accepted profiles")]
