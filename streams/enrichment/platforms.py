"""What the enrichment stage needs from a social platform, and the ways a lookup can fail.

The stage talks only to ``PlatformClient``. ``SimulatedPlatform`` serves profiles from a
simulated world; a real Twitter/X, Instagram or Facebook API client plugs in behind the same
protocol by mapping its HTTP answers onto these types: 200 to ``ProfileLookup``, 404 (or the
platform's "no such user" error) to ``AccountUnavailable("missing")``, a suspended or
deactivated account to ``AccountUnavailable("suspended")``, 429 with ``Retry-After`` to
``RateLimited``, 5xx to ``ServerError`` and connection failures to ``TransientPlatformError``.
The real clients (``x_api``, ``instagram``, ``facebook``) add two statuses: ``invalid``, a
handle that breaks the platform's own rules (characters, length), refused before any request
is built, and ``undiscoverable``, an account the platform will not show us without saying
whether it exists (Instagram shows business and creator accounts only). A body that is not
the documented shape is an ``UnexpectedResponse``; a refusal of our credentials or request
(not of the account) is ``PlatformRefused``.

The split matters to the caller: an ``AccountUnavailable`` is a definite answer about the
account, worth recording and never worth asking again, while a ``TransientPlatformError`` says
nothing about the account and is worth retrying. ``LookupGaveUp`` ends a lookup whose retries
ran out, so the stage can record the profile as unreachable instead of losing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

# missing: no such account; suspended: suspended or deactivated; undiscoverable: the platform
# will not show it and does not say whether it exists; invalid: not a possible handle there.
AccountStatus = Literal["missing", "suspended", "undiscoverable", "invalid"]


@dataclass(frozen=True, slots=True)
class ProfileLookup:
    """A platform's public profile of one account, as fetched (no provider id: that is ours)."""

    platform: str
    handle: str
    followers: int
    following: int
    posts: int
    avg_engagement: float
    verified: bool
    category: str
    bio: str


class AccountUnavailable(Exception):
    """A definite answer about the handle (see ``AccountStatus``), so it is recorded, not
    retried: ``missing``, ``suspended``, ``undiscoverable`` or ``invalid``.
    """

    def __init__(self, platform: str, handle: str, status: AccountStatus) -> None:
        # args mirror the constructor so the exception pickles (process pools, task queues)
        super().__init__(platform, handle, status)
        self.platform = platform
        self.handle = handle
        self.status: AccountStatus = status

    def __str__(self) -> str:
        return f"{self.platform} account {self.handle!r} is {self.status}"


class TransientPlatformError(Exception):
    """The platform could not answer this time (a network failure, say); asking again may work."""


class RateLimited(TransientPlatformError):
    """HTTP 429: too many requests; the platform accepts more after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"rate limited (429), retry after {self.retry_after:.3f}s"


class ServerError(TransientPlatformError):
    """HTTP 5xx: the platform failed on its side."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status

    def __str__(self) -> str:
        return f"server error ({self.status})"


class UnexpectedResponse(TransientPlatformError):
    """An answer not shaped as the platform documents it: a body that is not JSON, a missing
    or mistyped field, an error code we do not know. Worth retrying (a proxy's error page, a
    truncated body); if it persists the lookup ends as unreachable, with this as the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason

    def __str__(self) -> str:
        return f"unexpected response ({self.status}): {self.reason}"


class PlatformRefused(Exception):
    """The platform refused us, not the account: a rejected or expired token, a missing
    permission, a request it calls malformed. Nothing about the handle is learnt and retrying
    at once cannot help, so it is neither recorded nor retried by ``ResilientClient``: the
    fetch fails, stays pending in the stage's state and is re-issued by its timer once an
    operator has fixed the configuration. The message never holds a credential.
    """


class LookupGaveUp(Exception):
    """Every attempt at a lookup failed transiently: the profile is unreachable for now.

    ``last_error`` describes the final failure, for the record and the logs.
    """

    def __init__(self, platform: str, handle: str, attempts: int, last_error: str) -> None:
        super().__init__(platform, handle, attempts, last_error)
        self.platform = platform
        self.handle = handle
        self.attempts = attempts
        self.last_error = last_error

    def __str__(self) -> str:
        return (f"gave up on {self.platform} account {self.handle!r} after {self.attempts} "
                f"attempts: {self.last_error}")


class PlatformClient(Protocol):
    """Fetches public profiles from one platform (``"twitter"``, ``"instagram"``, ``"facebook"``).

    ``lookup`` takes a canonical handle (as ``streams.handles.normalise_handle`` gives it) and
    returns its profile or raises ``AccountUnavailable`` or a ``TransientPlatformError``; it may
    take long, so callers bound it with a timeout. Many lookups may run concurrently on one
    client.
    """

    @property
    def platform(self) -> str: ...

    async def lookup(self, handle: str) -> ProfileLookup: ...
