"""One canonical label per worker answer, so that answers typed differently can agree.

Workers type ``@KingJames``, ``https://x.com/KingJames/``, ``kingjames `` or "none". Votes are
counted on labels: the normalised handle (``streams.handles``), ``not-found`` for an explicit
"not found" (``None`` in the assignment) or one of its usual spellings, and for text that cannot
be a handle at all a label of its own, prefixed with ``?``, which no other answer matches by
accident but which two workers copying the same junk still share.
"""

from __future__ import annotations

from streams.consensus.inference import NOT_FOUND
from streams.handles import InvalidHandle, normalise_handle

__all__ = ["INVALID_PREFIX", "NOT_FOUND", "answer_label", "handle_of"]
INVALID_PREFIX = "?"
_NOT_FOUND_SPELLINGS = frozenset({
    "", "none", "n/a", "na", "not found", "notfound", "not-found", "no account", "no",
    "-", "nothing", "null", "unknown",
})


def answer_label(platform: str, raw: str | None) -> str:
    """The label a worker's raw answer counts as.

    >>> answer_label("twitter", " https://x.com/KingJames/ ")
    'kingjames'
    >>> answer_label("instagram", None)
    'not-found'
    >>> answer_label("twitter", "N/A")
    'not-found'
    >>> answer_label("twitter", "his name on twitter")
    '?his name on twitter'
    """
    if raw is None:
        return NOT_FOUND
    text = " ".join(raw.split())
    if text.lower() in _NOT_FOUND_SPELLINGS:
        return NOT_FOUND
    try:
        return normalise_handle(platform, text)
    except InvalidHandle:
        return INVALID_PREFIX + text.lower()


def handle_of(label: str) -> str | None:
    """The handle a label accepts, ``None`` for "no account"."""
    return None if label == NOT_FOUND else label
