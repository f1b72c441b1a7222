"""Sports, leagues, teams, positions and where their players come from.

The simulated feed needs the shape of real sports data: team leagues and individual tours, men's
and women's competitions (a name's gender must fit its league), national mixes that differ by
league (the NHL is Canadian, La Liga Spanish), and sport names in the canonical form the ingest
stage produces (``sport.lower()`` after its alias table), so truth compares with records as is.
Team names are real clubs; the athletes are invented.
"""

from __future__ import annotations

from dataclasses import dataclass

import pycountry


@dataclass(frozen=True, slots=True)
class League:
    """One competition and what an athlete in it looks like.

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
# What athletes of a sport call themselves in a bio.
SPORT_NOUN = {
    "basketball": "basketball player", "american football": "football player",
    "soccer": "footballer", "baseball": "baseball player", "ice hockey": "hockey player",
    "tennis": "tennis player", "athletics": "athlete", "golf": "golfer",
    "formula one": "racing driver",
}

_NBA = (
    "Atlanta Hawks", "Boston Celtics", "Brooklyn Nets", "Charlotte Hornets", "Chicago Bulls",
    "Cleveland Cavaliers", "Dallas Mavericks", "Denver Nuggets", "Detroit Pistons",
    "Golden State Warriors", "Houston Rockets", "Indiana Pacers", "Los Angeles Clippers",
    "Los Angeles Lakers", "Memphis Grizzlies", "Miami Heat", "Milwaukee Bucks",
    "Minnesota Timberwolves", "New Orleans Pelicans", "New York Knicks",
    "Oklahoma City Thunder", "Orlando Magic", "Philadelphia 76ers", "Phoenix Suns",
    "Portland Trail Blazers", "Sacramento Kings", "San Antonio Spurs", "Toronto Raptors",
    "Utah Jazz", "Washington Wizards",
)
_WNBA = (
    "Atlanta Dream", "Chicago Sky", "Connecticut Sun", "Dallas Wings", "Golden State Valkyries",
    "Indiana Fever", "Las Vegas Aces", "Los Angeles Sparks", "Minnesota Lynx", "New York Liberty",
    "Phoenix Mercury", "Seattle Storm", "Washington Mystics",
)
_NFL = (
    "Arizona Cardinals", "Atlanta Falcons", "Baltimore Ravens", "Buffalo Bills",
    "Carolina Panthers", "Chicago Bears", "Cincinnati Bengals", "Cleveland Browns",
    "Dallas Cowboys", "Denver Broncos", "Detroit Lions", "Green Bay Packers", "Houston Texans",
    "Indianapolis Colts", "Jacksonville Jaguars", "Kansas City Chiefs", "Las Vegas Raiders",
    "Los Angeles Chargers", "Los Angeles Rams", "Miami Dolphins", "Minnesota Vikings",
    "New England Patriots", "New Orleans Saints", "New York Giants", "New York Jets",
    "Philadelphia Eagles", "Pittsburgh Steelers", "San Francisco 49ers", "Seattle Seahawks",
    "Tampa Bay Buccaneers", "Tennessee Titans", "Washington Commanders",
)
_MLB = (
    "Arizona Diamondbacks", "Atlanta Braves", "Baltimore Orioles", "Boston Red Sox",
    "Chicago Cubs", "Chicago White Sox", "Cincinnati Reds", "Cleveland Guardians",
    "Colorado Rockies", "Detroit Tigers", "Houston Astros", "Kansas City Royals",
    "Los Angeles Angels", "Los Angeles Dodgers", "Miami Marlins", "Milwaukee Brewers",
    "Minnesota Twins", "New York Mets", "New York Yankees", "Athletics",
    "Philadelphia Phillies", "Pittsburgh Pirates", "San Diego Padres", "San Francisco Giants",
    "Seattle Mariners", "St. Louis Cardinals", "Tampa Bay Rays", "Texas Rangers",
    "Toronto Blue Jays", "Washington Nationals",
)
_NHL = (
    "Anaheim Ducks", "Boston Bruins", "Buffalo Sabres", "Calgary Flames", "Carolina Hurricanes",
    "Chicago Blackhawks", "Colorado Avalanche", "Columbus Blue Jackets", "Dallas Stars",
    "Detroit Red Wings", "Edmonton Oilers", "Florida Panthers", "Los Angeles Kings",
    "Minnesota Wild", "Montreal Canadiens", "Nashville Predators", "New Jersey Devils",
    "New York Islanders", "New York Rangers", "Ottawa Senators", "Philadelphia Flyers",
    "Pittsburgh Penguins", "San Jose Sharks", "Seattle Kraken", "St. Louis Blues",
    "Tampa Bay Lightning", "Toronto Maple Leafs", "Utah Mammoth", "Vancouver Canucks",
    "Vegas Golden Knights", "Washington Capitals", "Winnipeg Jets",
)
_EPL = (
    "Arsenal", "Aston Villa", "Bournemouth", "Brentford", "Brighton & Hove Albion", "Burnley",
    "Chelsea", "Crystal Palace", "Everton", "Fulham", "Leeds United", "Liverpool",
    "Manchester City", "Manchester United", "Newcastle United", "Nottingham Forest",
    "Sunderland", "Tottenham Hotspur", "West Ham United", "Wolverhampton Wanderers",
)
_LALIGA = (
    "Athletic Club", "Atletico Madrid", "Barcelona", "Celta Vigo", "Deportivo Alaves", "Elche",
    "Espanyol", "Getafe", "Girona", "Levante", "Mallorca", "Osasuna", "Rayo Vallecano",
    "Real Betis", "Real Madrid", "Real Oviedo", "Real Sociedad", "Sevilla", "Valencia",
    "Villarreal",
)
_SERIEA = (
    "AC Milan", "Atalanta", "Bologna", "Cagliari", "Como", "Cremonese", "Fiorentina", "Genoa",
    "Hellas Verona", "Inter Milan", "Juventus", "Lazio", "Lecce", "Napoli", "Parma", "Pisa",
    "Roma", "Sassuolo", "Torino", "Udinese",
)
_BUNDESLIGA = (
    "Augsburg", "Bayer Leverkusen", "Bayern Munich", "Borussia Dortmund",
    "Borussia Monchengladbach", "Eintracht Frankfurt", "FC Koln", "Freiburg", "Hamburger SV",
    "Heidenheim", "Hoffenheim", "Mainz 05", "RB Leipzig", "St. Pauli", "Union Berlin",
    "Werder Bremen", "Wolfsburg", "VfB Stuttgart",
)
_MLS = (
    "Atlanta United", "Austin FC", "CF Montreal", "Charlotte FC", "Chicago Fire", "Colorado Rapids",
    "Columbus Crew", "D.C. United", "FC Cincinnati", "FC Dallas", "Houston Dynamo",
    "Inter Miami", "LA Galaxy", "Los Angeles FC", "Minnesota United", "Nashville SC",
    "New England Revolution", "New York City FC", "New York Red Bulls", "Orlando City",
    "Philadelphia Union", "Portland Timbers", "Real Salt Lake", "San Diego FC",
    "San Jose Earthquakes", "Seattle Sounders", "Sporting Kansas City", "St. Louis City SC",
    "Toronto FC", "Vancouver Whitecaps",
)
_NWSL = (
    "Angel City FC", "Bay FC", "Chicago Stars", "Houston Dash", "Kansas City Current",
    "NJ/NY Gotham FC", "North Carolina Courage", "Orlando Pride", "Portland Thorns",
    "Racing Louisville", "San Diego Wave", "Seattle Reign", "Utah Royals", "Washington Spirit",
)
_F1 = (
    "Alpine", "Aston Martin", "Ferrari", "Haas", "McLaren", "Mercedes", "Racing Bulls",
    "Red Bull Racing", "Sauber", "Williams",
)
_SOCCER_POSITIONS = ("Goalkeeper", "Defender", "Centre-back", "Full-back", "Midfielder",
                     "Winger", "Forward", "Striker")
_BASKETBALL_POSITIONS = ("Point guard", "Shooting guard", "Small forward", "Power forward",
                         "Center")
_EUROPE_MIX = (("FR", 6), ("BR", 6), ("AR", 5), ("PT", 4), ("NL", 4), ("BE", 3), ("HR", 2),
               ("RS", 2), ("SN", 2), ("NG", 2), ("DK", 2), ("CO", 1), ("JP", 1), ("KR", 1),
               ("US", 1), ("MA", 2), ("CI", 2), ("PL", 2), ("SE", 1), ("NO", 1), ("UY", 2))

LEAGUES: tuple[League, ...] = (
    League("NBA", "basketball", "m", 10, "nba", _NBA, _BASKETBALL_POSITIONS,
           (("US", 72), ("CA", 5), ("FR", 4), ("AU", 3), ("DE", 2), ("RS", 2), ("GR", 1),
            ("NG", 2), ("ES", 2), ("SI", 1), ("LT", 1), ("TR", 1), ("JP", 1), ("CM", 1)), True),
    League("WNBA", "basketball", "f", 4, "wnba", _WNBA, _BASKETBALL_POSITIONS,
           (("US", 85), ("AU", 4), ("CA", 3), ("FR", 2), ("ES", 2), ("BE", 2), ("JP", 1)),
           True),
    League("NFL", "american football", "m", 18, "nfl", _NFL,
           ("Quarterback", "Running back", "Wide receiver", "Tight end", "Offensive tackle",
            "Guard", "Center", "Defensive end", "Defensive tackle", "Linebacker", "Cornerback",
            "Safety", "Kicker", "Punter"),
           (("US", 96), ("CA", 1), ("GB", 1), ("DE", 1), ("AU", 1), ("NG", 1)), True),
    League("MLB", "baseball", "m", 14, "mlb", _MLB,
           ("Pitcher", "Catcher", "First baseman", "Second baseman", "Third baseman",
            "Shortstop", "Left fielder", "Center fielder", "Right fielder",
            "Designated hitter"),
           (("US", 68), ("DO", 11), ("VE", 7), ("PR", 3), ("CU", 3), ("JP", 2), ("MX", 2),
            ("CA", 2), ("KR", 1), ("CO", 1)), True),
    League("NHL", "ice hockey", "m", 11, "nhl", _NHL,
           ("Center", "Left wing", "Right wing", "Defenseman", "Goaltender"),
           (("CA", 42), ("US", 28), ("SE", 9), ("FI", 5), ("RU", 5), ("CZ", 4), ("CH", 2),
            ("DE", 2), ("SK", 2)), True),
    League("Premier League", "soccer", "m", 7, "epl", _EPL, _SOCCER_POSITIONS,
           (("GB", 35), ("ES", 4), ("IE", 3), ("NO", 2), *_EUROPE_MIX), True),
    League("La Liga", "soccer", "m", 5, "laliga", _LALIGA, _SOCCER_POSITIONS,
           (("ES", 60), ("AR", 6), ("FR", 5), ("BR", 5), ("UY", 3), ("CO", 3), ("MA", 3),
            ("PT", 3), ("NL", 1), ("MX", 2)), True),
    League("Serie A", "soccer", "m", 4, "seriea", _SERIEA, _SOCCER_POSITIONS,
           (("IT", 45), ("ES", 3), ("DE", 2), ("CH", 2), *_EUROPE_MIX), True),
    League("Bundesliga", "soccer", "m", 4, "bundesliga", _BUNDESLIGA, _SOCCER_POSITIONS,
           (("DE", 50), ("AT", 6), ("CH", 4), ("US", 2), ("JP", 3), *_EUROPE_MIX), True),
    League("MLS", "soccer", "m", 6, "mls", _MLS, _SOCCER_POSITIONS,
           (("US", 45), ("CA", 5), ("AR", 6), ("CO", 5), ("MX", 5), ("BR", 3), ("VE", 3),
            ("GB", 3), ("ES", 2), ("FR", 1), ("JM", 2), ("GH", 1)), True),
    League("NWSL", "soccer", "f", 3, "nwsl", _NWSL, _SOCCER_POSITIONS,
           (("US", 75), ("CA", 6), ("AU", 4), ("GB", 3), ("JP", 2), ("BR", 2), ("ES", 1),
            ("NG", 1), ("MX", 1)), True),
    League("ATP", "tennis", "m", 3, "atp", (), ("Singles", "Doubles"),
           (("ES", 8), ("IT", 8), ("FR", 8), ("US", 10), ("DE", 5), ("RS", 3), ("RU", 5),
            ("AU", 5), ("AR", 6), ("GB", 4), ("GR", 1), ("NO", 1), ("CA", 3), ("JP", 2),
            ("CH", 2), ("CZ", 3), ("PL", 2), ("CL", 2), ("KZ", 2)), False),
    League("WTA", "tennis", "f", 3, "wta", (), ("Singles", "Doubles"),
           (("US", 12), ("CZ", 7), ("PL", 3), ("BY", 3), ("RU", 7), ("FR", 5), ("IT", 4),
            ("ES", 4), ("CN", 5), ("JP", 3), ("UA", 4), ("GB", 3), ("AU", 3), ("TN", 1),
            ("KZ", 2), ("CA", 2), ("DE", 3)), False),
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
    League("PGA Tour", "golf", "m", 2, "pga", (), ("Professional",),
           (("US", 60), ("GB", 6), ("IE", 3), ("ES", 3), ("AU", 5), ("KR", 4), ("JP", 4),
            ("ZA", 4), ("SE", 3), ("NO", 2), ("CA", 3), ("CO", 1)), False),
    League("LPGA", "golf", "f", 2, "lpga", (), ("Professional",),
           (("KR", 25), ("US", 35), ("JP", 10), ("TH", 6), ("AU", 4), ("CN", 4), ("GB", 3),
            ("ES", 2), ("SE", 3), ("CA", 2), ("NZ", 1)), False),
    League("F1", "formula one", "m", 0.5, "f1", _F1, ("Driver", "Reserve driver"),
           (("GB", 6), ("NL", 2), ("ES", 2), ("MX", 1), ("MC", 1), ("FR", 3), ("DE", 2),
            ("AU", 2), ("CA", 1), ("JP", 1), ("TH", 1), ("FI", 1), ("DK", 1), ("IT", 1),
            ("NZ", 1), ("AR", 1), ("BR", 1)), True),
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
