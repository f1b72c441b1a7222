"""The contract every real platform client keeps, checked against each one's recorded answers.

Whatever the platform, a lookup ends as a ``ProfileLookup``, an ``AccountUnavailable`` with the
right status, a ``RateLimited`` with the platform's wait, a ``ServerError``, an
``UnexpectedResponse``, a ``TransientPlatformError`` or a ``PlatformRefused``; an invalid handle
never makes a request; the token never shows in a message or a log line. Requests go to
respx's mock transport, never to the network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import httpx
import pytest
import respx

from streams.enrichment.http_client import HttpPlatform
from streams.enrichment.platforms import (
    AccountUnavailable,
    PlatformRefused,
    ProfileLookup,
    RateLimited,
    ServerError,
    TransientPlatformError,
    UnexpectedResponse,
)
from streams.enrichment.resilient import ResilientClient
from streams.settings import Secret
from tests.platform_apis import CASES, TOKEN, ApiCase, answer

T = TypeVar("T")


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def fields(lookup: ProfileLookup) -> tuple[object, ...]:
    return (lookup.followers, lookup.following, lookup.posts, lookup.avg_engagement,
            lookup.verified, lookup.category, lookup.bio)


def failure(case: ApiCase, api: respx.MockRouter, response: httpx.Response) -> Exception:
    """What a lookup of the case's handle raises when the platform gives ``response``."""
    api.get(case.url).mock(return_value=response)
    with pytest.raises(Exception) as raised:
        run(case.make().lookup(case.handle))
    return raised.value


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_profile_comes_back_with_its_fields(case: ApiCase, api: respx.MockRouter) -> None:
    route = api.get(case.url).mock(return_value=case.profile)
    lookup = run(case.make().lookup(case.handle))
    assert (lookup.platform, lookup.handle) == (case.make().platform, case.handle)
    assert fields(lookup) == case.expected
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(request.url)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_account_that_does_not_exist_is_unavailable(case: ApiCase,
                                                       api: respx.MockRouter) -> None:
    error = failure(case, api, case.no_such)
    assert isinstance(error, AccountUnavailable)
    assert (error.handle, error.status) == (case.handle, case.no_such_status)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_suspended_or_undiscoverable_account_is_unavailable(case: ApiCase,
                                                              api: respx.MockRouter) -> None:
    error = failure(case, api, case.hidden)
    assert isinstance(error, AccountUnavailable)
    assert error.status == case.hidden_status


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rate_limiting_waits_as_long_as_the_platform_says(case: ApiCase,
                                                           api: respx.MockRouter) -> None:
    error = failure(case, api, case.throttled)
    assert isinstance(error, RateLimited)
    assert error.retry_after == case.wait


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_a_server_error(case: ApiCase, api: respx.MockRouter, status: int) -> None:
    error = failure(case, api, answer(status, "<html><body>Bad gateway</body></html>"))
    assert isinstance(error, ServerError)
    assert error.status == status


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("body", ["<html>Sorry, something went wrong</html>", '{"data": {',
                                  "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_unexpected(case: ApiCase, api: respx.MockRouter,
                                                        body: str) -> None:
    error = failure(case, api, httpx.Response(200, content=body.encode()))
    assert isinstance(error, UnexpectedResponse)
    assert isinstance(error, TransientPlatformError)  # worth retrying, then "unreachable"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_profile_without_its_counts_is_unexpected(case: ApiCase,
                                                    api: respx.MockRouter) -> None:
    assert isinstance(failure(case, api, case.incomplete), UnexpectedResponse)


@pytest.mark.parametrize(("case", "handle"),
                         [(case, handle) for case in CASES for handle in case.invalid],
                         ids=lambda value: str(value) if isinstance(value, ApiCase)
                         else repr(value))
def test_an_invalid_handle_is_refused_before_any_request(case: ApiCase, handle: str,
                                                         api: respx.MockRouter) -> None:
    route = api.route().mock(return_value=case.profile)
    with pytest.raises(AccountUnavailable) as raised:
        run(case.make().lookup(handle))
    assert (raised.value.handle, raised.value.status) == (handle, "invalid")
    assert route.call_count == 0


@pytest.mark.parametrize("case", CASES, ids=str)
def test_refused_credentials_are_not_an_answer_about_the_account(
        case: ApiCase, api: respx.MockRouter) -> None:
    error = failure(case, api, case.refused)
    assert isinstance(error, PlatformRefused)
    assert not isinstance(error, TransientPlatformError | AccountUnavailable)


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("fault", [httpx.ConnectError("connection refused"),
                                   httpx.ReadTimeout("timed out"),
                                   httpx.RemoteProtocolError("peer closed")])
def test_no_answer_at_all_is_transient(case: ApiCase, api: respx.MockRouter,
                                       fault: Exception) -> None:
    api.get(case.url).mock(side_effect=fault)
    with pytest.raises(TransientPlatformError):
        run(case.make().lookup(case.handle))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_token_shows_in_no_message_and_no_log_line(
        case: ApiCase, api: respx.MockRouter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = answer(400, {"error": {"message": f"bad token {TOKEN}", "code": 190},
                        "title": f"bad token {TOKEN}", "errors": [{"title": TOKEN}]})
    said = []
    for response in (case.no_such, case.hidden, case.throttled, case.refused,
                     case.incomplete, echo, answer(503, TOKEN), answer(200, "<html>")):
        error = failure(case, api, response)
        said += [str(error), repr(error), *map(str, error.args)]
    client = case.make()
    said += [repr(client), repr(vars(client))]
    assert said and not [text for text in said if TOKEN in text]
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("case", CASES, ids=str)
def test_through_the_resilient_client_a_429_waits_for_the_reset(
        case: ApiCase, api: respx.MockRouter) -> None:
    route = api.get(case.url).mock(side_effect=[case.throttled, case.profile])
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = ResilientClient(case.make(), sleep=sleep, base_delay=0.5, seed=1)
    lookup = run(client.lookup(case.handle))
    assert fields(lookup) == case.expected
    assert route.call_count == 2
    # the platform's wait, plus at most one backoff (0.5 s) of jitter
    assert len(waits) == 1 and case.wait <= waits[0] <= case.wait + 0.5
    assert client.stats.rate_limited == 1


def test_every_path_segment_is_escaped_whole(api: respx.MockRouter) -> None:
    """A segment can hold nothing that changes the path or starts a query, even if a handle
    check were ever skipped."""
    route = api.route().mock(return_value=answer(200, {}))
    http = HttpPlatform("twitter", "https://api.example", Secret(TOKEN))
    run(http.get(("2", "a/../b?c=d#e f%2F"), {"q": "x&y=z"}))
    url = route.calls.last.request.url
    assert url.raw_path == b"/2/a%2F..%2Fb%3Fc%3Dd%23e%20f%252F?q=x%26y%3Dz"
    assert url.params["q"] == "x&y=z"
