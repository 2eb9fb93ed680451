"""Browsing the Printify catalog through our API, against the emulator over HTTP."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pytest import MonkeyPatch

from api.routers import catalog
from core.db import SessionFactory
from core.http_server import ThreadedServer
from core.settings import Settings
from sandbox.app import EmulatorConfig
from tests.accounts import create_account
from tests.conftest import api_client


async def catalog_calls(emulator: ThreadedServer) -> int:
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        log = (await client.get("/__admin/requests")).json()
    entries = log if isinstance(log, list) else log.get("requests", log.get("data", []))
    return sum(1 for entry in entries if "/catalog/" in str(entry.get("path", entry)))


async def test_blueprints_providers_and_variants(api: httpx.AsyncClient) -> None:
    page = (await api.get("/v1/catalog/blueprints", params={"q": "cotton tee"})).json()
    assert page["count"] >= 1
    tee = page["data"][0]
    assert tee["id"] == 6 and "Tee" in tee["title"]
    providers = (await api.get(f"/v1/catalog/blueprints/{tee['id']}/providers")).json()
    assert 99 in {p["id"] for p in providers["data"]}
    variants = (await api.get("/v1/catalog/blueprints/6/providers/99/variants")).json()
    assert variants["blueprint_id"] == 6 and variants["print_provider_id"] == 99
    first = variants["data"][0]
    front = next(p for p in first["placeholders"] if p["position"] == "front")
    assert front["width"] == 4500 and front["height"] == 5400
    assert first["cost"] > 0 and first["options"]["size"]


async def test_paging_and_search(api: httpx.AsyncClient) -> None:
    everything = (await api.get("/v1/catalog/blueprints", params={"limit": 100})).json()
    assert everything["count"] == len(everything["data"]) >= 2
    second = (await api.get("/v1/catalog/blueprints", params={"limit": 1, "offset": 1})).json()
    assert second["data"] == everything["data"][1:2]
    none = (await api.get("/v1/catalog/blueprints", params={"q": "no such thing"})).json()
    assert none == {"data": [], "count": 0}


async def test_answers_are_cached(api: httpx.AsyncClient, emulator: ThreadedServer) -> None:
    await api.get("/v1/catalog/blueprints/6/providers/29/variants")
    before = await catalog_calls(emulator)
    for _ in range(3):
        again = await api.get("/v1/catalog/blueprints/6/providers/29/variants")
        assert again.status_code == 200
    assert await catalog_calls(emulator) == before


async def test_unknown_blueprint_is_404(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/catalog/blueprints/999999/providers")
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"


async def test_without_printify_connected_it_is_409(
    app: FastAPI, sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    account = await create_account(sessions, settings.cipher, emulator_config, connect=False)
    async with api_client(app, account.headers) as client:
        response = await client.get("/v1/catalog/blueprints/6/providers/12345/variants")
    assert response.status_code == 409
    assert response.json()["code"] == "INTEGRATION_REQUIRED"


async def test_a_token_printify_refuses_is_409_not_a_gateway_error(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    replaced = await api.put("/v1/integrations/printify", json={"access_token": "revoked-token"})
    assert replaced.status_code == 200
    # The catalog cache is the process's, for every account: empty, the call reaches Printify.
    app.state.catalog_cache.clear()

    response = await api.get("/v1/catalog/blueprints")

    assert response.status_code == 409
    assert response.json()["code"] == "INTEGRATION_REJECTED"
    assert "revoked-token" not in response.text


async def test_a_catalog_read_waits_seconds_at_most_then_says_when_to_return(
    app: FastAPI, api: httpx.AsyncClient, emulator: ThreadedServer, monkeypatch: MonkeyPatch
) -> None:
    """Printify's catalog allowance used up (its 429, 30 s to wait): the route answers 429
    with `Retry-After` within its wait rather than holding the caller (the fuzz run's
    template saves timed out)."""
    monkeypatch.setattr(catalog, "CATALOG_WAIT_SECONDS", 0.5)
    app.state.catalog_cache.clear()
    rule = {
        "method": "GET",
        "path_regex": r"^/printify/v1/catalog/",
        "mode": "before",
        "times": 5,
        "status": 429,
        "retry_after": 30,
    }
    async with httpx.AsyncClient(base_url=emulator.url) as admin:
        assert (await admin.post("/__admin/faults", json=rule)).status_code == 204
        try:
            response = await api.get("/v1/catalog/blueprints/6/providers/99/variants")
        finally:
            assert (await admin.delete("/__admin/faults")).status_code == 204
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "PRINTIFY_RATE_LIMITED"
    assert response.headers["Retry-After"] == "1"
