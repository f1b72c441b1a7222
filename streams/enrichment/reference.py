"""Reference data of the namesake check: sports, leagues and teams, as bios name them.

The namesake check (:mod:`streams.enrichment.namesake`) reads a fetched profile's bio for the
sport, league and team it names, so it needs the real competitions' vocabulary: each league's
code as the ingest stage normalises it (``NBA``, ``Premier League``), its canonical sport (as
``streams.records.core`` produces it: ``sport.lower()`` after its alias table) and its clubs,
and what athletes of each sport call themselves. These are facts about the world of sport, not
about our simulator; the simulated world (``streams.world``) draws its athletes from them, never
the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class League:
    """One competition: its code, its sport and its clubs (empty for individual tours)."""

    code: str
    sport: str
    teams: tuple[str, ...] = ()


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

LEAGUES: tuple[League, ...] = (
    League("NBA", "basketball", _NBA),
    League("WNBA", "basketball", _WNBA),
    League("NFL", "american football", _NFL),
    League("MLB", "baseball", _MLB),
    League("NHL", "ice hockey", _NHL),
    League("Premier League", "soccer", _EPL),
    League("La Liga", "soccer", _LALIGA),
    League("Serie A", "soccer", _SERIEA),
    League("Bundesliga", "soccer", _BUNDESLIGA),
    League("MLS", "soccer", _MLS),
    League("NWSL", "soccer", _NWSL),
    League("ATP", "tennis"),
    League("WTA", "tennis"),
    League("PGA Tour", "golf"),
    League("LPGA", "golf"),
    League("F1", "formula one", _F1),
)
LEAGUE_BY_CODE = {league.code: league for league in LEAGUES}
