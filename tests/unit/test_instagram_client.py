"""The Instagram business discovery client beyond the shared contract: what happens to
personal accounts, Instagram's dot rules, the engagement mean, and the request it makes."""

from __future__ import annotations

import asyncio
import json

import pytest
import respx

from streams.enrichment.graph_api import FALLBACK_WAIT
from streams.enrichment.instagram import MEDIA_SAMPLE, InstagramClient
from streams.enrichment.platforms import AccountUnavailable, RateLimited
from tests.platform_apis import IG_USER, INSTAGRAM, TOKEN, answer, graph, graph_error


def test_the_request_discovers_the_handle_as_our_account() -> None:
    with respx.mock() as api:
        route = api.get(INSTAGRAM.url).mock(return_value=INSTAGRAM.profile)
        asyncio.run(INSTAGRAM.make().lookup("anthony.davis_3"))
    request = route.calls.last.request
    assert request.url.path == f"/v23.0/{IG_USER}"
    assert request.url.params["fields"] == (
        "business_discovery.username(anthony.davis_3){username,biography,followers_count,"
        f"follows_count,media_count,media.limit({MEDIA_SAMPLE}){{like_count,comments_count}}}}")
    assert TOKEN not in str(request.url)


def test_a_personal_account_is_undiscoverable_not_missing() -> None:
    """Instagram answers a personal account as it answers no account: the crowd may be
    right, so the status must not say the account does not exist."""
    error = graph_error(400, 110, "Invalid user id", subcode=2207013,
                        error_user_title="Cannot find User",
                        error_user_msg="The user with username: neighbour cannot be found.")
    with pytest.raises(AccountUnavailable) as raised:
        INSTAGRAM.lookup(error, "neighbour")
    assert raised.value.status == "undiscoverable"
    assert str(raised.value) == "instagram account 'neighbour' is undiscoverable"


@pytest.mark.parametrize("handle", ["a", "anthony.davis", "_x_", "a.b_c.d", "9" * 30])
def test_handles_by_instagram_rules_are_looked_up(handle: str) -> None:
    assert INSTAGRAM.lookup(INSTAGRAM.profile, handle).handle == handle


def test_engagement_is_the_mean_over_the_posts_that_came() -> None:
    media = [{"like_count": 100, "comments_count": 10}, {"like_count": 200},
             {"comments_count": 6}, {"like_count": 0, "comments_count": 0}]
    body = {"business_discovery": {"followers_count": 5, "follows_count": 1,
                                   "media_count": 4, "media": {"data": media}}}
    assert INSTAGRAM.lookup(answer(200, body)).avg_engagement == (110 + 200 + 6 + 0) / 4
    del body["business_discovery"]["media"]
    assert INSTAGRAM.lookup(answer(200, body)).avg_engagement == 0.0


def test_the_wait_is_retry_after_else_the_usage_estimate_else_five_minutes() -> None:
    usage = {"x-business-use-case-usage": json.dumps({"1": [
        {"type": "instagram", "estimated_time_to_regain_access": 2},
        {"type": "instagram", "estimated_time_to_regain_access": 11}]})}
    cases = [({"retry-after": "90", **usage}, 90.0), (usage, 660.0),
             ({"x-app-usage": json.dumps({"call_count": 100, "total_time": 20,
                                          "total_cputime": 9})}, FALLBACK_WAIT)]
    for code in (4, 17, 32, 613, 80002):
        for headers, wait in cases:
            with pytest.raises(RateLimited) as raised:
                INSTAGRAM.lookup(graph_error(400, code, "limit reached", headers=headers))
            assert raised.value.retry_after == wait, (code, headers)


def test_a_plain_429_is_rate_limiting_too() -> None:
    with pytest.raises(RateLimited) as raised:
        INSTAGRAM.lookup(answer(429, "Too Many Requests", {"retry-after": "12"}))
    assert raised.value.retry_after == 12.0


@pytest.mark.parametrize("user_id", ["", "me", "1784/../1"])
def test_our_account_id_must_be_numeric(user_id: str) -> None:
    with pytest.raises(ValueError, match="numeric id"):
        InstagramClient(graph("instagram"), user_id)
