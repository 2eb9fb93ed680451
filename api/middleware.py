"""Pure ASGI middlewares for the gateway (request context and access log, body size
limit, security headers) and the in-memory token-bucket limiter behind the per-key rate
limit.

They are plain ASGI callables rather than `BaseHTTPMiddleware`s: that one buffers and
re-wraps bodies in a task group, which would defeat streaming limits and costs a task per
request. Error bodies follow the API's `{code, message, details?}` shape.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logging import access_line, bind_request
from core.metrics import HttpMetrics, answering
from core.shared_buckets import checked_rate, take_token

__all__ = [
    "API_CSP",
    "DOCS_CSP",
    "BodySizeLimitMiddleware",
    "RequestContextMiddleware",
    "RequestRateLimiter",
    "SecurityHeadersMiddleware",
    "SomeReadsTraced",
    "UnexpectedErrorMiddleware",
    "send_error",
]


async def send_error(
    send: Send, status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> None:
    payload: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        payload["details"] = details
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


logger = logging.getLogger("api.errors")

# What an `X-Request-ID` from the caller may be; anything else gets an id of ours.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


def route_template(scope: Scope) -> str | None:
    """The matched route's path template (`/v1/workflows/{workflow_id}`), once routed."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


class RequestContextMiddleware:
    """Outermost: gives each request an id (the caller's `X-Request-ID` when it is a
    plain token, else a new one), returns it in `X-Request-ID`, binds it to every log
    line written for the request, and writes one access line when the answer is sent:
    method, route template, status, duration, with the tenant and caller `api.auth`
    found (see `core.logging`), and counts it in `metrics`."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _given_request_id(scope) or uuid.uuid4().hex
        header = (b"x-request-id", request_id.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        with bind_request(request_id), answering(self.metrics):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = route_template(scope)
                seconds = time.perf_counter() - started
                if self.metrics is not None:
                    self.metrics.observe(scope["method"], route, status, seconds)
                access_line(scope["method"], route, scope["path"], status, round(seconds * 1000, 2))


class SomeReadsTraced:
    """Sends every write, `reads_ratio` of the reads (GET, HEAD) and every read that
    carries its caller's trace (`traceparent`) to `traced`; the other reads to
    `untraced`, the same stack without the tracing middleware."""

    def __init__(self, untraced: ASGIApp, traced: ASGIApp, reads_ratio: float) -> None:
        self.untraced = untraced
        self.traced = traced
        self.reads_ratio = reads_ratio

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            # A sample, not a secret: the standard generator is what it needs.
            and random.random() >= self.reads_ratio  # noqa: S311  # nosec B311
            and not any(name == b"traceparent" for name, _ in scope.get("headers", ()))
        ):
            with suppress_instrumentation():  # no span for its queries either
                await self.untraced(scope, receive, send)
        else:
            await self.traced(scope, receive, send)


def _given_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.fullmatch(text) else None
    return None


class UnexpectedErrorMiddleware:
    """The 500 for an error nothing else handled, answered here rather than by Starlette's
    outermost `ServerErrorMiddleware`. That one sends its answer and raises the error
    again, and uvicorn then closes the connection: a client on keep-alive saw its next
    request reset. Here the error is logged and answered, and the connection stays open.
    An error after the answer started can only be logged; the server closes that one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception:
            if started:
                raise
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await send_error(
                send, 500, "INTERNAL", "an unexpected error occurred; it has been logged"
            )


class _BodyTooLarge(Exception):
    """Raised from the wrapped `receive` once the streamed body passes the limit."""


class _BadContentLength(Exception):
    pass


