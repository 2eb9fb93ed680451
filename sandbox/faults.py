"""Fault injection for the emulators, driven over HTTP by tests.

A fault rule matches a method and a path regex and fires a number of times, on every
match or, with `rate`, on that share of matches (seeded, so a run repeats). Modes:
- `before` answers with the given status without doing the work (a refused call);
- `after` does the work and then answers with the status (a lost response: the
  vendor acted, the client did not hear it);
- `slow` waits `delay_seconds`, then serves the request normally;
- `expired_token` answers 401 in the vendor's shape for an expired access token
  (Etsy: `{"error": "invalid_token", …}`), without doing the work.
All are what real vendors do to clients. The injector also keeps when each vendor request
arrived, so tests can check the traffic against the vendors' rate limits
(`GET /__admin/traffic`). Under `/openai` every fault answers in OpenAI's
error shape, with `retry-after-ms` next to `retry-after` and an `x-request-id`.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import JSONResponse


class FaultRule(BaseModel):
    method: str = "POST"
    path_regex: str
    status: int = Field(default=503, ge=400, le=599)
    mode: Literal["before", "after", "slow", "expired_token"] = "before"
    times: int = Field(default=1, ge=1)
    retry_after: int | None = None
    rate: float | None = Field(default=None, gt=0, le=1, description="Share of matches hit")
    seed: int = 0
    delay_seconds: float = Field(default=0.0, ge=0, le=30)


@dataclass
class _ActiveRule:
    rule: FaultRule
    pattern: re.Pattern[str]
    remaining: int
    chance: random.Random


class FaultInjector:
    """Holds the active rules and counts requests per (method, path) for assertions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_ActiveRule] = []
        self.requests: list[tuple[str, str, int]] = []
        self._arrivals: list[tuple[float, str]] = []  # (monotonic time, path)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            chance = random.Random(rule.seed)  # noqa: S311 - test traffic, not crypto
            self._rules.append(_ActiveRule(rule, re.compile(rule.path_regex), rule.times, chance))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.requests.clear()
            self._arrivals.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first matching rule with shots left, consuming one shot."""
        with self._lock:
            for active in self._rules:
                if (
                    active.remaining > 0
                    and active.rule.method.upper() == method.upper()
                    and active.pattern.search(path)
                ):
                    rate = active.rule.rate
                    if rate is not None and active.chance.random() >= rate:
                        continue
                    active.remaining -= 1
                    return active.rule
        return None

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))

    def arrived(self, path: str) -> None:
        """Note that a request for `path` arrived now (faulted ones too: vendors count them)."""
        with self._lock:
            self._arrivals.append((time.monotonic(), path))

    def arrival_times(self, prefix: str) -> list[float]:
        """When the API requests for paths under `prefix` arrived, in order (Printify's
        mock-up files come from its CDN, which no API rate limit counts)."""
        with self._lock:
            return [
                at
                for at, path in self._arrivals
                if path.startswith(prefix) and "/mockups/" not in path
            ]


def most_in_window(times: Sequence[float], window: float) -> int:
    """The most of the sorted `times` that fall in any half-open span of `window` seconds."""
    most = start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


_OPENAI_ERRORS: dict[int, tuple[str, str, str]] = {
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
}


def _openai_fault_response(rule: FaultRule) -> Response:
    status = 401 if rule.mode == "expired_token" else rule.status
    kind = "server_error" if status >= 500 else "invalid_request_error"
    kind, code, message = _OPENAI_ERRORS.get(status, (kind, None, f"Injected fault ({status})."))
    headers = {"x-request-id": f"req_{secrets.token_hex(16)}"}
    if rule.retry_after is not None:
        headers |= {
            "retry-after": str(rule.retry_after),
            "retry-after-ms": f"{rule.retry_after}000",
        }
    error = {"message": message, "type": kind, "param": None, "code": code}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _fault_response(rule: FaultRule, path: str = "") -> Response:
    if path.startswith("/openai"):
        return _openai_fault_response(rule)
    if rule.mode == "expired_token":
        if path.startswith("/etsy"):
            body: dict[str, object] = {
                "error": "invalid_token",
                "error_description": "access token is expired",
            }
        else:  # Printify's error shape
            body = {
                "status": "error",
                "code": 401,
                "message": "Unauthenticated.",
                "errors": {"reason": "Token expired", "code": 401},
            }
        return JSONResponse(body, status_code=401, headers={"www-authenticate": "Bearer"})
    headers = {"retry-after": str(rule.retry_after)} if rule.retry_after is not None else None
    return JSONResponse(
        {"error": "injected fault", "status": rule.status}, status_code=rule.status, headers=headers
    )


class FaultMiddleware(BaseHTTPMiddleware):
    """Applies fault rules around the emulator routes and records every request."""

    def __init__(self, app: object, injector: FaultInjector) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.injector = injector

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path.startswith("/__admin"):
            return await call_next(request)
        self.injector.arrived(path)
        rule = self.injector.take(request.method, path)
        if rule is not None and rule.mode == "slow":
            await asyncio.sleep(rule.delay_seconds)
            rule = None
        if rule is not None and rule.mode in ("before", "expired_token"):
            response = _fault_response(rule, path)
            self.injector.record(request.method, path, response.status_code)
            return response
        response = await call_next(request)
        if rule is not None:  # mode "after": the work is done, the answer is lost
            self.injector.record(request.method, path, rule.status)
            return _fault_response(rule, path)
        self.injector.record(request.method, path, response.status_code)
        return response


def admin_router(injector: FaultInjector) -> APIRouter:
    router = APIRouter(prefix="/__admin", include_in_schema=False)

    @router.post("/faults", status_code=204)
    def add_fault(rule: FaultRule) -> Response:
        injector.add(rule)
        return Response(status_code=204)

    @router.delete("/faults", status_code=204)
    def clear_faults() -> Response:
        injector.clear()
        return Response(status_code=204)

    @router.get("/requests")
    def list_requests() -> list[dict[str, object]]:
        return [{"method": m, "path": p, "status": s} for m, p, s in injector.requests]

    @router.get("/traffic")
    def traffic(
        vendor: str = Query(pattern="^[a-z]+$"),
        window: float = Query(default=1.0, gt=0, le=3600),
    ) -> dict[str, object]:
        """A vendor's requests since the faults were last cleared: how many, the seconds
        from the first to the last, and the most that arrived within any `window`."""
        times = injector.arrival_times(f"/{vendor}/")
        return {
            "vendor": vendor,
            "count": len(times),
            "span_seconds": times[-1] - times[0] if times else 0.0,
            "window_seconds": window,
            "max_in_window": most_in_window(times, window),
        }

    return router
