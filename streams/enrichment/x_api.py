"""X (Twitter) profiles through the X API v2 user lookup, behind ``PlatformClient``.

One request per lookup: ``GET /2/users/by/username/{username}`` with ``user.fields`` for the
bio, the public metrics and the verified badge, and the most recent post expanded with its
public metrics (the only engagement figure the lookup can carry; the mean over more posts
would cost a request per post timeline). Authenticated with an app-only bearer token.

How X's answers map onto ``platforms``:

- 200 with ``data``: the profile. ``avg_engagement`` is the likes, reposts, replies and quotes
  of the most recent post (0 when it has none); X has no category, so ``category`` is empty.
- an ``errors`` entry of type ``.../problems/resource-not-found`` about the user (X sends it
  with 200, and with 404 on newer deployments): ``AccountUnavailable`` ``suspended`` when it
  says so ("User has been suspended", title "Forbidden"), else ``missing``.
- 429: ``RateLimited`` until the reset of the window that ran out: ``x-rate-limit-reset``
  (the 15-minute window) or the 24-hour ``x-app-limit-24hour-reset`` /
  ``x-user-limit-24hour-reset``, Unix seconds; else ``Retry-After``; else 15 minutes.
- 401, 403 without a user problem, 400: ``PlatformRefused`` (the token or our request).
- 5xx: ``ServerError``; any other shape: ``UnexpectedResponse``.

A handle must be 1 to 15 of ``A-Z a-z 0-9 _`` (X's own rule) or it is ``invalid`` with no
request made.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import httpx

from streams.enrichment.http_client import (
    HttpPlatform,
    WallClock,
    check_handle,
    count,
    json_object,
    mapping,
    retry_after,
    text,
)
from streams.enrichment.platforms import (
    AccountStatus,
    AccountUnavailable,
    ProfileLookup,
    RateLimited,
)
from streams.settings import Secret

API_URL = "https://api.x.com"
HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"
# Each window X reports: (remaining, reset) headers; the first run out sets the wait.
WINDOWS = (("x-rate-limit-remaining", "x-rate-limit-reset"),
           ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"),
           ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"))
WINDOW_SECONDS = 900.0  # the wait when a 429 says nothing: one 15-minute window
_PARAMS = {"user.fields": "description,public_metrics,verified,most_recent_tweet_id",
           "expansions": "most_recent_tweet_id", "tweet.fields": "public_metrics"}
_INTERACTIONS = ("like_count", "retweet_count", "reply_count", "quote_count")


class XClient:
    """X API v2 user lookups by username; see the module docstring for the mapping."""

    def __init__(self, token: Secret, *, timeout: float = 5.0,
                 wall_clock: WallClock = time.time) -> None:
        self._http = HttpPlatform("twitter", API_URL, token, timeout=timeout,
                                  wall_clock=wall_clock)

    @property
    def platform(self) -> str:
        return "twitter"

    async def lookup(self, handle: str) -> ProfileLookup:
        """The profile of ``handle``; see ``PlatformClient``."""
        check_handle(self.platform, handle, HANDLE)
        response = await self._http.get(("2", "users", "by", "username", handle), _PARAMS)
        status = response.status_code
        if status == 429:
            raise RateLimited(self._wait(response.headers))
        if status == 401:
            raise self._http.refused(status, "the bearer token was not accepted")
        body = json_object(response)
        if status == 200 and "data" in body:
            return self._profile(handle, body)
        unavailable = _account_problem(body)
        if unavailable is not None and status in (200, 403, 404):
            raise AccountUnavailable(self.platform, handle, unavailable)
        if status in (400, 403):
            raise self._http.refused(status, _problem_text(body))
        raise self._http.unexpected(status, f"neither a user nor a user problem: "
                                            f"{_problem_text(body)}")

    def _profile(self, handle: str, body: Mapping[str, Any]) -> ProfileLookup:
        user = mapping(body, "data")
        metrics = mapping(user, "public_metrics")
        return ProfileLookup(
            platform=self.platform, handle=handle, followers=count(metrics, "followers_count"),
            following=count(metrics, "following_count"), posts=count(metrics, "tweet_count"),
            avg_engagement=float(_latest_interactions(user, body)),
            verified=user.get("verified") is True, category="", bio=text(user, "description"))

    def _wait(self, headers: httpx.Headers) -> float:
        """Seconds until X takes requests again, from the 429's headers."""
        now = self._http.wall_clock()
        resets = {remaining: _number(headers.get(reset)) for remaining, reset in WINDOWS}
        spent = [reset for remaining, reset in resets.items()
                 if reset is not None and headers.get(remaining, "").strip() == "0"]
        known = spent or [reset for reset in resets.values() if reset is not None]
        if known:
            return max(0.0, max(known) - now)
        waited = retry_after(headers, now)
        return WINDOW_SECONDS if waited is None else waited


def _account_problem(body: Mapping[str, Any]) -> AccountStatus | None:
    """``suspended`` or ``missing`` when the body's errors say the user cannot be found."""
    errors = body.get("errors")
    if not isinstance(errors, list):
        return None
    for error in errors:
        if (isinstance(error, dict) and error.get("type") == NOT_FOUND
                and error.get("resource_type", "user") == "user"):
            said = f"{error.get('title', '')} {error.get('detail', '')}".lower()
            return "suspended" if "suspended" in said or "forbidden" in said else "missing"
    return None


def _problem_text(body: Mapping[str, Any]) -> str:
    """What an error body says, for a message: its title and detail, or its first error's."""
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else {}
    source = body if "title" in body or not isinstance(first, dict) else first
    return " ".join(str(source.get(key, "")) for key in ("title", "detail")).strip()


def _latest_interactions(user: Mapping[str, Any], body: Mapping[str, Any]) -> int:
    """Likes, reposts, replies and quotes of the user's most recent post, if it came along."""
    latest = user.get("most_recent_tweet_id")
    includes = body.get("includes")
    posts = includes.get("tweets") if isinstance(includes, dict) else None
    for post in posts if isinstance(posts, list) else []:
        if isinstance(post, dict) and post.get("id") == latest:
            metrics = post.get("public_metrics")
            if isinstance(metrics, dict):
                return sum(value for key in _INTERACTIONS
                           if isinstance(value := metrics.get(key), int))
    return 0


def _number(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
