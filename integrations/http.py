"""The shared HTTP core of the vendor clients: rate limit, retries with jitter, error mapping.

Only requests that cannot duplicate work are retried here: safe methods (GET, PUT,
PATCH, DELETE) and any request the vendor refused before acting (429). A POST that
failed with a 5xx or a lost connection is raised as a retryable `VendorError`; the
activity retry looks up what the vendor already made before creating it again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from aiolimiter import AsyncLimiter

from integrations.errors import RETRYABLE_STATUSES, VendorError, error_code

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
ErrorMessage = Callable[[httpx.Response], tuple[str, dict[str, Any]]]


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
    """One pooled `httpx.AsyncClient` per vendor and process, behind an `aiolimiter` limiter."""

    def __init__(
        self,
        vendor: str,
        *,
        base_url: str,
        headers: Mapping[str, str],
        rate_per_second: float,
        error_message: ErrorMessage,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_base: float = 0.25,
        backoff_cap: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
        secrets: Iterable[str] = (),
        limiter: AsyncLimiter | None = None,
    ) -> None:
        self.vendor = vendor
        # Credentials never leave in an error: vendors echo them back in bodies.
        self._secrets = {secret for secret in secrets if secret}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=dict(headers),
            timeout=timeout,
            transport=transport,
        )
        # One request per 1/rate seconds: smooth spacing, so no burst exceeds the vendor rate.
        # A limiter passed in is shared with other clients of the same vendor scope.
        self._limiter = limiter or AsyncLimiter(1, 1.0 / rate_per_second)
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
        method = method.upper()
        attempt = 0
        while True:
            async with self._limiter:
                try:
                    response = await self._client.request(method, path.lstrip("/"), **kwargs)
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
