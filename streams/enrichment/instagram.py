"""Instagram profiles through the Instagram Graph API's business discovery, behind
``PlatformClient``.

Business discovery is the only documented way to read another account: ``GET /{ig-user-id}?
fields=business_discovery.username({handle}){...}``, made as our own Instagram business or
creator account (``CROWDLOG_INSTAGRAM_USER_ID``) with a Meta access token. One request per
lookup asks for the username, bio, follower, follows and media counts, and the like and
comment counts of the latest ``MEDIA_SAMPLE`` posts (their mean is ``avg_engagement``; a post
whose owner hides likes counts its comments only). Instagram gives no verified badge and no
category through this call, so ``verified`` is False and ``category`` empty.

Only business and creator accounts can be discovered. For a personal account Instagram
answers exactly as for one that does not exist (error 110, subcode 2207013, "Cannot find
User"), and age-gated accounts are withheld too, so that answer is
``AccountUnavailable("undiscoverable")``, never ``missing``: the account may well exist and
be the athlete's, so the crowd's answer must not be held against them; the stage records the
profile as unavailable and fetches it again at the next refresh. Rate limits and the other
errors are read as ``graph_api`` says.

A handle must be 1 to 30 of ``A-Z a-z 0-9 . _``, neither starting nor ending with a period
nor holding two in a row (Instagram's rules), or it is ``invalid`` with no request made; so
nothing a worker typed can reach the ``fields`` expression's syntax (``(){},``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from streams.enrichment.graph_api import GraphApi, Unavailable
from streams.enrichment.http_client import check_handle, count, mapping, text
from streams.enrichment.platforms import ProfileLookup

HANDLE = re.compile(r"(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9._]{1,30}")
MEDIA_SAMPLE = 12
UNDISCOVERABLE = 2207013
UNAVAILABLE: Unavailable = {(110, UNDISCOVERABLE): "undiscoverable",
                            (100, UNDISCOVERABLE): "undiscoverable"}
_SUBFIELDS = ("username,biography,followers_count,follows_count,media_count,"
              f"media.limit({MEDIA_SAMPLE}){{like_count,comments_count}}")


class InstagramClient:
    """Instagram business discovery through ``graph`` (made for ``"instagram"``), as the
    account ``user_id``; see the module docstring."""

    def __init__(self, graph: GraphApi, user_id: str) -> None:
        if not user_id.isdecimal():
            raise ValueError("the Instagram user id must be the numeric id of a business or "
                             "creator account")
        self._graph = graph
        self._user_id = user_id

    @property
    def platform(self) -> str:
        return "instagram"

    async def lookup(self, handle: str) -> ProfileLookup:
        """The profile of ``handle``; see ``PlatformClient``."""
        check_handle(self.platform, handle, HANDLE)
        body = await self._graph.node(
            handle, self._user_id, f"business_discovery.username({handle}){{{_SUBFIELDS}}}",
            UNAVAILABLE)
        account = mapping(body, "business_discovery")
        return ProfileLookup(
            platform=self.platform, handle=handle, followers=count(account, "followers_count"),
            following=count(account, "follows_count"), posts=count(account, "media_count"),
            avg_engagement=_mean_interactions(account), verified=False, category="",
            bio=text(account, "biography"))


def _mean_interactions(account: Mapping[str, Any]) -> float:
    """Mean likes plus comments over the posts that came with the account (0 without any)."""
    media = account.get("media")
    posts = media.get("data") if isinstance(media, dict) else None
    totals = [sum(value for key in ("like_count", "comments_count")
                  if isinstance(value := post.get(key), int))
              for post in (posts if isinstance(posts, list) else []) if isinstance(post, dict)]
    return sum(totals) / len(totals) if totals else 0.0
