"""The pure ASGI middlewares and the token-bucket limiter, on a tiny app of their own.

Over 400 lines on purpose: each middleware's limits and headers, case by case."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from api.middleware import (
    API_CSP,
    DOCS_CSP,
    BodySizeLimitMiddleware,
    RequestRateLimiter,
    SecurityHeadersMiddleware,
)
from tests.conftest import api_client

LIMIT = 16
TOO_LARGE = {
    "code": "PAYLOAD_TOO_LARGE",
    "message": f"the request body is larger than {LIMIT} bytes",
    "details": {"max_bytes": LIMIT},
}


def build_app(*, hsts: bool = False) -> tuple[FastAPI, list[str]]:
    """A small app behind both middlewares; `events` records what the endpoints saw."""
    events: list[str] = []
    app = FastAPI()

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            events.append(f"chunk:{len(chunk)}")
        events.append(f"done:{size}")
        return {"size": size}

    @app.post("/json")
    async def json_body(payload: dict[str, Any]) -> dict[str, int]:
        events.append(f"json:{len(payload)}")
        return {"keys": len(payload)}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/items")
    async def items() -> dict[str, list[int]]:
        return {"items": [1, 2]}

    @app.get("/v1/cached")
    async def cached() -> JSONResponse:
        return JSONResponse(
            {"cached": True},
            headers={"Cache-Control": "max-age=60", "X-Frame-Options": "SAMEORIGIN"},
        )

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=LIMIT)
    app.add_middleware(SecurityHeadersMiddleware, hsts=hsts)
    return app, events


async def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def call_asgi(
    app: Any, *, headers: list[tuple[bytes, bytes]], body: list[bytes]
) -> tuple[list[Message], list[Message]]:
    """Drive an ASGI app by hand: returns (messages the app received, messages it sent)."""
    inbox: list[Message] = [
        {"type": "http.request", "body": part, "more_body": i < len(body) - 1}
        for i, part in enumerate(body)
    ] or [{"type": "http.request", "body": b"", "more_body": False}]
    received: list[Message] = []
    sent: list[Message] = []

    async def receive() -> Message:
        message = inbox.pop(0) if inbox else {"type": "http.disconnect"}
        received.append(message)
        return message

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "root_path": "",
        "headers": headers,
        "query_string": b"",
    }
    await app(scope, receive, send)
    return received, sent


# --- body size limit --------------------------------------------------------------------


async def test_declared_oversize_body_is_refused_before_the_app_runs() -> None:
    app, events = build_app()
    async with await client_for(app) as client:
        response = await client.post("/raw", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json() == TOO_LARGE
    assert events == []


async def test_streamed_oversize_body_is_cut_off_before_the_endpoint_sees_it_all() -> None:
    app, events = build_app()
    async with await client_for(app) as client:
        response = await client.post("/raw", content=chunks(b"a" * 10, b"b" * 10, b"c" * 10))
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    # The endpoint got the first chunk only and never finished.
    assert events == ["chunk:10"]


async def test_streamed_oversize_json_body_is_413_although_fastapi_swallows_the_error() -> None:
    # FastAPI turns any body-read failure into its own 400; the middleware must replace it.
    app, events = build_app()
    async with await client_for(app) as client:
        response = await client.post(
            "/json",
            content=chunks(b'{"a": "', b"x" * 20, b'"}'),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert events == []


@pytest.mark.parametrize("size", [0, 1, LIMIT])
async def test_bodies_up_to_the_limit_pass(size: int) -> None:
    app, events = build_app()
    async with await client_for(app) as client:
        declared = await client.post("/raw", content=b"x" * size)
        streamed = await client.post("/raw", content=chunks(b"x" * size))
    assert declared.status_code == streamed.status_code == 200
    assert declared.json() == streamed.json() == {"size": size}
    assert events.count(f"done:{size}") == 2


async def test_json_body_at_the_limit_is_parsed() -> None:
    app, events = build_app()
    body = b'{"a":1,"b":2345}'
    assert len(body) == LIMIT
    async with await client_for(app) as client:
        response = await client.post(
            "/json",
            content=chunks(body[:5], body[5:]),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 200
    assert response.json() == {"keys": 2}
    assert events == ["json:2"]


@pytest.mark.parametrize(
    "value", [b"abc", b"", b"-1", b"+5", b"1_0", b"0x10", b"1.5", b"5, 6", "\u0661".encode()]
)
async def test_malformed_content_length_is_a_400(value: bytes) -> None:
    app, events = build_app()
    received, sent = await call_asgi(app, headers=[(b"content-length", value)], body=[b"x"])
    assert sent[0]["status"] == 400
    assert httpx.Response(400, content=sent[1]["body"]).json() == {
        "code": "BAD_REQUEST",
        "message": "the Content-Length header is not valid",
    }
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert received == [] and events == []


async def test_malformed_content_length_over_http_is_a_400() -> None:
    app, _ = build_app()
    async with await client_for(app) as client:
        response = await client.get("/health", headers={"content-length": "ten"})
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"


async def test_conflicting_content_length_headers_are_a_400() -> None:
    inner_calls: list[Scope] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        inner_calls.append(scope)

    app = BodySizeLimitMiddleware(inner, max_bytes=LIMIT)
    headers = [(b"content-length", b"3"), (b"Content-Length", b"4")]
    _, sent = await call_asgi(app, headers=headers, body=[b"abc"])
    assert sent[0]["status"] == 400
    assert inner_calls == []


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (b"3, 3", 200),
        (b"0003", 200),
        (str(LIMIT).encode(), 200),
        (str(LIMIT + 1).encode(), 413),
        (b"9" * 5000, 413),  # longer than int() accepts; still just "too large"
    ],
)
async def test_content_length_values(value: bytes, status: int) -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = BodySizeLimitMiddleware(inner, max_bytes=LIMIT)
    _, sent = await call_asgi(app, headers=[(b"content-length", value)], body=[b"abc"])
    assert sent[0]["status"] == status


async def test_the_app_never_receives_the_chunk_that_crosses_the_limit() -> None:
    seen: list[bytes] = []
    errors: list[BaseException] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            while True:
                message = await receive()
                seen.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
        except Exception as exc:
            errors.append(exc)
        # Tries to answer after a failed read (as FastAPI does) and to read once more.
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"bad body"})
        with pytest.raises(Exception):  # noqa: B017 - the error type is private
            await receive()

    app = BodySizeLimitMiddleware(inner, max_bytes=LIMIT)
    _, sent = await call_asgi(app, headers=[], body=[b"a" * 8, b"b" * 8, b"c", b"d" * 8])
    assert seen == [b"a" * 8, b"b" * 8]
    assert len(errors) == 1
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 413
    assert httpx.Response(413, content=sent[1]["body"]).json() == TOO_LARGE


async def test_overflow_after_the_response_started_propagates() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass

    app = BodySizeLimitMiddleware(inner, max_bytes=LIMIT)
    with pytest.raises(Exception) as caught:
        await call_asgi(app, headers=[], body=[b"x" * LIMIT, b"y"])
    assert type(caught.value).__name__ == "_BodyTooLarge"


async def test_unrelated_app_errors_are_not_turned_into_413() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise RuntimeError("boom")

    app = BodySizeLimitMiddleware(inner, max_bytes=LIMIT)
    with pytest.raises(RuntimeError, match="boom"):
        await call_asgi(app, headers=[], body=[b"small"])


async def test_non_http_scopes_pass_through_untouched() -> None:
    calls: list[tuple[Scope, Receive, Send]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    scope: Scope = {"type": "lifespan"}
    await BodySizeLimitMiddleware(inner, max_bytes=1)(scope, receive, send)
    await SecurityHeadersMiddleware(inner, hsts=True)(scope, receive, send)
    assert calls == [(scope, receive, send), (scope, receive, send)]


@pytest.mark.parametrize("max_bytes", [-1, True, 1.5])
def test_max_bytes_must_be_a_non_negative_int(max_bytes: Any) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        BodySizeLimitMiddleware(FastAPI(), max_bytes=max_bytes)


# --- security headers -------------------------------------------------------------------

COMMON_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


async def test_every_response_gets_the_hardening_headers() -> None:
    app, _ = build_app()
    async with await client_for(app) as client:
        responses = [
            await client.get("/health"),
            await client.get("/missing"),
            await client.post("/raw", content=b"x" * 100),  # 413 from the inner middleware
        ]
    for response in responses:
        for name, value in COMMON_HEADERS.items():
            assert response.headers.get_list(name) == [value], (response.url, name)
        assert response.headers["content-security-policy"] == API_CSP
        assert "strict-transport-security" not in response.headers
        assert "cache-control" not in response.headers
    assert API_CSP == "default-src 'none'; frame-ancestors 'none'"


async def test_hsts_only_when_enabled() -> None:
    app, _ = build_app(hsts=True)
    async with await client_for(app) as client:
        response = await client.get("/health")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_v1_responses_are_not_stored_unless_the_app_says_otherwise() -> None:
    app, _ = build_app()
    async with await client_for(app) as client:
        items = await client.get("/v1/items")
        cached = await client.get("/v1/cached")
        missing = await client.get("/v1/nothing-here")
    assert items.headers["cache-control"] == "no-store"
    assert missing.headers["cache-control"] == "no-store"
    assert cached.headers.get_list("cache-control") == ["max-age=60"]
    assert cached.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert cached.headers["x-content-type-options"] == "nosniff"


def _directive(csp: str, name: str) -> list[str]:
    for directive in csp.split(";"):
        parts = directive.split()
        if parts and parts[0] == name:
            return parts[1:]
    raise AssertionError(f"no {name} in {csp!r}")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_load_only_their_own_assets_offline(app: FastAPI, path: str) -> None:
    """The API's docs pages (the real app) load Swagger UI / ReDoc from the API itself,
    not a CDN, so they work with no network; their CSP allows nothing from elsewhere."""
    async with api_client(app) as client:
        page = await client.get(path)
        schema = await client.get("/openapi.json")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert csp == DOCS_CSP != API_CSP
        assert schema.headers["content-security-policy"] == API_CSP
        html = page.text
        assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
        assert any(url.endswith(".js") for url in assets), html
        for url in assets:
            assert url.startswith("/docs/assets/"), url  # same origin, no CDN
            served = await client.get(url)
            assert served.status_code == 200 and len(served.content) > 1_000, url
    for directive in ("script-src", "style-src", "img-src", "font-src"):
        assert not [s for s in _directive(csp, directive) if s.startswith("http")], directive
    if re.search(r"<script>\s*\S", html):  # the inline init script
        assert "'unsafe-inline'" in _directive(csp, "script-src")
    assert _directive(csp, "frame-ancestors") == ["'none'"]


async def test_docs_paths_are_matched_below_a_root_path() -> None:
    sent: list[Message] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    app = SecurityHeadersMiddleware(inner, hsts=False)
    for path in ["/api/docs", "/api/v1/items"]:
        scope = {"type": "http", "path": path, "root_path": "/api", "headers": []}
        await app(scope, receive, send)
    docs, v1 = (dict(message["headers"]) for message in sent)
    assert docs[b"content-security-policy"] == DOCS_CSP.encode()
    assert v1[b"cache-control"] == b"no-store"


# --- rate limiter -----------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_burst_then_refill_with_the_wait_until_the_next_token() -> None:
    clock = FakeClock()
    limiter = RequestRateLimiter(rate_per_second=2.0, burst=3, clock=clock)
    assert [limiter.acquire("k") for _ in range(3)] == [None, None, None]
    assert limiter.acquire("k") == pytest.approx(0.5)
    clock.advance(0.2)
    assert limiter.acquire("k") == pytest.approx(0.3)  # a refused call takes no token
    clock.advance(0.3)
    assert limiter.acquire("k") is None
    assert limiter.acquire("k") == pytest.approx(0.5)


def test_slow_rates_give_long_waits() -> None:
    clock = FakeClock()
    limiter = RequestRateLimiter(rate_per_second=0.1, burst=1, clock=clock)
    assert limiter.acquire("k") is None
    wait = limiter.acquire("k")
    assert wait == pytest.approx(10.0)
    clock.advance(9.99)
    assert (limiter.acquire("k") or 0) > 0
    clock.advance(0.01)
    assert limiter.acquire("k") is None


def test_refill_is_capped_at_the_burst() -> None:
    clock = FakeClock()
    limiter = RequestRateLimiter(rate_per_second=1.0, burst=2, clock=clock)
    limiter.acquire("k")
    clock.advance(3600)
    assert [limiter.acquire("k") for _ in range(3)] == [None, None, pytest.approx(1.0)]


def test_keys_have_their_own_buckets() -> None:
    limiter = RequestRateLimiter(rate_per_second=1.0, burst=1, clock=FakeClock())
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is not None
    assert limiter.acquire("b") is None


def test_buckets_that_refilled_are_evicted() -> None:
    clock = FakeClock()
    limiter = RequestRateLimiter(rate_per_second=1.0, burst=4, clock=clock)  # full in 4 s
    for key in ("a", "b", "c"):
        limiter.acquire(key)
    for _ in range(3):
        limiter.acquire("b")  # b is now empty
    clock.advance(2.0)
    assert limiter.acquire("b") is None  # 2 refilled, 1 taken: b is used again, 1 left
    clock.advance(2.0)  # a and c have been idle for 4 s = burst / rate: full again
    limiter.acquire("d")
    assert len(limiter) == 2  # b and d
    # Dropping full buckets changes nothing: "a" still gets its whole burst.
    assert [limiter.acquire("a") for _ in range(5)] == [None] * 4 + [pytest.approx(1.0)]
    # "b" kept its state: 1 left + 2 refilled = 3, not a fresh 4.
    assert [limiter.acquire("b") for _ in range(4)] == [None] * 3 + [pytest.approx(1.0)]


def test_the_number_of_buckets_is_bounded() -> None:
    clock = FakeClock()
    limiter = RequestRateLimiter(rate_per_second=1.0, burst=1, clock=clock, max_keys=3)
    for i in range(10):
        limiter.acquire(f"k{i}")
        clock.advance(0.01)
    assert len(limiter) == 3
    # The most recently used keys are still limited; the oldest were forgotten.
    assert limiter.acquire("k9") is not None
    assert limiter.acquire("k0") is None


@pytest.mark.parametrize(
    ("rate", "burst", "max_keys"),
    [(0, 1, 1), (-1, 1, 1), (float("inf"), 1, 1), (float("nan"), 1, 1), (1, 0, 1), (1, 1, 0)],
)
def test_limiter_parameters_are_validated(rate: float, burst: int, max_keys: int) -> None:
    with pytest.raises(ValueError):
        RequestRateLimiter(rate, burst, max_keys=max_keys)


def test_default_clock_is_monotonic() -> None:
    limiter = RequestRateLimiter(rate_per_second=1000.0, burst=1)
    assert limiter.acquire("k") is None
    wait = limiter.acquire("k")
    assert wait is None or 0 < wait <= 0.001


async def test_streaming_endpoint_reading_the_body_is_cut_off() -> None:
    # A response streamed while the body is still being read: overflow before start → 413.
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> StreamingResponse:
        body = b""
        async for chunk in request.stream():
            body += chunk
        return StreamingResponse(chunks(body))

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=LIMIT)
    async with await client_for(app) as client:
        ok = await client.post("/echo", content=chunks(b"12345678"))
        refused = await client.post("/echo", content=chunks(b"12345678", b"123456789"))
    assert ok.content == b"12345678"
    assert refused.status_code == 413
