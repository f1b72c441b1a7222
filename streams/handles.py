"""Social handles in one canonical form, whatever shape a provider or a worker typed them in.

Providers and crowd workers write the same handle as ``@KingJames``, ``kingjames``,
``https://x.com/KingJames/`` or ``instagram.com/kingjames?hl=en``. Comparing answers and
deduplicating records needs one form: no '@', no URL, no trailing slash, and lower case on
platforms whose handles are case-insensitive (all three here).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

PLATFORMS = ("twitter", "instagram", "facebook")

_HOSTS = {
    "twitter": {"twitter.com", "x.com", "mobile.twitter.com"},
    "instagram": {"instagram.com", "instagr.am"},
    "facebook": {"facebook.com", "fb.com", "m.facebook.com"},
}
_PATTERNS = {
    "twitter": re.compile(r"[a-z0-9_]{1,15}"),
    "instagram": re.compile(r"[a-z0-9._]{1,30}"),
    "facebook": re.compile(r"[a-z0-9.]{5,50}"),
}


class InvalidHandle(ValueError):
    """The text cannot be a handle on that platform."""


def normalise_handle(platform: str, text: str) -> str:
    """The canonical handle for ``text`` on ``platform``.

    >>> normalise_handle("twitter", " https://x.com/KingJames/ ")
    'kingjames'
    >>> normalise_handle("instagram", "@Anthony.Davis")
    'anthony.davis'
    """
    if platform not in _PATTERNS:
        raise InvalidHandle(f"unknown platform {platform!r}")
    value = text.strip()
    if "/" in value or value.lower().startswith(("www.", *sorted(_HOSTS[platform]))):
        value = _handle_from_url(platform, value)
    value = value.lstrip("@").strip().lower()
    if not _PATTERNS[platform].fullmatch(value):
        raise InvalidHandle(f"{text!r} is not a valid {platform} handle")
    return value


def _handle_from_url(platform: str, value: str) -> str:
    url = urlsplit(value if "://" in value else f"https://{value}")
    host = (url.hostname or "").lower().removeprefix("www.")
    if host not in _HOSTS[platform]:
        raise InvalidHandle(f"{value!r} is not a {platform} profile address")
    parts = [p for p in url.path.split("/") if p]
    if not parts:
        raise InvalidHandle(f"{value!r} names no {platform} profile")
    return parts[0]
