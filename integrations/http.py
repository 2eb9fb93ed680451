"""The shared HTTP core of the vendor clients: rate limits, retries with jitter, error mapping.

Every request passes the limits of its scope first (`Limit`s: entered before it is
sent, left once it is answered). Only requests that cannot duplicate work are retried
here: safe methods (GET, PUT, PATCH, DELETE) and any request the vendor refused before
acting (429). A POST that failed with a 5xx or a lost connection is raised as a
retryable `VendorError`; the activity retry looks up what the vendor already made
before creating it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import random
import ssl
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx
from aiolimiter import AsyncLimiter

from core.metrics import MeteredTransport
from core.waiting import waiting_on
from integrations.errors import RETRYABLE_STATUSES, VendorError, error_code

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
ErrorMessage = Callable[[httpx.Response], tuple[str, dict[str, Any]]]
# Entered before a request is sent and left once it is answered (or has failed).
Limit = AbstractAsyncContextManager[Any]
# The limits a request passes, by (method, path without the leading slash).
LimitsFor = Callable[[str, str], Sequence[Limit]]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's one verifying TLS context (httpx's default: certifi, or
    `SSL_CERT_FILE`). Each client used to build its own, reading the CA bundle again:
    py-spy showed `ssl.create_default_context` at 6 % of the test suite's busy samples,
    most of it vendor clients made per activity."""
    return httpx.create_ssl_context()


class SlidingWindow(AbstractAsyncContextManager[None]):
    """At most `count` requests in any `period` seconds, as the vendor counts them.

    A request counts from when it is let through until `period` after its answer: the
    vendor received it somewhere in between, so no window of the vendor's clock holds
    more than `count`, however the network delays each request. (aiolimiter's leaky
    bucket bounds the average only: a full bucket plus one period's leak lets up to
    twice `count` into one window, too many for a documented cap.)
    """

    def __init__(self, count: int, period: float) -> None:
        if count < 1 or period <= 0:
            raise ValueError("a window needs count >= 1 and period > 0")
        self.count = count
        self.period = period
        self._in_flight = 0
        self._expiries: deque[float] = deque()  # when answered requests leave the window
        self._answered = asyncio.Event()

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._expiries and self._expiries[0] <= now:
                self._expiries.popleft()
            if self._in_flight + len(self._expiries) < self.count:
                self._in_flight += 1
                return
            # Full: wait until the oldest answered request leaves, or another is answered.
            timeout = self._expiries[0] - now if self._expiries else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answered.wait(), timeout)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._in_flight -= 1
        self._expiries.append(asyncio.get_running_loop().time() + self.period)
        answered, self._answered = self._answered, asyncio.Event()
        answered.set()


def steady_rate(per_second: float) -> tuple[Limit, ...]:
    """The limits of a per-second rate: never more than the rate in any second the vendor
    counts, and one request per `1/rate` seconds (aiolimiter with a bucket of one), so
    requests go out evenly instead of in bursts."""
    return SlidingWindow(max(1, math.floor(per_second)), 1.0), AsyncLimiter(1, 1.0 / per_second)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every secret replaced by `***` (strings, lists and dicts)."""
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, list):
        return [redact(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: redact(item, secrets) for key, item in value.items()}
    return value


def backoff_delay(attempt: int, retry_after: float | None, base: float, cap: float) -> float:
    """Full-jitter exponential backoff, never shorter than the vendor's `Retry-After`."""
    jittered = random.uniform(0, min(cap, base * 2**attempt))  # noqa: S311 - jitter, not crypto
    return max(jittered, retry_after or 0.0)


class VendorHttp:
    """One pooled `httpx.AsyncClient` per client, each request behind its scope's limits."""

    def __init__(
        self,
        vendor: str,
        *,
        base_url: str,
        headers: Mapping[str, str],
        limits: LimitsFor,
        error_message: ErrorMessage,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_base: float = 0.25,
        backoff_cap: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.vendor = vendor
        # Credentials never leave in an error: vendors echo them back in bodies.
        self._secrets = {secret for secret in secrets if secret}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=dict(headers),
            timeout=timeout,
            # Each exchange, retries and 429s included, is counted (`core.metrics`).
            transport=MeteredTransport(
                vendor, transport or httpx.AsyncHTTPTransport(verify=tls_context())
            ),
            verify=tls_context(),  # for the proxies' transports the environment may ask for
        )
        self._limits = limits
        self._error_message = error_message
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap

    async def aclose(self) -> None:
        await self._client.aclose()

    def add_secret(self, secret: str) -> None:
        """Redact a credential obtained later (e.g. a refreshed access token) as well."""
        if secret:
            self._secrets.add(secret)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; retry where that cannot duplicate work; raise `VendorError`."""
        method, path = method.upper(), path.lstrip("/")
        where = f"{self._client.base_url.path}{path}"  # the vendor's whole path, /v1/…
        call = f"{self.vendor} {method} {where}"
        attempt = 0
        while True:
            async with AsyncExitStack() as held:
                with waiting_on(f"{self.vendor} rate limit, before {method} {where}"):
                    for limit in self._limits(method, path):
                        await held.enter_async_context(limit)
                try:
                    with waiting_on(call if attempt == 0 else f"{call} (try {attempt + 1})"):
                        response = await self._client.request(method, path, **kwargs)
                except httpx.TransportError as exc:
                    error = VendorError(
                        self.vendor,
                        f"{method} {path} failed: {type(exc).__name__}",
                        code=error_code(self.vendor, None),
                        retryable=True,
                    )
                    response = None
            if response is not None:
                if response.is_success:
                    return response
                error = self._to_error(method, path, response)
            attempt += 1
            may_repeat = method in IDEMPOTENT_METHODS or (
                response is not None and response.status_code == 429
            )
            # A long Retry-After (e.g. a daily quota) is not slept through here: the
            # activity fails retryably and Temporal waits, holding no worker slot.
            too_long = (error.retry_after or 0.0) > self._backoff_cap * 4
            if not (error.retryable and may_repeat) or attempt >= self._max_attempts or too_long:
                raise error
            with waiting_on(
                f"{call}: pause before try {attempt + 1} ({error.status or 'no answer'})"
            ):
                await asyncio.sleep(
                    backoff_delay(attempt, error.retry_after, self._backoff_base, self._backoff_cap)
                )

    def _to_error(self, method: str, path: str, response: httpx.Response) -> VendorError:
        message, details = self._error_message(response)
        message, details = redact(message, self._secrets), redact(details, self._secrets)
        return VendorError(
            self.vendor,
            f"{method} {path} answered {response.status_code}: {message}",
            status=response.status_code,
            code=error_code(self.vendor, response.status_code),
            retryable=response.status_code in RETRYABLE_STATUSES,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            details=details,
        )
