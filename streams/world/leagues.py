"""The leagues the simulated world draws its athletes from, and how its feed spells sports.

The simulated feed needs the shape of real sports data: team leagues and individual tours, men's
and women's competitions (a name's gender must fit its league), national mixes that differ by
league (the NHL is Canadian, La Liga Spanish), and sport names in the canonical form the ingest
stage produces (``sport.lower()`` after its alias table), so truth compares with records as is.
The leagues' codes, sports and real club names are production reference data
(:mod:`streams.enrichment.reference`, which the namesake check reads); this module adds what
only the simulator needs: shares, nationalities, positions, id prefixes. The athletes are
invented.
"""

from __future__ import annotations

from dataclasses import dataclass

import pycountry

from streams.enrichment.reference import LEAGUE_BY_CODE


@dataclass(frozen=True, slots=True)
class League:
    """One competition as the simulated world draws athletes for it.

    Code, sport and teams come from the reference data (:mod:`streams.enrichment.reference`);
    the rest is the simulator's own mix.

    Attributes
    ----------
    code:
        The league as the ingest stage normalises it (``NBA``, ``Premier League``), or None for
        sports whose athletes belong to no league in the feed (athletics).
    sport:
        Canonical sport name, as ``streams.records.core`` produces it.
    gender:
        ``"m"`` or ``"f"``: decides the pool of first names.
    weight:
        Relative share of the world's athletes.
    prefix:
        The provider's id prefix for this league's athletes (``nba-0042``).
    teams:
        Club names; empty for individual sports.
    positions:
        Positions (or events, for athletics) an athlete may hold.
    countries:
        ``(alpha-2, weight)`` pairs: where the league's players come from.
    numbered:
        Whether athletes wear a shirt number (it shows up in handles like ``antdavis23``).
    """

    code: str | None
    sport: str
    gender: str
    weight: float
    prefix: str
    teams: tuple[str, ...]
    positions: tuple[str, ...]
    countries: tuple[tuple[str, float], ...]
    numbered: bool


# How the feed spells each canonical sport, and the aliases ingest maps back to it.
SPORT_DISPLAY = {
    "basketball": "Basketball", "american football": "American Football", "soccer": "Soccer",
    "baseball": "Baseball", "ice hockey": "Ice Hockey", "tennis": "Tennis",
    "athletics": "Athletics", "golf": "Golf", "formula one": "Formula One",
}
SPORT_ALIASES = {
    "american football": ("Football (American)", "NFL Football", "Gridiron"),
    "soccer": ("Association Football",),
    "ice hockey": ("Hockey",),
    "basketball": ("Basket",),
}


def _drawn(code: str, gender: str, weight: float, prefix: str, positions: tuple[str, ...], *,
           countries: tuple[tuple[str, float], ...], numbered: bool) -> League:
    """A reference league with the simulator's mix for it."""
    known = LEAGUE_BY_CODE[code]
    return League(code, known.sport, gender, weight, prefix, known.teams, positions, countries,
                  numbered)


_SOCCER_POSITIONS = ("Goalkeeper", "Defender", "Centre-back", "Full-back", "Midfielder",
                     "Winger", "Forward", "Striker")
_BASKETBALL_POSITIONS = ("Point guard", "Shooting guard", "Small forward", "Power forward",
                         "Center")
_EUROPE_MIX = (("FR", 6), ("BR", 6), ("AR", 5), ("PT", 4), ("NL", 4), ("BE", 3), ("HR", 2),
               ("RS", 2), ("SN", 2), ("NG", 2), ("DK", 2), ("CO", 1), ("JP", 1), ("KR", 1),
               ("US", 1), ("MA", 2), ("CI", 2), ("PL", 2), ("SE", 1), ("NO", 1), ("UY", 2))

