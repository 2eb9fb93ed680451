"""Fault injection for the emulators, driven over HTTP by tests.

A fault rule matches a method and a path regex and fires a number of times, on every
match or, with `rate`, on that share of matches (seeded, so a run repeats). Modes:
- `before` answers with the given status without doing the work (a refused call);
- `after` does the work and then answers with the status (a lost response: the
  vendor acted, the client did not hear it);
- `slow` waits `delay_seconds`, then serves the request normally;
- `expired_token` answers 401 in the vendor's shape for an expired access token
  (Etsy: `{"error": "invalid_token", …}`), without doing the work.
All are what real vendors do to clients.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Request, Response
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

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            chance = random.Random(rule.seed)  # noqa: S311 - test traffic, not crypto
            self._rules.append(_ActiveRule(rule, re.compile(rule.path_regex), rule.times, chance))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.requests.clear()

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


def _fault_response(rule: FaultRule, path: str = "") -> Response:
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
            return _fault_response(rule)
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

    return router
