"""Recorded answers of the X, Instagram and Facebook APIs, shaped as their documentation shows
them, for the real clients' tests (``test_platform_api_contract`` and one file per platform).

Each ``ApiCase`` says how to make a client and what its platform answers in each situation the
contract covers; the expected values are worked out by hand from the payloads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import respx

from streams.enrichment.facebook import FacebookClient
from streams.enrichment.graph_api import GraphApi
from streams.enrichment.instagram import InstagramClient
from streams.enrichment.platforms import AccountStatus, PlatformClient, ProfileLookup
from streams.enrichment.x_api import NOT_FOUND, XClient
from streams.settings import Secret

TOKEN = "tok-SECRET-7f3a9c1e55d04b2a"
NOW = 1_700_000_000.0  # the clients' wall clock in every test
IG_USER = "17841405309211844"
GRAPH = "https://graph.facebook.com/v23.0"


def answer(status: int, body: Any, headers: Mapping[str, str] | None = None) -> httpx.Response:
    """A recorded answer: ``body`` as JSON (a ``str`` is sent as it is)."""
    content = body if isinstance(body, str) else json.dumps(body)
    return httpx.Response(status, content=content.encode(), headers={
        "content-type": "text/html" if isinstance(body, str) else "application/json",
        **(headers or {})})


def graph_error(status: int, code: int, message: str, *, subcode: int | None = None,
                headers: Mapping[str, str] | None = None, **extra: Any) -> httpx.Response:
    """A Graph API error answer."""
    error = {"message": message, "type": "OAuthException", "code": code,
             "fbtrace_id": "AbCdEfGhIjK", **extra}
    if subcode is not None:
        error["error_subcode"] = subcode
    return answer(status, {"error": error}, headers)


@dataclass(frozen=True)
class ApiCase:
    """One platform's client and its recorded answers."""

    name: str
    make: Callable[[], PlatformClient]
    url_of: Callable[[str], str]  # the URL a lookup of a handle requests, query aside
    handle: str
    profile: httpx.Response
    expected: tuple[object, ...]  # followers, following, posts, engagement, verified, category, bio
    no_such: httpx.Response
    no_such_status: AccountStatus
    hidden: httpx.Response  # suspended, or not discoverable
    hidden_status: AccountStatus
    throttled: httpx.Response
    wait: float
    refused: httpx.Response
    incomplete: httpx.Response  # 200 without a field the profile needs
    invalid: tuple[str, ...]

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        """The URL a lookup of ``handle`` requests."""
        return self.url_of(self.handle)

    def lookup(self, response: httpx.Response, handle: str | None = None) -> ProfileLookup:
        """Look ``handle`` (default: the case's) up while the platform answers ``response``."""
        handle = self.handle if handle is None else handle
        with respx.mock() as router:
            router.get(self.url_of(handle)).mock(return_value=response)
            return asyncio.run(self.make().lookup(handle))


def graph(platform: str) -> GraphApi:
    return GraphApi(platform, Secret(TOKEN), wall_clock=lambda: NOW)


def _problem(handle: str, title: str, detail: str) -> dict[str, Any]:
    return {"errors": [{"value": handle, "detail": detail, "title": title,
                        "resource_type": "user", "parameter": "username",
                        "resource_id": handle, "type": NOT_FOUND}]}


X = ApiCase(
    name="x",
    make=lambda: XClient(Secret(TOKEN), wall_clock=lambda: NOW),
    url_of="https://api.x.com/2/users/by/username/{}".format,
    handle="kingjames",
    profile=answer(200, {
        "data": {"id": "23083404", "name": "LeBron James", "username": "KingJames",
                 "description": "EST. AKRON - ST.V/M Lakers", "verified": True,
                 "most_recent_tweet_id": "1790000000000000001",
                 "public_metrics": {"followers_count": 52_900_000, "following_count": 187,
                                    "tweet_count": 8_700, "listed_count": 58_000,
                                    "like_count": 2_000}},
        "includes": {"tweets": [{
            "id": "1790000000000000001", "text": "Let's go!",
            "edit_history_tweet_ids": ["1790000000000000001"],
            "public_metrics": {"retweet_count": 5_000, "reply_count": 2_000,
                               "like_count": 60_000, "quote_count": 500,
                               "bookmark_count": 100, "impression_count": 9_000_000}}]}}),
    expected=(52_900_000, 187, 8_700, 67_500.0, True, "", "EST. AKRON - ST.V/M Lakers"),
    no_such=answer(200, _problem("kingjames", "Not Found Error",
                                 "Could not find user with username: [kingjames].")),
    no_such_status="missing",
    hidden=answer(200, _problem("kingjames", "Forbidden",
                                "User has been suspended: [kingjames].")),
    hidden_status="suspended",
    throttled=answer(429, {"title": "Too Many Requests", "detail": "Too Many Requests",
                           "type": "about:blank", "status": 429},
                     {"x-rate-limit-limit": "300", "x-rate-limit-remaining": "0",
                      "x-rate-limit-reset": str(int(NOW) + 420)}),
    wait=420.0,
    refused=answer(401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                         "detail": "Unauthorized"}),
    incomplete=answer(200, {"data": {"id": "23083404", "name": "LeBron James",
                                     "username": "KingJames"}}),
    invalid=("king.james", "a" * 16, "", "king james", "king/../james", "kingjames?x=1",
             "king%2Fjames", "kïngjames"),
)