LEAGUES: tuple[League, ...] = (
    _drawn("NBA", "m", 10, "nba", _BASKETBALL_POSITIONS,
           numbered=True, countries=(
               ("US", 72), ("CA", 5), ("FR", 4), ("AU", 3), ("DE", 2), ("RS", 2), ("GR", 1),
               ("NG", 2), ("ES", 2), ("SI", 1), ("LT", 1), ("TR", 1), ("JP", 1), ("CM", 1))),
    _drawn("WNBA", "f", 4, "wnba", _BASKETBALL_POSITIONS,
           numbered=True, countries=(
               ("US", 85), ("AU", 4), ("CA", 3), ("FR", 2), ("ES", 2), ("BE", 2), ("JP", 1))),
    _drawn("NFL", "m", 18, "nfl",
           ("Quarterback", "Running back", "Wide receiver", "Tight end", "Offensive tackle",
            "Guard", "Center", "Defensive end", "Defensive tackle", "Linebacker", "Cornerback",
            "Safety", "Kicker", "Punter"),
           numbered=True, countries=(
               ("US", 96), ("CA", 1), ("GB", 1), ("DE", 1), ("AU", 1), ("NG", 1))),
    _drawn("MLB", "m", 14, "mlb",
           ("Pitcher", "Catcher", "First baseman", "Second baseman", "Third baseman",
            "Shortstop", "Left fielder", "Center fielder", "Right fielder",
            "Designated hitter"),
           numbered=True, countries=(
               ("US", 68), ("DO", 11), ("VE", 7), ("PR", 3), ("CU", 3), ("JP", 2), ("MX", 2),
               ("CA", 2), ("KR", 1), ("CO", 1))),
    _drawn("NHL", "m", 11, "nhl",
           ("Center", "Left wing", "Right wing", "Defenseman", "Goaltender"),
           numbered=True, countries=(
               ("CA", 42), ("US", 28), ("SE", 9), ("FI", 5), ("RU", 5), ("CZ", 4), ("CH", 2),
               ("DE", 2), ("SK", 2))),
    _drawn("Premier League", "m", 7, "epl", _SOCCER_POSITIONS,
           numbered=True, countries=(
               ("GB", 35), ("ES", 4), ("IE", 3), ("NO", 2), *_EUROPE_MIX)),
    _drawn("La Liga", "m", 5, "laliga", _SOCCER_POSITIONS,
           numbered=True, countries=(
               ("ES", 60), ("AR", 6), ("FR", 5), ("BR", 5), ("UY", 3), ("CO", 3), ("MA", 3),
               ("PT", 3), ("NL", 1), ("MX", 2))),
    _drawn("Serie A", "m", 4, "seriea", _SOCCER_POSITIONS,
           numbered=True, countries=(
               ("IT", 45), ("ES", 3), ("DE", 2), ("CH", 2), *_EUROPE_MIX)),
    _drawn("Bundesliga", "m", 4, "bundesliga", _SOCCER_POSITIONS,
           numbered=True, countries=(
               ("DE", 50), ("AT", 6), ("CH", 4), ("US", 2), ("JP", 3), *_EUROPE_MIX)),
    _drawn("MLS", "m", 6, "mls", _SOCCER_POSITIONS,
           numbered=True, countries=(
               ("US", 45), ("CA", 5), ("AR", 6), ("CO", 5), ("MX", 5), ("BR", 3), ("VE", 3),
               ("GB", 3), ("ES", 2), ("FR", 1), ("JM", 2), ("GH", 1))),
    _drawn("NWSL", "f", 3, "nwsl", _SOCCER_POSITIONS,
           numbered=True, countries=(
               ("US", 75), ("CA", 6), ("AU", 4), ("GB", 3), ("JP", 2), ("BR", 2), ("ES", 1),
               ("NG", 1), ("MX", 1))),
    _drawn("ATP", "m", 3, "atp", ("Singles", "Doubles"),
           numbered=False, countries=(
               ("ES", 8), ("IT", 8), ("FR", 8), ("US", 10), ("DE", 5), ("RS", 3), ("RU", 5),
               ("AU", 5), ("AR", 6), ("GB", 4), ("GR", 1), ("NO", 1), ("CA", 3), ("JP", 2),
               ("CH", 2), ("CZ", 3), ("PL", 2), ("CL", 2), ("KZ", 2))),
    _drawn("WTA", "f", 3, "wta", ("Singles", "Doubles"),
           numbered=False, countries=(
               ("US", 12), ("CZ", 7), ("PL", 3), ("BY", 3), ("RU", 7), ("FR", 5), ("IT", 4),
               ("ES", 4), ("CN", 5), ("JP", 3), ("UA", 4), ("GB", 3), ("AU", 3), ("TN", 1),
               ("KZ", 2), ("CA", 2), ("DE", 3))),
    League(None, "athletics", "m", 2, "ath", (),
           ("100m", "200m", "400m", "800m", "1500m", "5000m", "Marathon", "110m hurdles",
            "High jump", "Long jump", "Pole vault", "Shot put", "Javelin", "Decathlon"),
           (("US", 20), ("JM", 8), ("KE", 8), ("ET", 6), ("GB", 5), ("SE", 2), ("NO", 3),
            ("NL", 3), ("CA", 3), ("NG", 3), ("JP", 3), ("FR", 3), ("DE", 3), ("IT", 3),
            ("UG", 2), ("BR", 2)), False),
    League(None, "athletics", "f", 2, "ath", (),
           ("100m", "200m", "400m", "800m", "1500m", "10000m", "Marathon", "100m hurdles",
            "High jump", "Long jump", "Triple jump", "Pole vault", "Discus", "Heptathlon"),
           (("US", 20), ("JM", 9), ("KE", 8), ("ET", 7), ("GB", 5), ("NL", 3), ("NO", 2),
            ("CA", 2), ("NG", 3), ("JP", 2), ("FR", 2), ("DE", 3), ("AU", 3), ("PL", 2)),
           False),
    _drawn("PGA Tour", "m", 2, "pga", ("Professional",),
           numbered=False, countries=(
               ("US", 60), ("GB", 6), ("IE", 3), ("ES", 3), ("AU", 5), ("KR", 4), ("JP", 4),
               ("ZA", 4), ("SE", 3), ("NO", 2), ("CA", 3), ("CO", 1))),
    _drawn("LPGA", "f", 2, "lpga", ("Professional",),
           numbered=False, countries=(
               ("KR", 25), ("US", 35), ("JP", 10), ("TH", 6), ("AU", 4), ("CN", 4), ("GB", 3),
               ("ES", 2), ("SE", 3), ("CA", 2), ("NZ", 1))),
    _drawn("F1", "m", 0.5, "f1", ("Driver", "Reserve driver"),
           numbered=True, countries=(
               ("GB", 6), ("NL", 2), ("ES", 2), ("MX", 1), ("MC", 1), ("FR", 3), ("DE", 2),
               ("AU", 2), ("CA", 1), ("JP", 1), ("TH", 1), ("FI", 1), ("DK", 1), ("IT", 1),
               ("NZ", 1), ("AR", 1), ("BR", 1))),
)

# How much readers care about a sport: a factor of the hidden page-views function.
SPORT_INTEREST = {
    "basketball": 1.3, "american football": 1.4, "soccer": 1.5, "baseball": 1.0,
    "ice hockey": 0.9, "tennis": 1.1, "athletics": 0.8, "golf": 0.8, "formula one": 1.6,
}


def country_name(code: str) -> str:
    """The everyday English name of an ISO alpha-2 country (``South Korea``, not ``Korea, ...``)."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise KeyError(f"unknown country code {code!r}")
    return str(getattr(country, "common_name", None) or country.name)
