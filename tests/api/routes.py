"""The app's `/v1` routes, enumerated from the app itself (so a new route is never missed)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

RBAC_DOC = Path(__file__).resolve().parents[2] / "docs" / "rbac.md"
ROLES = ("owner", "admin", "editor", "viewer")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    permission: str | None  # None: any valid key

    @property
    def is_write(self) -> bool:
        return self.method not in {"GET", "HEAD"}

    def url(self, **values: str) -> str:
        """The path with its parameters filled (`values` first, then harmless fillers)."""
        fillers = {
            "workflow_id": "dtl-nobody-000000000000000000000000",
            "vendor": "printify",
            "blueprint_id": "6",
            "provider_id": "99",
        }

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            return values.get(name) or fillers.get(name) or str(uuid.uuid4())

        return re.sub(r"\{(\w+)\}", fill, self.path)


# `/v1` routes that take no key, each with its own proof (docs/rbac.md lists them).
PUBLIC_ROUTES = {
    ("GET", "/v1/integrations/etsy/callback"),
    ("POST", "/v1/webhooks/printify"),
    ("GET", "/v1/files/{key}"),
}


def v1_routes(app: FastAPI, *, include_public: bool = False) -> Iterator[Route]:
    """Every `/v1` operation of the app's OpenAPI document, with its required permission.

    The document is generated from the routes' dependencies, so a route whose
    authorisation dependency is missing shows up here without `security` and fails,
    unless it is one of the few `PUBLIC_ROUTES` (yielded only with `include_public`).
    """
    for path, operations in _openapi_paths(app).items():
        if not path.startswith("/v1"):
            continue
        for method, operation in operations.items():
            security = operation.get("security")
            if not security:
                assert (method.upper(), path) in PUBLIC_ROUTES, (
                    f"{method.upper()} {path} has no authorization dependency"
                )
                if include_public:
                    yield Route(method.upper(), path, None)
                continue
            scopes = security[0].get("ApiKey", [])
            yield Route(method.upper(), path, scopes[0] if scopes else None)


# Generating the document takes a second (two under coverage); the tests' apps share their
# routers, so it is made once per set of routers and routes (a new route is a new set).
_PATHS: dict[tuple[object, ...], dict[str, Any]] = {}


def _openapi_paths(app: FastAPI) -> dict[str, Any]:
    signature = tuple(
        ("router", id(route.original_router))
        if hasattr(route, "original_router")  # an included router: the module's own object
        else (
            getattr(route, "path", ""),
            getattr(getattr(route, "endpoint", None), "__qualname__", ""),
        )
        for route in app.routes
    )
    if signature not in _PATHS:
        _PATHS[signature] = app.openapi()["paths"]
    return _PATHS[signature]


@dataclass(frozen=True)
class MatrixRow:
    method: str
    path: str
    permission: str | None
    allowed: dict[str, bool]


def rbac_matrix() -> dict[tuple[str, str], MatrixRow]:
    """The route-by-role table of docs/rbac.md."""
    rows: dict[tuple[str, str], MatrixRow] = {}
    for line in RBAC_DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 + len(ROLES) or cells[0] not in {
            "GET",
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
        }:
            continue
        method, path, permission, *marks = cells
        assert all(mark in {"✓", "✗"} for mark in marks), line
        key = (method, path)
        assert key not in rows, f"{method} {path} is listed twice in {RBAC_DOC.name}"
        rows[key] = MatrixRow(
            method,
            path,
            None if permission.startswith("(") else permission,
            dict(zip(ROLES, (mark == "✓" for mark in marks), strict=True)),
        )
    return rows
