"""Authentication and roles on every `/v1` route, against the matrix in docs/rbac.md."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from core.db import SessionFactory
from domain.rbac import ROLE_PERMISSIONS, Role
from tests.accounts import Account, bearer, member_key
from tests.api.routes import PUBLIC_ROUTES, RBAC_DOC, ROLES, rbac_matrix, v1_routes
from tests.conftest import api_client


@pytest.fixture
async def role_keys(sessions: SessionFactory, account: Account) -> dict[str, str]:
    keys = {"owner": account.owner_key}
    for role in ("admin", "editor", "viewer"):
        keys[role] = await member_key(sessions, account.tenant_id, role)
    return keys


def test_every_route_has_exactly_one_matrix_row(app: FastAPI) -> None:
    routes = {(r.method, r.path): r for r in v1_routes(app)}
    matrix = rbac_matrix()
    assert sorted(set(routes) - set(matrix)) == [], "routes missing from docs/rbac.md"
    assert sorted(set(matrix) - set(routes)) == [], "docs/rbac.md lists routes the app lacks"
    for key, route in routes.items():
        row = matrix[key]
        assert row.permission == route.permission, f"{key}: doc and code disagree on permission"
        if route.permission is not None:
            # The doc's ticks are exactly the roles holding the route's permission.
            expected = {r.value: route.permission in ROLE_PERMISSIONS[r] for r in Role}
            assert row.allowed == expected, f"{key}: ticks differ from domain.rbac"


async def test_without_a_valid_key_every_route_answers_401(app: FastAPI) -> None:
    routes = list(v1_routes(app))
    assert len(routes) >= 20
    headers_cases = {
        "no header": {},
        "not bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
        "malformed": bearer("not-a-key"),
        "unknown key": bearer("pod_000000000000_" + "A" * 43),
    }
    async with api_client(app) as client:
        for route in routes:
            for case, headers in headers_cases.items():
                response = await client.request(route.method, route.url(), headers=headers)
                assert response.status_code == 401, (route, case, response.text)
                body = response.json()
                assert body["code"] == "UNAUTHENTICATED", (route, case)
                assert body["message"]
                assert response.headers["www-authenticate"] == "Bearer"


async def test_each_role_is_refused_exactly_where_the_matrix_says(
    app: FastAPI, role_keys: dict[str, str]
) -> None:
    matrix = rbac_matrix()
    checked = 0
    for role in ROLES:
        async with api_client(app, bearer(role_keys[role])) as client:
            for route in v1_routes(app):
                # No body: an allowed write stops at validation (422) or lookup (404),
                # so the walk changes nothing.
                response = await client.request(route.method, route.url())
                allowed = matrix[(route.method, route.path)].allowed[role]
                if allowed:
                    assert response.status_code not in (401, 403), (role, route, response.text)
                else:
                    assert response.status_code == 403, (role, route, response.text)
                    body = response.json()
                    assert body["code"] == "FORBIDDEN"
                    assert body["details"] == {"required": [route.permission], "role": role}
                checked += 1
    assert checked == len(ROLES) * len(matrix)


async def test_a_viewer_key_is_refused_every_write(app: FastAPI, role_keys: dict[str, str]) -> None:
    writes = [route for route in v1_routes(app) if route.is_write]
    assert len(writes) >= 10
    async with api_client(app, bearer(role_keys["viewer"])) as client:
        for route in writes:
            response = await client.request(route.method, route.url(), json={})
            assert response.status_code == 403, (route, response.text)


async def test_scopes_narrow_a_key_below_its_role(
    app: FastAPI, sessions: SessionFactory, account: Account
) -> None:
    key = await member_key(sessions, account.tenant_id, "editor", scopes=["workflows:read"])
    async with api_client(app, bearer(key)) as client:
        assert (await client.get("/v1/workflows")).status_code == 200
        refused = await client.get("/v1/listings")
        assert refused.status_code == 403
        assert refused.json()["details"]["required"] == ["listings:read"]
        start = await client.post("/v1/workflows/design-to-listing", json={"keyword": "x y"})
        assert start.status_code == 403


async def test_public_routes_need_no_key(api: httpx.AsyncClient, app: FastAPI) -> None:
    async with api_client(app) as client:
        for path in ("/healthz", "/openapi.json", "/docs", "/redoc"):
            assert (await client.get(path)).status_code == 200, path


def test_the_public_routes_are_the_documented_few(app: FastAPI) -> None:
    public = {
        (route.method, route.path)
        for route in v1_routes(app, include_public=True)
        if route.permission is None and (route.method, route.path) in PUBLIC_ROUTES
    }
    assert public == PUBLIC_ROUTES
    doc = RBAC_DOC.read_text()
    for method, path in PUBLIC_ROUTES:
        assert f"`{method} {path}`" in doc
