"""What a worker types into each box of a HIT, given who they are and who the athlete is.

Honest workers (reliable, sloppy, confusers) aim at a target handle and hit it with their
accuracy, reduced for obscure athletes who are harder to find. A right answer may still be typed
messily (URL, '@', capitals: formatting noise that normalises to the right handle). A wrong one
is usually "not found" or a plausible handle made from the name (often the namesake's), and for
sloppy workers also a typo or another platform's URL pasted into the box. Confusers aim at the
more famous namesake's handles. Spammers ignore the athlete. "Not found" is None.

A HIT sent back after a namesake was caught names the account it is not (``excluded``): honest
workers who read that do not give it again, so a confuser then aims at the athlete.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Mapping, Sequence

from streams.handles import PLATFORMS
from streams.world.accounts import candidates, name_parts, typo
from streams.world.model import FAME_MEDIAN, FAME_SIGMA, Athlete, Worker, World
from streams.world.spelling import messy, plain

# How an honest worker errs when the athlete has an account: (not found, plausible, typo,
# another platform's address).
_ERRORS = {
    "reliable": (0.50, 0.35, 0.15, 0.0),
    "confuser": (0.50, 0.35, 0.15, 0.0),
    "sloppy": (0.35, 0.25, 0.30, 0.10),
}
_ERROR_NAMES = ("not-found", "plausible", "typo", "other-platform")


def difficulty(athlete: Athlete) -> float:
    """How much harder than average this athlete is to find: 0.6 for stars, 1.6 at most.

    A worker's error rate is ``(1 - accuracy) * difficulty``.
    """
    z = math.log(athlete.fame / FAME_MEDIAN) / FAME_SIGMA
    return min(1.6, max(0.6, math.exp(-0.3 * z)))


def answer(world: World, worker: Worker, athlete: Athlete, platforms: Sequence[str],
           rng: random.Random, *,
           excluded: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The worker's raw answers, platform by platform, drawing only from ``rng``.

    ``excluded`` maps a platform to the handle the HIT says is not this athlete's.
    """
    excluded = excluded or {}
    if worker.kind == "spammer":
        return {platform: _spam(world, worker, athlete, platform, rng) for platform in platforms}
    aimed = athlete
    if worker.kind == "confuser" and athlete.namesake_of:
        namesake = world.athlete(athlete.namesake_of)
        aimed = namesake if namesake.fame > athlete.fame else athlete
    error = (1.0 - worker.accuracy) * difficulty(athlete)
    answers: dict[str, str | None] = {}
    for platform in platforms:
        target = aimed.handles[platform]
        if target is not None and target == excluded.get(platform):
            target = athlete.handles[platform]
        if rng.random() >= error:
            answers[platform] = _typed(target, platform, worker, rng)
        else:
            answers[platform] = _mistake(world, worker, athlete, platform,
                                         target=target, rng=rng,
                                         excluded=excluded.get(platform))
    return answers


def _typed(handle: str | None, platform: str, worker: Worker, rng: random.Random) -> str | None:
    if handle is None:
        return None
    return messy(handle, platform, rng) if rng.random() < worker.noise else plain(handle,
                                                                                   platform, rng)


def _mistake(world: World, worker: Worker, athlete: Athlete, platform: str, *,
             target: str | None, rng: random.Random, excluded: str | None) -> str | None:
    if target is None:  # nothing to find, but the worker "finds" something
        guess = _plausible(world, athlete, platform, None, rng, excluded=excluded)
        return _typed(guess, platform, worker, rng)
    kind = rng.choices(_ERROR_NAMES, weights=_ERRORS[worker.kind])[0]
    if kind == "plausible":
        guess = _plausible(world, athlete, platform, target, rng, excluded=excluded)
        return _typed(guess, platform, worker, rng)
    if kind == "typo":
        return typo(target, platform, rng)
    others = [p for p in PLATFORMS if p != platform and athlete.handles[p]]
    if kind == "other-platform" and others:
        other = rng.choice(others)
        return messy(athlete.handles[other] or "", other, rng)
    return None


def _plausible(world: World, athlete: Athlete, platform: str, target: str | None,
               rng: random.Random, *, excluded: str | None = None) -> str:
    """A handle that could be the athlete's but is not: the namesake's, or a name variant."""
    if athlete.namesake_of and rng.random() < 0.5:
        theirs = world.athlete(athlete.namesake_of).handles[platform]
        if theirs and theirs not in (target, excluded):
            return theirs
    number = str(rng.randint(0, 99))
    guesses = [h for h in candidates(athlete.name, platform, number, athlete.league, rng)
               if h != target]
    return guesses[0] if guesses else _gibberish(rng)


def _spam(world: World, worker: Worker, athlete: Athlete, platform: str,
          rng: random.Random) -> str | None:
    """A spammer's answer: always the same text, or something random that takes no effort."""
    if worker.spam == "not-found":
        return None
    if worker.spam == "fixed":
        return worker.fixed_answer
    roll = rng.random()
    if roll < 0.35:
        return None
    if roll < 0.65:  # a handle copied from some other athlete
        handle = rng.choice(world.athletes).handles[platform]
        return handle or _gibberish(rng)
    if roll < 0.85:
        return _gibberish(rng)
    first, last = name_parts(athlete.name)
    return first + last


def _gibberish(rng: random.Random) -> str:
    """Keyboard mash that happens to be a valid handle on every platform (5 to 12 characters)."""
    letters = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 9)))
    return letters + str(rng.randint(1, 999))
