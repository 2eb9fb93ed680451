"""Input hygiene at the edge: what no field of ours may hold is refused before any route,
validation or query sees it (issue 14, ADR 0024).

- Control characters (C0 but tab, newline and carriage return in bodies; DEL; C1) and
  lone UTF-16 surrogates, in the path, the query string or any string of a JSON body
  (object keys included), answer 422 `VALIDATION_ERROR` naming where. Postgres cannot
  store a NUL or a surrogate, so before this they answered 500 from the first query.
- A request body that is not JSON answers 415 `UNSUPPORTED_MEDIA_TYPE`: every operation
  that takes a body takes `application/json` (or a `+json` type).

A body that is not valid JSON is left to the route, which answers 422 as before.

- A query parameter the operation does not declare answers 422 (`KnownQueryRoute`),
  except on the operations vendors call (the Etsy OAuth callback, Printify's webhook).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.params import ParamTypes
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import send_error

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Tab, newline and carriage return are text in a body (a note, a reason); nowhere else.
_IN_BODY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_ANYWHERE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MAX_REPORTED = 10


class InputHygieneMiddleware:
    """Refuse control characters and non-JSON bodies (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problems = _url_problems(scope)
        if problems:
            await _refuse(send, problems)
            return
        if scope["method"] not in BODY_METHODS or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        if not _is_json(_header(scope, b"content-type")):
            await send_error(
                send,
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "request bodies are JSON: send Content-Type: application/json",
                {"accepted": ["application/json"]},
            )
            return
        body, rest = await _read_body(receive)
        problems = _body_problems(body)
        if problems:
            await _refuse(send, problems)
            return
        await self.app(scope, _replay(body, rest, receive), send)


def _url_problems(scope: Scope) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    if _ANYWHERE.search(scope["path"]):
        problems.append(_problem(["path"]))
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            return [*problems, _problem(["query"], "the query string is not UTF-8")]
        for name, value in pairs:
            if _ANYWHERE.search(name):
                problems.append(_problem(["query"]))
            elif _ANYWHERE.search(value):
                problems.append(_problem(["query", name]))
    return problems


def _body_problems(body: bytes) -> list[dict[str, Any]]:
    try:
        document = json.loads(body)
    except ValueError:  # not JSON (or not UTF-8): the route's validation says so
        return []
    problems: list[dict[str, Any]] = []
    _walk(document, ["body"], problems)
    return problems


def _walk(node: Any, loc: list[str], problems: list[dict[str, Any]]) -> None:
    if len(problems) >= _MAX_REPORTED:
        return
    if isinstance(node, str):
        if _IN_BODY.search(node):
            problems.append(_problem(loc))
    elif isinstance(node, dict):
        for key, value in node.items():
            if _IN_BODY.search(key):
                problems.append(_problem(loc, "a field name holds a control character"))
                continue
            _walk(value, [*loc, key], problems)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk(value, [*loc, str(index)], problems)


def _problem(loc: list[str], message: str | None = None) -> dict[str, Any]:
    return {
        "loc": loc,
        "message": message or "control characters (NUL among them) are not allowed here",
        "type": "control_character",
    }


async def _refuse(send: Send, problems: list[dict[str, Any]]) -> None:
    await send_error(
        send,
        422,
        "VALIDATION_ERROR",
        "the request holds characters no field accepts",
        {"errors": problems[:_MAX_REPORTED]},
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return _header(scope, b"transfer-encoding") is not None


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole body (already size-limited outside), and any non-body message met."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), []


def _replay(body: bytes, rest: list[Message], original: Receive) -> Receive:
    """A `receive` that gives the buffered body once, then what the server sends."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *rest]

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await original()

    return receive


# Operations a vendor calls: what else it sends is not ours to refuse.
VENDOR_CALLED = frozenset({"etsy_callback", "printify_webhook"})


class KnownQueryRoute(APIRoute):
    """An operation that answers 422 to a query parameter it does not declare (a typo
    such as `limt=5` was silently ignored), but for the operations vendors call. Every
    router of the API makes its routes of this class (`tests/api/test_input_hygiene.py`
    checks that each operation does).

    Checked in the route's handler, not as an app-wide dependency: FastAPI solves a
    dependency on every request, which cost a cached read ~17 µs of its ~210 µs (in
    process, 5 000 reads of `/v1/listings`), and most requests carry no query."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.operation_id in VENDOR_CALLED:
            return handler

        async def checked(request: Request) -> Response:
            if request.scope.get("query_string"):
                refuse_unknown_query(request, self)
            return await handler(request)

        return checked


def refuse_unknown_query(request: Request, route: APIRoute) -> None:
    """422 naming the query parameters `route` does not declare, if any."""
    unknown = sorted(set(request.query_params) - _declared_query(route))
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": "not a parameter of this operation",
                    "type": "unknown_parameter",
                }
                for name in unknown[:_MAX_REPORTED]
            ]
        )


def _declared_query(route: APIRoute) -> frozenset[str]:
    """The query parameters `route` declares, kept on the route (it is not hashable)."""
    declared: frozenset[str] | None = getattr(route, "_declared_query", None)
    if declared is None:
        declared = frozenset(
            field.alias
            for field in get_flat_params(route.dependant)
            if getattr(field.field_info, "in_", None) == ParamTypes.query
        )
        route._declared_query = declared  # type: ignore[attr-defined]
    return declared