_NOT_DISCOVERABLE = graph_error(
    400, 110, "Invalid user id", subcode=2207013, is_transient=False,
    error_user_title="Cannot find User",
    error_user_msg="The user with username: kingjames cannot be found.")

INSTAGRAM = ApiCase(
    name="instagram",
    make=lambda: InstagramClient(graph("instagram"), IG_USER),
    url_of=lambda _handle: f"{GRAPH}/{IG_USER}",
    handle="kingjames",
    profile=answer(200, {
        "business_discovery": {
            "username": "kingjames", "biography": "Lakers. Akron. Family.",
            "followers_count": 159_000_000, "follows_count": 300, "media_count": 2_500,
            "media": {"data": [{"like_count": 1_000, "comments_count": 50, "id": "1801"},
                               {"comments_count": 30, "id": "1802"}],  # likes hidden
                      "paging": {"cursors": {"after": "QVFIUj"}}},
            "id": "17841401441775531"},
        "id": IG_USER}),
    expected=(159_000_000, 300, 2_500, 540.0, False, "", "Lakers. Akron. Family."),
    no_such=_NOT_DISCOVERABLE,
    no_such_status="undiscoverable",
    hidden=_NOT_DISCOVERABLE,
    hidden_status="undiscoverable",
    throttled=graph_error(
        400, 80002, "There have been too many calls to this Instagram account. Wait a bit "
                    "and try again.",
        headers={"x-business-use-case-usage": json.dumps({"1234567890": [{
            "type": "instagram", "call_count": 100, "total_cputime": 12, "total_time": 15,
            "estimated_time_to_regain_access": 7}]})}),
    wait=420.0,
    refused=graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token"),
    incomplete=answer(200, {"business_discovery": {"username": "kingjames", "id": "1784"},
                            "id": IG_USER}),
    invalid=(".kingjames", "kingjames.", "king..james", "a" * 31, "king-james", "king james",
             "kingjames){id}", "king/../james", ""),
)

FACEBOOK = ApiCase(
    name="facebook",
    make=lambda: FacebookClient(graph("facebook")),
    url_of=f"{GRAPH}/{{}}".format,
    handle="kingjames",
    profile=answer(200, {"username": "LeBron", "followers_count": 27_000_000,
                         "fan_count": 26_000_000, "category": "Athlete",
                         "about": "Official page of LeBron James, Los Angeles Lakers.",
                         "verification_status": "blue_verified", "id": "152617094776181"}),
    expected=(27_000_000, 0, 0, 0.0, True, "Athlete",
              "Official page of LeBron James, Los Angeles Lakers."),
    no_such=graph_error(404, 803, "(#803) Some of the aliases you requested do not exist: "
                                  "kingjames"),
    no_such_status="missing",
    hidden=graph_error(400, 100, "Unsupported get request. Object with ID 'kingjames' does "
                                 "not exist, cannot be loaded due to missing permissions, or "
                                 "does not support this operation.", subcode=33),
    hidden_status="undiscoverable",
    throttled=graph_error(
        400, 32, "(#32) Page request limit reached",
        headers={"x-business-use-case-usage": json.dumps({"152617094776181": [{
            "type": "pages", "call_count": 100, "total_cputime": 30, "total_time": 40,
            "estimated_time_to_regain_access": 3}]})}),
    wait=180.0,
    refused=graph_error(400, 190, "Error validating access token: Session has expired."),
    incomplete=answer(200, {"username": "LeBron", "id": "152617094776181"}),
    invalid=("king", "king-james", "king_james", ".....", "a" * 51, "king james",
             "king/../james", "kingjames?fields=id"),
)

CASES = (X, INSTAGRAM, FACEBOOK)
