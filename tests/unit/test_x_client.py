"""The X API v2 client beyond the shared contract: X's several rate-limit windows, the shapes
of its "no such user" answers, and the request it makes (``test_platform_api_contract`` holds
what every client does)."""

from __future__ import annotations

import asyncio

import pytest
import respx

from streams.enrichment.platforms import (
    AccountUnavailable,
    PlatformRefused,
    RateLimited,
    UnexpectedResponse,
)
from streams.enrichment.x_api import NOT_FOUND, WINDOW_SECONDS
from tests.platform_apis import NOW, X, answer


def throttled(headers: dict[str, str]) -> float:
    with pytest.raises(RateLimited) as raised:
        X.lookup(answer(429, {"title": "Too Many Requests", "status": 429}, headers))
    return raised.value.retry_after


def test_the_request_asks_for_metrics_bio_badge_and_latest_post() -> None:
    with respx.mock() as api:
        route = api.get(X.url).mock(return_value=X.profile)
        asyncio.run(X.make().lookup("kingjames"))
    params = route.calls.last.request.url.params
    assert set(params["user.fields"].split(",")) == {
        "description", "public_metrics", "verified", "most_recent_tweet_id"}
    assert params["expansions"] == "most_recent_tweet_id"
    assert params["tweet.fields"] == "public_metrics"


def test_the_window_that_ran_out_sets_the_wait() -> None:
    # the 15-minute window still has calls; the app's 24-hour cap is spent
    assert throttled({"x-rate-limit-remaining": "250",
                      "x-rate-limit-reset": str(int(NOW) + 300),
                      "x-app-limit-24hour-remaining": "0",
                      "x-app-limit-24hour-reset": str(int(NOW) + 36_000)}) == 36_000.0
    assert throttled({"x-user-limit-24hour-remaining": "0",
                      "x-user-limit-24hour-reset": str(int(NOW) + 7_200),
                      "x-rate-limit-remaining": "3",
                      "x-rate-limit-reset": str(int(NOW) + 60)}) == 7_200.0


def test_without_reset_headers_retry_after_then_a_whole_window() -> None:
    assert throttled({"retry-after": "30"}) == 30.0
    assert throttled({}) == WINDOW_SECONDS
    assert throttled({"x-rate-limit-remaining": "0", "x-rate-limit-reset": "soon"}) \
        == WINDOW_SECONDS


def test_a_reset_already_past_waits_nothing() -> None:
    assert throttled({"x-rate-limit-remaining": "0",
                      "x-rate-limit-reset": str(int(NOW) - 5)}) == 0.0


@pytest.mark.parametrize("status", [200, 404])
def test_a_missing_user_with_200_or_404(status: int) -> None:
    body = {"errors": [{"value": "ghost", "detail": "Could not find user with username: "
                        "[ghost].", "title": "Not Found Error", "resource_type": "user",
                        "parameter": "username", "resource_id": "ghost",
                        "type": NOT_FOUND}]}
    with pytest.raises(AccountUnavailable) as raised:
        X.lookup(answer(status, body), "ghost")
    assert raised.value.status == "missing"


def test_a_profile_without_a_latest_post_has_no_engagement() -> None:
    body = {"data": {"id": "1", "username": "quiet", "name": "Q",
                     "public_metrics": {"followers_count": 3, "following_count": 4,
                                        "tweet_count": 0, "listed_count": 0}}}
    profile = X.lookup(answer(200, body), "quiet")
    assert (profile.followers, profile.posts, profile.avg_engagement, profile.verified,
            profile.bio) == (3, 0, 0.0, False, "")


def test_a_count_that_is_not_a_number_is_unexpected() -> None:
    body = {"data": {"id": "1", "username": "kingjames", "public_metrics": {
        "followers_count": "52.9M", "following_count": 1, "tweet_count": 1}}}
    with pytest.raises(UnexpectedResponse):
        X.lookup(answer(200, body))


def test_an_app_outside_a_project_is_refused() -> None:
    body = {"title": "Client Forbidden", "type": "https://api.twitter.com/2/problems/"
            "client-forbidden", "reason": "client-not-enrolled",
            "detail": "When authenticating requests to the Twitter API v2 endpoints, you must "
                      "use keys and tokens from a Twitter developer App that is attached to a "
                      "Project."}
    with pytest.raises(PlatformRefused, match=r"\(403\): Client Forbidden"):
        X.lookup(answer(403, body))


def test_an_invalid_request_is_refused() -> None:
    body = {"errors": [{"parameters": {"user.fields": ["bogus"]},
                        "message": "The `user.fields` query parameter value [bogus] is not "
                                   "one of [...]"}],
            "title": "Invalid Request", "detail": "One or more parameters to your request was "
            "invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"}
    with pytest.raises(PlatformRefused, match="Invalid Request"):
        X.lookup(answer(400, body))


@pytest.mark.parametrize("handle", ["a", "King_James_2003", "___"])
def test_handles_by_x_rules_are_looked_up(handle: str) -> None:
    assert X.lookup(X.profile, handle).handle == handle
