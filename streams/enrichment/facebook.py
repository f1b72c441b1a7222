"""Facebook Pages through the Graph API, behind ``PlatformClient``.

``GET /{page-username}?fields=...`` reads a Page by its username (or numeric id) with a Meta
access token that may read public Pages (a Page access token, or a token of an app with Page
Public Metadata Access). One request per lookup asks for the followers, the fans (likes),
the category, the "about" text and the verification status. ``followers`` is
``followers_count`` (``fan_count`` where a Page has no follower count); a Page follows no one
and the lookup reads no posts, so ``following``, ``posts`` and ``avg_engagement`` are 0.
``verified`` is a blue or grey ``verification_status``.

Only Pages are readable: a person's profile is not. Error 803 ("some of the aliases you
requested do not exist") is ``missing``; error 100 with subcode 33 ("does not exist, cannot
be loaded due to missing permissions, or does not support this operation": an unpublished or
restricted Page, a person's profile) is ``undiscoverable``. A token without Page read access
gets that answer for every Page: check one known Page before a large run. Rate limits and the
other errors are read as ``graph_api`` says.

A handle must be 5 to 50 of ``A-Z a-z 0-9 .`` with at least one letter or digit (Facebook's
username rules), or it is ``invalid`` with no request made.
"""

from __future__ import annotations

import re

from streams.enrichment.graph_api import GraphApi, Unavailable
from streams.enrichment.http_client import check_handle, count, text
from streams.enrichment.platforms import ProfileLookup, UnexpectedResponse

HANDLE = re.compile(r"(?=.*[A-Za-z0-9])[A-Za-z0-9.]{5,50}")
UNAVAILABLE: Unavailable = {(803, None): "missing", (100, 33): "undiscoverable"}
FIELDS = "username,followers_count,fan_count,category,about,verification_status"
VERIFIED = frozenset({"blue_verified", "gray_verified"})


class FacebookClient:
    """Facebook Page lookups by username through ``graph`` (made for ``"facebook"``); see the
    module docstring."""

    def __init__(self, graph: GraphApi) -> None:
        self._graph = graph

    @property
    def platform(self) -> str:
        return "facebook"

    async def lookup(self, handle: str) -> ProfileLookup:
        """The Page of ``handle``; see ``PlatformClient``."""
        check_handle(self.platform, handle, HANDLE)
        page = await self._graph.node(handle, handle, FIELDS, UNAVAILABLE)
        key = "followers_count" if "followers_count" in page else "fan_count"
        if key not in page:
            raise UnexpectedResponse(200, "neither followers_count nor fan_count")
        return ProfileLookup(
            platform=self.platform, handle=handle, followers=count(page, key), following=0,
            posts=0, avg_engagement=0.0, verified=page.get("verification_status") in VERIFIED,
            category=text(page, "category"), bio=text(page, "about"))
