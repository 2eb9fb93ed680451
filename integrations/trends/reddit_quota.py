"""Reddit's own count of our requests, read from its `X-Ratelimit-*` headers.

Reddit answers every request with `X-Ratelimit-Remaining` (requests left in its window)
and `X-Ratelimit-Reset` (seconds until the window ends). Once nothing remains, the next
request waits for the reset instead of earning a 429; a reset further away than
`max_wait` is not slept through: the request fails retryably and the activity retry
waits, holding no worker slot.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType

import httpx

from integrations.errors import VendorError
from integrations.http import tls_context


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        value = float(headers.get(name, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


class RedditQuota(AbstractAsyncContextManager[None]):
    """A limit (entered before each request) that holds requests while Reddit's window is
    used up; `observe` reads the headers of every answer."""

    def __init__(self, max_wait: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.max_wait = max_wait
        self._clock = clock
        self.remaining: float | None = None  # None: Reddit has not said
        self._reset_at = 0.0

    def observe(self, headers: Mapping[str, str]) -> None:
        """Remember what Reddit said about its window (answers without the headers say nothing)."""
        remaining = _header_number(headers, "x-ratelimit-remaining")
        reset = _header_number(headers, "x-ratelimit-reset")
        if remaining is None or reset is None:
            return
        self.remaining = remaining
        self._reset_at = self._clock() + reset

    @property
    def wait_seconds(self) -> float:
        """How long the next request has to wait for Reddit's window to reset."""
        if self.remaining is None or self.remaining >= 1:
            return 0.0
        return max(0.0, self._reset_at - self._clock())

    async def __aenter__(self) -> None:
        wait = self.wait_seconds
        if wait > self.max_wait:
            raise VendorError(
                "reddit",
                f"rate limit used up; Reddit's window resets in {wait:.0f} s",
                status=429,
                code="REDDIT_RATE_LIMITED",
                retryable=True,
                retry_after=wait,
            )
        if wait > 0:
            await asyncio.sleep(wait)
            self.remaining = None  # a fresh window: the next answer tells the new count

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class QuotaObservingTransport(httpx.AsyncBaseTransport):
    """Passes requests on and shows every answer's headers (429s and retries too) to a quota."""

    def __init__(self, quota: RedditQuota, inner: httpx.AsyncBaseTransport | None = None):
        self._quota = quota
        self._inner = inner or httpx.AsyncHTTPTransport(verify=tls_context())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self._quota.observe(response.headers)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
