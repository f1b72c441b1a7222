"""What partnered posts actually get: the outcomes the prediction stage learns from.

An athlete's ``page_views_per_post`` is the typical views of one post; a single post varies
around it (a good day, a bad headline) by log-normal noise, so the log of the views is the
log of the truth plus a normal error. The noise is drawn from a generator seeded by the seed,
the athlete and the post number, so an outcome does not depend on what was observed before it.
"""

from __future__ import annotations

import random

from streams.world.model import Athlete, World

# Spread of one post's views around the athlete's typical views, in log space.
POST_SIGMA = 0.3


def observe_page_views(athlete: Athlete, post_number: int, seed: int) -> float:
    """The page views partnered post ``post_number`` of ``athlete`` gets.

    The median over posts is the athlete's ``page_views_per_post`` (the mean is
    ``exp(POST_SIGMA**2 / 2)``, about 4.6%, above it).
    """
    rng = random.Random(f"crowdlog-outcome|{seed}|{athlete.ref}|{post_number}")
    return round(athlete.page_views_per_post * rng.lognormvariate(0.0, POST_SIGMA), 1)


def partner_schedule(world: World, *, posts_per_athlete: int,
                     seed: int) -> list[tuple[str, int]]:
    """The order in which partnered posts' outcomes arrive: ``(athlete ref, post number)``.

    Every athlete gets ``posts_per_athlete`` posts, numbered from 1 in the order they arrive,
    and the posts of all athletes are shuffled together: early in the stream most outcomes
    are of athletes the model has never seen, later ones increasingly of known athletes.
    """
    if posts_per_athlete < 1:
        raise ValueError("posts_per_athlete must be at least 1")
    slots = [a.ref for a in world.athletes for _ in range(posts_per_athlete)]
    random.Random(f"crowdlog-schedule|{seed}").shuffle(slots)
    counts: dict[str, int] = {}
    schedule = []
    for ref in slots:
        counts[ref] = counts.get(ref, 0) + 1
        schedule.append((ref, counts[ref]))
    return schedule
