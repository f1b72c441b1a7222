"""The Facebook Pages client beyond the shared contract: followers or fans, the verification
badge, and the Graph API errors that are neither an account's answer nor a rate limit."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx

from streams.enrichment.platforms import (
    PlatformRefused,
    TransientPlatformError,
    UnexpectedResponse,
)
from tests.platform_apis import FACEBOOK, answer, graph_error


def page(**fields: Any) -> httpx.Response:
    return answer(200, {"id": "152617094776181", "username": "kingjames", **fields})


def test_the_request_asks_for_followers_fans_and_badge() -> None:
    with respx.mock() as api:
        route = api.get(FACEBOOK.url).mock(return_value=FACEBOOK.profile)
        asyncio.run(FACEBOOK.make().lookup("kingjames"))
    assert set(route.calls.last.request.url.params["fields"].split(",")) == {
        "username", "followers_count", "fan_count", "category", "about",
        "verification_status"}


def test_fans_stand_in_for_followers_only_when_there_are_none() -> None:
    assert FACEBOOK.lookup(page(fan_count=900)).followers == 900
    assert FACEBOOK.lookup(page(fan_count=900, followers_count=1_000)).followers == 1_000


@pytest.mark.parametrize(("status", "verified"), [("blue_verified", True),
                                                  ("gray_verified", True),
                                                  ("not_verified", False), (None, False)])
def test_verified_is_a_blue_or_grey_badge(status: str | None,
                                          verified: bool) -> None:
    assert FACEBOOK.lookup(page(followers_count=1, verification_status=status)).verified \
        is verified


@pytest.mark.parametrize("handle", ["lebron", "King.James.23", "12345678901", "a...."])
def test_handles_by_facebook_rules_are_looked_up(handle: str) -> None:
    assert FACEBOOK.lookup(FACEBOOK.profile, handle).handle == handle


@pytest.mark.parametrize("code", [10, 102, 200, 299])
def test_a_missing_permission_is_refused(code: int) -> None:
    with pytest.raises(PlatformRefused, match=f"code {code}"):
        FACEBOOK.lookup(graph_error(403, code, "(#10) This endpoint requires the "
                                           "'pages_read_engagement' permission"))


@pytest.mark.parametrize("error", [
    graph_error(500, 2, "Service temporarily unavailable"),  # 5xx: ServerError, a transient
    graph_error(400, 2, "Service temporarily unavailable"),
    graph_error(400, 1, "An unknown error occurred"),
    graph_error(400, 9007, "Something odd", is_transient=True)])
def test_errors_meta_calls_transient_are_retried(error: httpx.Response) -> None:
    with pytest.raises(TransientPlatformError):
        FACEBOOK.lookup(error)


def test_an_unknown_error_is_unexpected_and_names_its_code() -> None:
    with pytest.raises(UnexpectedResponse, match="code 368, subcode 1390008"):
        FACEBOOK.lookup(graph_error(400, 368, "Temporarily blocked", subcode=1_390_008))


def test_an_error_status_without_an_error_object_is_unexpected() -> None:
    with pytest.raises(UnexpectedResponse):
        FACEBOOK.lookup(answer(400, {"message": "nope"}))
