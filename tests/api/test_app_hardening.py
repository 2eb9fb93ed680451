"""The hardening as the real app is assembled: body limit, headers, CORS, 500s."""

from __future__ import annotations

import http.client
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from core.crypto import new_key
from core.http_server import ThreadedServer
from core.settings import Settings
from core.storage import LocalStorage
from tests.accounts import Account
from tests.conftest import api_client


async def test_an_oversized_body_is_refused_before_it_is_read(api: httpx.AsyncClient) -> None:
    body = {"email": "x@y.z", "role": "viewer", "pad": "x" * 1_100_000}
    response = await api.post("/v1/members", json=body)
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (await api.get("/v1/members")).json()["count"] == 1  # nothing was added


async def test_answers_carry_security_headers(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/me")
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in response.headers  # development: plain HTTP


async def test_cors_is_closed_by_default(api: httpx.AsyncClient) -> None:
    preflight = await api.options(
        "/v1/me",
        headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = await api.get("/v1/me", headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in simple.headers


@pytest.fixture
async def open_app(
    settings: Settings, database_url: str, temporal_client: Client, storage: LocalStorage
) -> AsyncIterator[FastAPI]:
    configured = Settings(
        **{
            **settings.model_dump(),
            "cors_allow_origins": "https://shop.example",
            "environment": "staging",
            "encryption_keys": new_key(),
            "etsy_keystring": "staging-keystring",
            "etsy_shared_secret": "staging-secret",
            "printify_webhook_secret": "staging-webhook-secret",
            "pinterest_access_token": "staging-pinterest-token",
            "etsy_redirect_uri": "https://staging.example/v1/integrations/etsy/callback",
        }
    )
    app = create_app(
        configured, database_url=database_url, temporal=temporal_client, storage=storage
    )

    @app.get("/v1/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("boom")

    async with app.router.lifespan_context(app):
        yield app


async def test_configured_origins_and_staging_headers(open_app: FastAPI, account: Account) -> None:
    async with api_client(open_app, account.headers) as client:
        allowed = await client.get("/v1/me", headers={"Origin": "https://shop.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        other = await client.get("/v1/me", headers={"Origin": "https://evil.test"})
        assert "access-control-allow-origin" not in other.headers
        assert allowed.headers["strict-transport-security"].startswith("max-age=")


async def test_an_unexpected_error_keeps_the_error_shape_and_headers(
    open_app: FastAPI,
) -> None:
    async with api_client(open_app) as client:
        response = await client.get("/v1/boom")
    assert response.status_code == 500
    assert response.json() == {
        "code": "INTERNAL",
        "message": "an unexpected error occurred; it has been logged",
    }
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "boom" not in response.text


def test_after_an_unexpected_error_the_connection_serves_the_next_request(
    settings: Settings, database_url: str, storage: LocalStorage
) -> None:
    """Over real HTTP on one keep-alive connection: a 500, then the next request answered
    on the same connection. Starlette's own 500 raised the error again and uvicorn closed
    the connection, so the second request met a closed socket."""
    app = create_app(settings, database_url=database_url, storage=storage)

    @app.get("/v1/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("boom")

    server = ThreadedServer(app).start()
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request("GET", "/v1/boom")
        failed = connection.getresponse()
        assert failed.status == 500
        assert json.loads(failed.read())["code"] == "INTERNAL"
        assert failed.getheader("cache-control") == "no-store"
        socket_before = connection.sock
        connection.request("GET", "/healthz")
        healthy = connection.getresponse()
        assert healthy.status == 200, healthy.read()
        assert connection.sock is socket_before  # no reconnect was needed
    finally:
        connection.close()
        server.stop()
