"""Handles derived from names the way athletes pick them, unique on each platform.

Real handles are variations on the name (``anthonydavis``, ``antdavis23``, ``the.anthony.davis``)
and the obvious ones go to whoever registered first, usually the famous namesake; the rest get
numbers or prefixes. The same templates serve crowd workers who guess a handle from a name,
which is why a wrong guess is often plausible. Every handle produced here is canonical: it is
valid under ``streams.handles`` and normalises to itself.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence

from streams.handles import PLATFORMS, InvalidHandle, normalise_handle

# Letters NFKD does not decompose, spelled the way athletes write them in handles.
_TRANSLITERATE = str.maketrans({"đ": "dj", "ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "\u0131": "i"})
# Templates and how often athletes pick each: {f} first name, {l} last name, {fi}/{li} their
# initials, {f3} first three letters, {n} a shirt number or birth year, {lg} the league code.
_TEMPLATES: dict[str, float] = {
    "{f}{l}": 6.0, "{f}.{l}": 2.0, "{f}_{l}": 2.0, "{f}{l}{n}": 3.0, "{f3}{l}{n}": 1.0,
    "{fi}{l}{n}": 1.5, "{fi}{l}": 1.0, "the.{f}.{l}": 0.5, "the{f}{l}": 0.5, "real{f}{l}": 0.7,
    "{f}{l}official": 0.7, "{f}.{l}.official": 0.3, "iam{f}{l}": 0.4, "{l}{f}": 0.3,
    "{f}{l}{lg}": 0.5, "{l}{n}": 0.6, "{f}{l}_": 0.3, "{f}{li}{n}": 0.3,
}


def fold(text: str) -> str:
    """Lower-case ASCII letters of ``text`` only: ``"Dončić"`` gives ``"doncic"``."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_TRANSLITERATE))
    return "".join(ch for ch in decomposed if "a" <= ch <= "z")


def name_parts(name: str) -> tuple[str, str]:
    """Folded first and last name; everything after the first word is the last name."""
    first, _, rest = name.partition(" ")
    return fold(first), fold(rest)


def is_canonical(platform: str, text: str) -> bool:
    """Whether ``text`` is a valid handle on ``platform`` already in canonical form."""
    try:
        return normalise_handle(platform, text) == text
    except InvalidHandle:
        return False


def candidates(name: str, platform: str, number: str, league: str | None,
               rng: random.Random) -> list[str]:
    """Handles a person called ``name`` might use, most likely first, all valid on ``platform``.

    The order is a weighted random permutation of the templates, so two athletes with similar
    names still pick differently.
    """
    first, last = name_parts(name)
    values = {"f": first, "l": last, "fi": first[:1], "li": last[:1], "f3": first[:3],
              "n": number, "lg": fold(league or "")}
    keyed = sorted(_TEMPLATES.items(), key=lambda item: -rng.random() ** (1.0 / item[1]))
    ordered = dict.fromkeys(template.format(**values) for template, _ in keyed)
    return [handle for handle in ordered if is_canonical(platform, handle)]


class HandleRegistry:
    """Hands out handles, each at most once per platform, in the order athletes ask.

    Ask in descending fame so the famous namesake gets the plain name, as in real life.
    """

    def __init__(self) -> None:
        self._taken: dict[str, set[str]] = {platform: set() for platform in PLATFORMS}

    def free(self, platform: str, handle: str) -> bool:
        return handle not in self._taken[platform]

    def claim(self, platform: str, wanted: Sequence[str], name: str,
              rng: random.Random) -> str:
        """The first free handle in ``wanted``, or a numbered variant of the name."""
        for handle in wanted:
            if self.free(platform, handle):
                return self._take(platform, handle)
        first, last = name_parts(name)
        stem = (first[:6] + last[:5]).ljust(4, "x")  # at most 15 characters with the number
        while True:
            handle = f"{stem}{rng.randint(1, 9999)}"
            if self.free(platform, handle):
                return self._take(platform, handle)

    def _take(self, platform: str, handle: str) -> str:
        self._taken[platform].add(handle)
        return handle


def typo(handle: str, platform: str, rng: random.Random) -> str:
    """A mistyped copy of ``handle``: a character dropped, doubled or swapped with its neighbour.

    The result is a valid handle that is not ``handle``, so it counts as a wrong answer rather
    than an unreadable one.
    """
    for _ in range(20):
        at = rng.randrange(len(handle))
        operation = rng.choice(("drop", "double", "swap"))
        if operation == "drop":
            text = handle[:at] + handle[at + 1:]
        elif operation == "double":
            text = handle[:at] + handle[at] + handle[at:]
        else:
            at = min(at, len(handle) - 2)
            text = handle[:at] + handle[at + 1:at + 2] + handle[at:at + 1] + handle[at + 2:]
        if text != handle and is_canonical(platform, text):
            return text
    return handle[:-1] + ("x" if handle[-1] != "x" else "z")
