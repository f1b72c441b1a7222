"""Generate a whole simulated world from a configuration, deterministically.

Each part of the world draws from its own ``random.Random`` seeded with the configuration's seed
and the part's name, never from the global generator or the clock. Changing, say, the size of the
crowd therefore leaves the athletes as they were.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from streams.handles import PLATFORMS
from streams.world.accounts import HandleRegistry, candidates, is_canonical
from streams.world.leagues import LEAGUES, League, country_name
from streams.world.model import (
    FAME_MEDIAN,
    FAME_SIGMA,
    Athlete,
    GoldAnswer,
    Profile,
    World,
    WorldConfig,
)
from streams.world.names import NamePool, name_pools, region_of
from streams.world.profiles import bio, make_profile, page_views_per_post
from streams.world.provider import provider_rows
from streams.world.workers import make_workers

# Chance of having no account on a platform for an athlete of median fame; obscure athletes
# lack accounts more often and stars almost never (overall about 25%, 10% and 30%).
_NO_ACCOUNT = {"twitter": 0.20, "instagram": 0.09, "facebook": 0.25}
# Namesakes: how much more famous the famous one is at least, and how often the other one plays
# a different sport (otherwise another team of the same league).
_NAMESAKE_FAME_RATIO = 10.0
_NAMESAKE_OTHER_SPORT = 0.75
# Chance that an athlete reuses one platform's handle on the next one (kingjames everywhere).
_REUSE = {"instagram": 0.45, "facebook": 0.30}
_MAX_NAME_TRIES = 200


@dataclass(frozen=True, slots=True)
class _Draft:
    """An athlete before ids and handles: what the name and career drawing decides."""

    name: str
    league: League
    team: str | None
    country: str
    position: str
    start: int
    end: int
    number: str
    fame: float


def generate_world(config: WorldConfig) -> World:
    """The world ``config`` describes; the same configuration always gives an equal world."""
    drafts = _drafts(config, _rng(config, "athletes"))
    refs = _refs(drafts)
    handles = _handles(drafts, refs, _rng(config, "handles"))
    athletes, profiles = _athletes(config, drafts, refs, handles, _rng(config, "profiles"))
    rows = provider_rows(athletes, config, _rng(config, "provider"))
    valid = sorted({row.fields["id"] for row in rows if row.rejection is None})
    gold_rng = _rng(config, "gold")
    gold_refs = sorted(gold_rng.sample(valid, min(len(valid), round(config.gold_rate
                                                                     * config.athletes))))
    by_ref = {a.ref: a for a in athletes}
    gold = tuple(GoldAnswer(ref, platform, by_ref[ref].handles[platform])
                 for ref in gold_refs for platform in PLATFORMS)
    star = max(athletes, key=lambda a: a.fame if a.handles["twitter"] else 0.0)
    workers = make_workers(config, star.handles["twitter"] or "", _rng(config, "workers"))
    return World(config=config, athletes=tuple(sorted(athletes, key=lambda a: a.ref)),
                 profiles=tuple(profiles), workers=workers, provider_rows=rows, gold=gold)


def _rng(config: WorldConfig, part: str) -> random.Random:
    return random.Random(f"crowdlog-world|{config.seed}|{part}")


def _drafts(config: WorldConfig, rng: random.Random) -> list[_Draft]:
    """Athletes with unique names, then the namesake twins, shuffled together."""
    pools = name_pools()
    taken: set[str] = set()
    pairs = round(config.athletes * config.namesake_rate / 2)
    drafts = [_draft(rng, pools, taken, config.as_of.year)
              for _ in range(config.athletes - pairs)]
    for index in rng.sample(range(len(drafts)), pairs):
        original = drafts[index]
        twin = _twin(original, rng, config.as_of.year)
        drafts[index], twin = _contrast_fame(original, twin, rng)
        drafts.append(twin)
    rng.shuffle(drafts)
    return drafts


def _draft(rng: random.Random, pools: dict[str, NamePool], taken: set[str], year: int) -> _Draft:
    league = rng.choices(LEAGUES, weights=[lg.weight for lg in LEAGUES])[0]
    country = _weighted(league.countries, rng)
    pool = pools[region_of(country)]
    for attempt in range(_MAX_NAME_TRIES):
        if attempt >= _MAX_NAME_TRIES // 2:  # the region's names are used up: borrow
            pool = pools[rng.choice(sorted(pools))]
        first = rng.choice(pool.male if league.gender == "m" else pool.female)
        name = f"{first} {rng.choice(pool.last)}"
        if name not in taken:
            taken.add(name)
            break
    else:
        raise ValueError("ran out of distinct names: generate fewer athletes")
    return _career(name, league, country, rng, year)


def _career(name: str, league: League, country: str, rng: random.Random, year: int) -> _Draft:
    """Team, position, active years, shirt number and fame of one athlete."""
    length = min(20, 1 + int(rng.expovariate(1 / 5)))
    end = year - rng.randint(1, 6) if rng.random() < 0.15 else year
    start = end - length + 1
    number = (str(rng.randint(0, 99)) if league.numbered
              else f"{(start - rng.randint(18, 23)) % 100:02d}")
    return _Draft(
        name=name,
        league=league,
        team=rng.choice(league.teams) if league.teams else None,
        country=country,
        position=rng.choice(league.positions),
        start=start,
        end=end,
        number=number,
        fame=round(rng.lognormvariate(math.log(FAME_MEDIAN), FAME_SIGMA), 1),
    )


def _twin(original: _Draft, rng: random.Random, year: int) -> _Draft:
    """Another athlete with the same name, in another sport or on another team."""
    league = original.league
    same_gender = [lg for lg in LEAGUES if lg.gender == league.gender]
    other_sport = [lg for lg in same_gender if lg.sport != league.sport]
    if len(league.teams) > 1 and rng.random() >= _NAMESAKE_OTHER_SPORT:
        twin = _career(original.name, league, _weighted(league.countries, rng), rng, year)
        teams = [t for t in league.teams if t != original.team]
        return replace(twin, team=rng.choice(teams))
    chosen = rng.choices(other_sport, weights=[lg.weight for lg in other_sport])[0]
    return _career(original.name, chosen, _weighted(chosen.countries, rng), rng, year)


def _contrast_fame(one: _Draft, other: _Draft, rng: random.Random) -> tuple[_Draft, _Draft]:
    """Make one namesake clearly more famous, as with the NBA and NFL Anthony Davis."""
    high, low = max(one.fame, other.fame), min(one.fame, other.fame)
    if high >= low * _NAMESAKE_FAME_RATIO:
        return one, other
    low = round(high / rng.uniform(_NAMESAKE_FAME_RATIO, 6 * _NAMESAKE_FAME_RATIO), 1)
    if one.fame >= other.fame:
        return one, replace(other, fame=low)
    return replace(one, fame=low), other


def _refs(drafts: list[_Draft]) -> list[str]:
    """Provider ids in the feed's style: league prefix and a running number (``nba-0042``)."""
    counters: dict[str, int] = {}
    refs = []
    for draft in drafts:
        counters[draft.league.prefix] = counters.get(draft.league.prefix, 0) + 1
        refs.append(f"{draft.league.prefix}-{counters[draft.league.prefix]:04d}")
    return refs


