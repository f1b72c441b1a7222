"""The many ways people type a handle: '@Handle', profile URLs, odd case, stray spaces.

Providers and workers rarely type the canonical handle. Every form made here still normalises
to the handle with ``streams.handles.normalise_handle``: it is formatting noise, not an error.
"""

from __future__ import annotations

import random

# Profile address prefixes people paste, per platform.
_URLS = {
    "twitter": ("https://twitter.com/", "https://x.com/", "twitter.com/", "x.com/",
                "https://mobile.twitter.com/", "http://www.twitter.com/"),
    "instagram": ("https://www.instagram.com/", "instagram.com/", "https://instagram.com/",
                  "www.instagram.com/", "https://instagr.am/"),
    "facebook": ("https://www.facebook.com/", "facebook.com/", "https://m.facebook.com/",
                 "fb.com/", "https://facebook.com/"),
}
_SUFFIXES = {
    "twitter": ("", "/", "?s=20", "?lang=en"),
    "instagram": ("", "/", "?hl=en", "/?igsh=MWQ1ZGUxMzBkMA=="),
    "facebook": ("", "/", "?ref=bookmarks", "/about"),
}
_AT_PLATFORMS = ("twitter", "instagram")


def cased(handle: str, rng: random.Random) -> str:
    """The handle as a person capitalises it: ``AntDavis23``, ``ANTDAVIS23`` or as is."""
    roll = rng.random()
    if roll < 0.55:
        return handle.title()
    if roll < 0.7:
        return handle.upper()
    return handle.capitalize()


def plain(handle: str, platform: str, rng: random.Random) -> str:
    """A careful form: the handle itself, sometimes with the '@' people put before handles."""
    if platform in _AT_PLATFORMS and rng.random() < 0.2:
        return f"@{handle}"
    return handle


def messy(handle: str, platform: str, rng: random.Random) -> str:
    """A careless but recoverable form: a pasted URL, '@' and capitals, padding spaces."""
    roll = rng.random()
    if roll < 0.45:
        text = rng.choice(_URLS[platform]) + cased(handle, rng) + rng.choice(_SUFFIXES[platform])
    elif roll < 0.7 and platform in _AT_PLATFORMS:
        text = "@" + cased(handle, rng)
    elif roll < 0.85:
        text = cased(handle, rng)
    else:
        text = handle
    if rng.random() < 0.3:
        text = rng.choice((" ", "  ", "\t")) + text + rng.choice(("", " ", "  "))
    return text


def provider_form(handle: str, platform: str, rng: random.Random) -> str:
    """How a feed writes a handle it knows: a bare handle, '@Handle' or a profile URL."""
    roll = rng.random()
    if roll < 0.35:
        return handle
    if roll < 0.6 and platform in _AT_PLATFORMS:
        return "@" + cased(handle, rng)
    return rng.choice(_URLS[platform]) + cased(handle, rng) + rng.choice(("", "/"))