class BodySizeLimitMiddleware:
    """Answer 413 to request bodies larger than `max_bytes`, declared or streamed.

    A `content-length` over the limit is refused before the app runs. Otherwise `receive`
    is wrapped to count body bytes and raises as soon as the count passes the limit, so the
    app never gets the chunk that crosses it. If the app swallows that error (FastAPI turns
    body-read failures into a 400), whatever it answers instead is dropped and replaced by
    the 413. If the response had already started, the error propagates and the server
    aborts the connection. A malformed `content-length` gets a 400.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError("max_bytes must be a non-negative integer")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            declared = _declared_length(scope)
        except _BadContentLength:
            await send_error(send, 400, "BAD_REQUEST", "the Content-Length header is not valid")
            return
        if declared is not None and declared > self.max_bytes:
            await self._send_too_large(send)
            return

        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                return  # the app's answer to the failed read; the 413 replaces it
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or response_started:
                raise
            await self._send_too_large(send)
            return
        if exceeded and not response_started:
            await self._send_too_large(send)

    async def _send_too_large(self, send: Send) -> None:
        await send_error(
            send,
            413,
            "PAYLOAD_TOO_LARGE",
            f"the request body is larger than {self.max_bytes} bytes",
            {"max_bytes": self.max_bytes},
        )


def _declared_length(scope: Scope) -> int | None:
    """The `content-length` value; repeated or comma-listed values must all agree."""
    values: set[int] = set()
    for name, raw in scope.get("headers", ()):
        if name.lower() != b"content-length":
            continue
        for part in raw.split(b","):
            digits = part.strip(b" \t")
            if not digits.isdigit():  # bytes.isdigit is ASCII-only; rejects "", "+1", "1_0"
                raise _BadContentLength
            significant = digits.lstrip(b"0")
            # Avoid int() on huge digit strings; anything this long is over any limit.
            values.add(int(significant or b"0") if len(significant) <= 18 else 10**18)
    if len(values) > 1:
        raise _BadContentLength
    return values.pop() if values else None


API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        # Swagger UI / ReDoc bundles served by the API itself (fastapi-offline), plus
        # FastAPI's inline init script: nothing is loaded from another origin.
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",  # ReDoc's search worker
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
_DEFAULT_DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")


class SecurityHeadersMiddleware:
    """Add browser hardening headers to every HTTP response without overriding any the app set.

    JSON endpoints get a CSP that forbids everything; the docs pages (`docs_paths`) get one
    that allows the Swagger UI / ReDoc assets FastAPI loads. `/v1/...` answers carry tenant
    data, so they get `Cache-Control: no-store`. HSTS is opt-in: only send it when every
    client reaches the service over HTTPS.
    """

    def __init__(
        self, app: ASGIApp, *, hsts: bool, docs_paths: Collection[str] = _DEFAULT_DOCS_PATHS
    ) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)
        common: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if hsts:
            common.append((b"strict-transport-security", HSTS.encode()))
        csp = b"content-security-policy"
        self._docs_headers = [*common, (csp, DOCS_CSP.encode())]
        self._api_headers = [*common, (csp, API_CSP.encode())]
        self._v1_headers = [*self._api_headers, (b"cache-control", b"no-store")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers_for(_route_path(scope))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        if path in self.docs_paths:
            return self._docs_headers
        if path == "/v1" or path.startswith("/v1/"):
            return self._v1_headers
        return self._api_headers


def _route_path(scope: Scope) -> str:
    """The path as the app routes it, without a `root_path` prefix the server put in."""
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


class RequestRateLimiter:
    """In-memory token buckets, one per key: `burst` requests at once, refilled at
    `rate_per_second`.

    `acquire(key)` takes a token and returns None, or returns the seconds until the next
    token (> 0, for `Retry-After`) without taking one. State is per process: the API uses
    it only when it cannot share `core.shared_buckets` with its other processes. It never
    awaits and holds a lock for the few arithmetic steps, so it is safe from the event
    loop and from threadpool dependencies alike.

    Memory is bounded: buckets idle long enough to have refilled completely are equivalent
    to new ones and are dropped (oldest first, amortised O(1)); past `max_keys` the least
    recently used bucket is dropped too, which can only make that key's limit more lenient.
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_keys: int = 100_000,
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.rate = checked_rate(rate_per_second, burst)
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._refill_seconds = burst / self.rate  # empty to full
        # key -> (tokens, last update); insertion order == least recently used first.
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Take one token for `key`: None if allowed, else seconds to wait."""
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.pop(key, (None, now))
            left, wait = take_token(tokens, now - updated, self.rate, self.burst)
            self._buckets[key] = (left, now)
            self._evict(now)
            return wait

    def __len__(self) -> int:
        """How many keys currently have a bucket."""
        return len(self._buckets)

    def _evict(self, now: float) -> None:
        buckets = self._buckets
        while len(buckets) > self.max_keys:
            del buckets[next(iter(buckets))]
        while buckets:
            oldest = next(iter(buckets))
            if now - buckets[oldest][1] < self._refill_seconds:
                break
            del buckets[oldest]
