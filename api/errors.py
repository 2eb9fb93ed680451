"""The one place errors become HTTP answers: always `{code, message, details?}`."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.middleware import API_CSP
from core.db import DATABASE_DOWN
from domain.errors import DATABASE_UNAVAILABLE, UNAUTHENTICATED, DomainError, ErrorKind

logger = logging.getLogger(__name__)
# When to try again after the database could not be reached.
DATABASE_RETRY_AFTER_SECONDS = 5
ERROR_HEADERS = {
    "Content-Security-Policy": API_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    402: "QUOTA_EXCEEDED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


# The HTTP status of each kind of error in the catalogue (domain.errors): the only place
# a domain error meets HTTP.
STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID: 422,
    ErrorKind.MALFORMED: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.QUOTA: 402,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.UPSTREAM: 502,
}


def domain_error_headers(exc: DomainError) -> dict[str, str] | None:
    """A credential challenge for a missing or bad API credential; when to come back."""
    if exc.code == UNAUTHENTICATED.code:
        return {"WWW-Authenticate": "Bearer"}
    if exc.retry_after is not None:
        return {"Retry-After": str(math.ceil(exc.retry_after))}
    return None


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the API serves at `path`, from its OpenAPI document. Starlette's 405
    names the methods of the first route whose path matched, and a path served by
    several routes (`GET` and `POST /v1/templates`) has one route per method."""
    matchers: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "method_matchers", None
    )
    if matchers is None:
        matchers = [
            (_template_pattern(template), frozenset(m.upper() for m in operations))
            for template, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.method_matchers = matchers
    allowed: set[str] = set()
    for pattern, methods in matchers:
        if pattern.fullmatch(path):
            allowed |= methods
    return sorted(allowed)


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts if part)
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details),
            status_code=STATUS[exc.kind],
            headers=domain_error_headers(exc),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        return JSONResponse(
            error_body("VALIDATION_ERROR", "the request is not valid", {"errors": errors}),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        if exc.status_code == 405:
            allowed = allowed_methods(app, request.url.path)
            if allowed:
                return JSONResponse(
                    error_body(
                        code,
                        f"{request.method} is not allowed here",
                        {"allowed": allowed},
                    ),
                    status_code=405,
                    headers={"Allow": ", ".join(allowed)},
                )
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        # A connection that cannot be made or was lost: an outage, not a bug (the error
        # text names no secret; the URL's password never reaches it).
        logger.warning("database unreachable on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            error_body(
                DATABASE_UNAVAILABLE.code,
                "the database cannot be reached just now; nothing was changed, try again",
            ),
            status_code=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    for error in DATABASE_DOWN:
        app.add_exception_handler(error, database_down)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        # Sent by Starlette's outermost middleware, past SecurityHeadersMiddleware.
        return JSONResponse(
            error_body("INTERNAL", "an unexpected error occurred; it has been logged"),
            status_code=500,
            headers=ERROR_HEADERS,
        )