def _handles(drafts: list[_Draft], refs: list[str],
             rng: random.Random) -> dict[str, dict[str, str | None]]:
    """Who has an account where, and the handle, claimed in descending order of fame."""
    registry = HandleRegistry()
    result: dict[str, dict[str, str | None]] = {}
    for index in sorted(range(len(drafts)), key=lambda i: (-drafts[i].fame, refs[i])):
        draft = drafts[index]
        z = math.log(draft.fame / FAME_MEDIAN) / FAME_SIGMA
        handles: dict[str, str | None] = {}
        for platform in PLATFORMS:
            if rng.random() < min(0.85, _NO_ACCOUNT[platform] * math.exp(-0.6 * z)):
                handles[platform] = None
                continue
            reusable = [h for h in handles.values() if h and is_canonical(platform, h)
                        and registry.free(platform, h)]
            if reusable and rng.random() < _REUSE.get(platform, 0.0):
                wanted = reusable[-1:]
            else:
                wanted = candidates(draft.name, platform, draft.number, draft.league.code, rng)
            handles[platform] = registry.claim(platform, wanted, draft.name, rng)
        result[refs[index]] = handles
    return result


def _athletes(config: WorldConfig, drafts: list[_Draft], refs: list[str],
              handles: dict[str, dict[str, str | None]],
              rng: random.Random) -> tuple[list[Athlete], list[Profile]]:
    """Athletes with their profiles and the page views those profiles drive."""
    by_name: dict[str, list[str]] = {}
    for draft, ref in zip(drafts, refs, strict=True):
        by_name.setdefault(draft.name, []).append(ref)
    athletes, profiles = [], []
    for draft, ref in sorted(zip(drafts, refs, strict=True), key=lambda pair: pair[1]):
        own = []
        for platform in PLATFORMS:
            handle = handles[ref][platform]
            if handle is None:
                continue
            text = bio(draft.name, sport=draft.league.sport, league=draft.league.code,
                       team=draft.team, position=draft.position,
                       country_name=country_name(draft.country),
                       retired=draft.end < config.as_of.year, rng=rng)
            own.append(make_profile(ref, platform, handle, fame=draft.fame,
                                    career_years=draft.end - draft.start + 1, bio_text=text,
                                    rng=rng))
        namesakes = [other for other in by_name[draft.name] if other != ref]
        athletes.append(Athlete(
            ref=ref, name=draft.name, sport=draft.league.sport, league=draft.league.code,
            team=draft.team, country=draft.country, position=draft.position,
            years=f"{draft.start}-{draft.end}", fame=draft.fame, handles=handles[ref],
            namesake_of=namesakes[0] if namesakes else None,
            page_views_per_post=page_views_per_post(own, draft.league.sport, rng),
        ))
        profiles.extend(own)
    return athletes, profiles


def _weighted(options: tuple[tuple[str, float], ...], rng: random.Random) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]
