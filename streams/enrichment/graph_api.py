"""Meta's Graph API, as the Instagram and Facebook clients both read it.

Both platforms answer through ``graph.facebook.com`` with the same error object
(``{"error": {"message", "type", "code", "error_subcode", "is_transient", "fbtrace_id"}}``)
and the same rate limiting, so both are read here once; each client only says which error
codes mean "no such account" on its platform (``unavailable``).

Rate limits. Meta refuses throttled calls with an error code rather than (only) a 429: 4 (the
app's limit), 17 (the user's), 32 (a Page's), 613 (a custom limit) and 80001-80099 (Business
Use Case limits: 80001 Pages, 80002 Instagram, ...). Each becomes ``RateLimited``, waiting:

1. ``Retry-After``, where sent;
2. else the largest ``estimated_time_to_regain_access`` (minutes) in the
   ``X-Business-Use-Case-Usage`` header, the one figure Meta gives for when calls resume;
3. else ``FALLBACK_WAIT`` (5 minutes): ``X-App-Usage`` gives only percentages of a rolling
   hour, so the client waits a twelfth of it and asks again.

Other errors: the token or a permission (190, 102, 10, 200-299, HTTP 401) is
``PlatformRefused``; an error Meta marks ``is_transient`` (or codes 1 and 2, "unknown" and
"service temporarily unavailable") is a ``TransientPlatformError``; the rest is an
``UnexpectedResponse`` with the code, so a lookup that keeps meeting it ends as unreachable
with the code on record rather than as a wrong "missing".
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from streams.enrichment.http_client import HttpPlatform, WallClock, json_object, retry_after
from streams.enrichment.platforms import (
    AccountStatus,
    AccountUnavailable,
    RateLimited,
    TransientPlatformError,
)
from streams.settings import Secret

GRAPH_URL = "https://graph.facebook.com"
GRAPH_VERSION = "v23.0"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
BUSINESS_USE_CASE_CODES = range(80001, 80100)
TOKEN_CODES = frozenset({102, 190, 10})
PERMISSION_CODES = range(200, 300)
TRANSIENT_CODES = frozenset({1, 2})
FALLBACK_WAIT = 300.0
# (code, subcode) of an error, None standing for "any subcode", to the account status it means
Unavailable = Mapping[tuple[int | None, int | None], AccountStatus]


class GraphApi:
    """Reads of Graph API nodes with a user or system-user access token.

    ``platform`` names the platform in exceptions; ``version`` is the Graph API version in
    every path (``CROWDLOG_META_GRAPH_VERSION``).
    """

    def __init__(self, platform: str, token: Secret, *, version: str = GRAPH_VERSION,
                 timeout: float = 5.0, wall_clock: WallClock = time.time) -> None:
        self._http = HttpPlatform(platform, GRAPH_URL, token, timeout=timeout,
                                  wall_clock=wall_clock)
        self._version = version

    async def node(self, handle: str, node: str, fields: str,
                   unavailable: Unavailable) -> dict[str, Any]:
        """The node's ``fields`` as a JSON object, read on behalf of ``handle``.

        Raises ``AccountUnavailable`` for the errors ``unavailable`` names, and the other
        ``platforms`` exceptions as the module docstring says.
        """
        response = await self._http.get((self._version, node), {"fields": fields})
        status = response.status_code
        if status == 429:
            raise RateLimited(self._wait(response.headers))
        body = json_object(response)
        error = body.get("error")
        if error is None and status == 200:
            return body
        if not isinstance(error, dict):
            raise self._http.unexpected(status, "an error answer without an error object")
        code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
        message = f"code {code}, subcode {subcode}: {error.get('message', '')}"
        if code in RATE_LIMIT_CODES or code in BUSINESS_USE_CASE_CODES:
            raise RateLimited(self._wait(response.headers))
        status_named = unavailable.get((code, subcode)) or unavailable.get((code, None))
        if status_named is not None:
            raise AccountUnavailable(self._http.platform, handle, status_named)
        if status == 401 or code in TOKEN_CODES or code in PERMISSION_CODES:
            raise self._http.refused(status, message)
        if error.get("is_transient") is True or code in TRANSIENT_CODES:
            raise TransientPlatformError(
                f"{self._http.platform}: transient Graph API error ({self._http.scrub(message)})")
        raise self._http.unexpected(status, message)

    def _wait(self, headers: httpx.Headers) -> float:
        """Seconds until Meta takes calls again (see the module docstring)."""
        waited = retry_after(headers, self._http.wall_clock())
        if waited is not None:
            return waited
        regained = _regain_minutes(headers.get("x-business-use-case-usage"))
        return regained * 60.0 if regained else FALLBACK_WAIT


def _regain_minutes(raw: str | None) -> float:
    """The largest ``estimated_time_to_regain_access`` in a Business Use Case usage header.

    >>> _regain_minutes('{"1234": [{"type": "instagram", "call_count": 100,'
    ...                 ' "estimated_time_to_regain_access": 7}]}')
    7.0
    >>> _regain_minutes("not json"), _regain_minutes(None)
    (0.0, 0.0)
    """
    try:
        usage: Any = json.loads(raw) if raw else {}
    except ValueError:
        return 0.0
    minutes = [entry.get("estimated_time_to_regain_access")
               for entries in (usage.values() if isinstance(usage, dict) else ())
               if isinstance(entries, list)
               for entry in entries if isinstance(entry, dict)]
    return float(max((m for m in minutes if isinstance(m, int | float)), default=0))


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
