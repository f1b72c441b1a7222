"""Platform profiles of existing accounts, and the hidden page views they drive.

A profile is what the enrichment stage can fetch: counts, a verified flag, a category and a bio
that names the sport and team, so a profile of the wrong namesake contradicts its record. The
prediction stage learns page views per post from these features; the true value follows the
documented function ``page_views_per_post`` plus noise and is kept only in the truth files.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from streams.enrichment.reference import SPORT_NOUN
from streams.world.leagues import SPORT_INTEREST
from streams.world.model import Profile

# Platform audience relative to the athlete's fame, and typical following / post counts.
_REACH = {"twitter": 0.6, "instagram": 1.5, "facebook": 0.8}
_FOLLOWING = {"twitter": 400.0, "instagram": 600.0, "facebook": 50.0}
_POSTS_PER_YEAR = {"twitter": 250.0, "instagram": 80.0, "facebook": 40.0}
# Weight of each platform's followers in the reach that drives page views.
_VIEW_WEIGHT = {"twitter": 0.6, "instagram": 1.0, "facebook": 0.4}
_CATEGORIES = (("athlete", 0.8), ("public figure", 0.12), ("sports", 0.05), ("creator", 0.03))


def make_profile(ref: str, platform: str, handle: str, *, fame: float, career_years: int,
                 bio_text: str, rng: random.Random) -> Profile:
    """One account's public profile.

    Followers scale with fame; the engagement rate falls as audiences grow (big accounts get
    proportionally fewer likes), and verification becomes likely above ~100k followers.
    """
    followers = max(3, round(fame * _REACH[platform] * rng.lognormvariate(0.0, 0.35)))
    rate = min(0.2, 0.06 * (followers / 1000.0) ** -0.15 * rng.lognormvariate(0.0, 0.3))
    verified_chance = 1.0 / (1.0 + math.exp(-(math.log10(followers) - 5.0) * 2.5))
    return Profile(
        ref=ref,
        platform=platform,
        handle=handle,
        followers=followers,
        following=round(_FOLLOWING[platform] * rng.lognormvariate(0.0, 0.8)),
        posts=max(1, round(_POSTS_PER_YEAR[platform] * career_years
                           * rng.lognormvariate(-0.3, 0.6))),
        avg_engagement=round(followers * rate, 1),
        verified=rng.random() < verified_chance,
        category=_choose(_CATEGORIES, rng),
        bio=bio_text,
    )


def page_views_per_post(profiles: Sequence[Profile], sport: str, rng: random.Random) -> float:
    """The hidden truth the prediction stage tries to learn.

    ``views = (30 + 0.02 * reach ** 0.85 * (1 + 8 * engagement_rate) * verified_boost)
    * interest(sport) * noise`` where ``reach`` is the sum of followers weighted by platform
    (Instagram 1.0, Twitter 0.6, Facebook 0.4), ``engagement_rate`` is total average engagement
    over total followers, ``verified_boost`` is 1.5 when any account is verified, and ``noise``
    is log-normal with sigma 0.2. An athlete with no account still gets the base 30 views.
    """
    reach = sum(p.followers * _VIEW_WEIGHT[p.platform] for p in profiles)
    followers = sum(p.followers for p in profiles)
    engagement = sum(p.avg_engagement for p in profiles) / followers if followers else 0.0
    boost = 1.5 if any(p.verified for p in profiles) else 1.0
    views = 30.0 + 0.02 * math.pow(reach, 0.85) * (1.0 + 8.0 * engagement) * boost
    return round(views * SPORT_INTEREST[sport] * rng.lognormvariate(0.0, 0.2), 1)


def bio(name: str, *, sport: str, league: str | None, team: str | None, position: str,
        country_name: str, retired: bool, rng: random.Random) -> str:
    """A short bio that names the sport and, when there is one, the team or league."""
    noun = SPORT_NOUN[sport]
    role = f"Former {position.lower()}" if retired else position
    if team:
        options = [
            f"{role} for {team}. {league}.",
            f"Official account of {name}. {noun.capitalize()} | {team}",
            f"{team} {'alum' if retired else position.lower()}. {country_name}.",
            f"{'Former ' if retired else ''}{league} {noun}. {team}. Family first.",
        ]
    else:
        options = [
            f"{'Former p' if retired else 'P'}rofessional {noun}. {league or country_name}.",
            f"{role} | {noun.capitalize()} | Representing {country_name}",
            f"Official account of {name}, {noun} from {country_name}.",
        ]
    return rng.choice(options)


def _choose(options: Sequence[tuple[str, float]], rng: random.Random) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]
