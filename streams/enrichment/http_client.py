"""What the real platform clients share: one HTTP client, handle checks, and reading answers.

Each real client (``x_api``, ``instagram``, ``facebook``) decides what its platform's answers
mean; this module does the parts that are the same everywhere, so they are written once:

- ``check_handle`` refuses a handle that breaks the platform's rules before any request is
  built (``AccountUnavailable(..., "invalid")``): a crowd worker's typo is an answer about the
  handle, never a request with whatever they typed in it;
- ``HttpPlatform`` holds the ``httpx.AsyncClient`` (base URL, timeout, the token in an
  ``Authorization: Bearer`` header, never in a URL, where access logs and exception texts
  would show it), escapes every path segment, and turns what no platform answers with a body
  worth reading into ``platforms`` exceptions: a connection failure or timeout into
  ``TransientPlatformError``, a 5xx into ``ServerError``;
- ``retry_after`` reads a ``Retry-After`` header (seconds or an HTTP date);
- ``json_object``, ``count`` and ``text`` read a body and its fields, and a body that is not
  the documented shape becomes ``UnexpectedResponse`` instead of a ``KeyError``.

Messages built from an answer pass through ``HttpPlatform.refused``, which cuts them short and
masks the token should a platform ever echo it.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from streams.enrichment.platforms import (
    AccountUnavailable,
    PlatformRefused,
    ServerError,
    TransientPlatformError,
    UnexpectedResponse,
)
from streams.settings import Secret

# httpx logs every request, URL included, at INFO: one line per lookup would drown the worker's
# log and print the configured Instagram account id with each. Failures reach the log as the
# exceptions below, through the fetcher.
logging.getLogger("httpx").setLevel(logging.WARNING)

_MESSAGE_CHARS = 200
WallClock = Callable[[], float]


def check_handle(platform: str, handle: str, pattern: re.Pattern[str]) -> None:
    """Raise ``AccountUnavailable(platform, handle, "invalid")`` unless ``pattern`` matches
    all of ``handle``.

    >>> check_handle("twitter", "kingjames", re.compile(r"[A-Za-z0-9_]{1,15}"))
    >>> check_handle("twitter", "king/james", re.compile(r"[A-Za-z0-9_]{1,15}"))
    Traceback (most recent call last):
    ...
    streams.enrichment.platforms.AccountUnavailable: twitter account 'king/james' is invalid
    """
    if not pattern.fullmatch(handle):
        raise AccountUnavailable(platform, handle, "invalid")


def retry_after(headers: httpx.Headers, now: float) -> float | None:
    """Seconds the ``Retry-After`` header asks for (a number of seconds or an HTTP date, which
    is compared with ``now``, Unix seconds); None when absent or unreadable.

    >>> retry_after(httpx.Headers({"Retry-After": "120"}), 0.0)
    120.0
    >>> retry_after(httpx.Headers({"Retry-After": "Thu, 01 Jan 1970 00:01:00 GMT"}), 15.0)
    45.0
    >>> retry_after(httpx.Headers({"Retry-After": "soon"}), 0.0) is None
    True
    """
    raw = headers.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(raw).timestamp() - now
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The response's body as a JSON object, else ``UnexpectedResponse``."""
    try:
        body = response.json()
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise UnexpectedResponse(response.status_code, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise UnexpectedResponse(response.status_code, "the body is not a JSON object")
    return body


def mapping(container: Mapping[str, Any], key: str, status: int = 200) -> Mapping[str, Any]:
    """``container[key]``, which must be a JSON object, else ``UnexpectedResponse``."""
    value = container.get(key)
    if not isinstance(value, dict):
        raise UnexpectedResponse(status, f"no object {key!r} in the body")
    return value


def count(container: Mapping[str, Any], key: str, status: int = 200) -> int:
    """``container[key]``, which must be a whole number of at least 0.

    >>> count({"followers_count": 12}, "followers_count")
    12
    >>> count({"n": "12"}, "n")
    Traceback (most recent call last):
    ...
    streams.enrichment.platforms.UnexpectedResponse: unexpected response (200): 'n' is not a count
    """
    value = container.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnexpectedResponse(status, f"{key!r} is not a count")
    return value


def text(container: Mapping[str, Any], key: str) -> str:
    """``container[key]`` if it is a string, else ``""``: the optional texts (bio, category)
    a profile may leave out."""
    value = container.get(key)
    return value if isinstance(value, str) else ""


class HttpPlatform:
    """One platform's HTTP API, authenticated with a bearer token.

    Parameters
    ----------
    platform:
        The platform's name in ``platforms`` exceptions.
    base_url:
        Scheme and host (and any fixed path prefix) of the API.
    token:
        Sent as ``Authorization: Bearer``; held as ``Secret`` so no repr shows it.
    timeout:
        Seconds for connecting and for each read (``ResilientClient`` bounds the whole attempt
        too).
    wall_clock:
        Unix seconds, for rate-limit resets given as times.
    """

    def __init__(self, platform: str, base_url: str, token: Secret, *, timeout: float = 5.0,
                 wall_clock: WallClock = time.time) -> None:
        if not token.value:
            raise ValueError(f"{platform}: the API token is empty")
        self.platform = platform
        self.wall_clock = wall_clock
        self._token = token
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, follow_redirects=False,
            headers={"Authorization": f"Bearer {token.value}",
                     "User-Agent": "crowdlog-enrichment"})

    async def get(self, segments: Sequence[str], params: Mapping[str, str]) -> httpx.Response:
        """GET the path made of ``segments`` (each percent-escaped whole, so a ``/``, ``?`` or
        ``..`` in one stays inside it) with query ``params`` (escaped by httpx).

        Returns any answer below 500 for the caller to read; raises ``ServerError`` for a 5xx
        and ``TransientPlatformError`` when no answer came.
        """
        path = "/" + "/".join(quote(segment, safe="") for segment in segments)
        try:
            response = await self._client.get(path, params=dict(params))
        except httpx.TimeoutException:
            raise TransientPlatformError(f"{self.platform}: no answer in time") from None
        except httpx.TransportError as exc:
            # The class only: a transport error's text may quote the request.
            raise TransientPlatformError(
                f"{self.platform}: connection failed ({type(exc).__name__})") from None
        if response.status_code >= 500:
            raise ServerError(response.status_code)
        return response

    def refused(self, status: int, what: str) -> PlatformRefused:
        """A ``PlatformRefused`` saying what the platform said, short and without the token."""
        return PlatformRefused(f"{self.platform} refused the request ({status}): "
                               f"{self.scrub(what)}")

    def unexpected(self, status: int, what: str) -> UnexpectedResponse:
        """An ``UnexpectedResponse`` quoting the platform, short and without the token."""
        return UnexpectedResponse(status, self.scrub(what))

    def scrub(self, message: str) -> str:
        """``message`` cut to 200 characters, the token masked wherever it appears."""
        return message.replace(self._token.value, "***")[:_MESSAGE_CHARS]
