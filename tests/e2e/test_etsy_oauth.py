"""Connecting Etsy with OAuth 2.0 + PKCE against the emulator, then listing with the
stored (encrypted) tokens: refreshed before expiry and on `invalid_token`, and a
revoked refresh token ends the run with `ETSY_REAUTH_REQUIRED`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from core.db import SessionFactory
from core.http_server import ThreadedServer
from core.settings import Settings
from models.tables import utcnow
from sandbox import etsy_oauth
from sandbox.app import EmulatorConfig
from tests.accounts import Account
from tests.conftest import api_client
from tests.e2e.helpers import wait_for_end
from tests.stack import WorkerSet

START = "/v1/workflows/design-to-listing"


async def connect_etsy(app: FastAPI, api: httpx.AsyncClient) -> dict[str, str]:
    """The whole dance: our connect URL → the emulator's consent → our callback."""
    started = await api.get("/v1/integrations/etsy/connect")
    assert started.status_code == 200, started.text
    url = started.json()["authorization_url"]
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43 and len(query["state"][0]) >= 32
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(url, follow_redirects=False)
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["location"])
    assert back.path == "/v1/integrations/etsy/callback"
    params = {key: values[0] for key, values in parse_qs(back.query).items()}
    async with api_client(app) as anonymous:  # no key: the state is the proof
        connected = await anonymous.get("/v1/integrations/etsy/callback", params=params)
        assert connected.status_code == 200, connected.text
        replay = await anonymous.get("/v1/integrations/etsy/callback", params=params)
        assert replay.status_code == 400
        assert replay.json()["code"] == "OAUTH_STATE_INVALID"
    return {"id": connected.json()["id"], **connected.json()}


async def stored_tokens(
    sessions: SessionFactory, settings: Settings, integration_id: str
) -> dict[str, Any]:
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT access_token_enc, refresh_token_enc, token_expires_at, status,"
                    " external_user_id, row_to_json(i)::text AS raw FROM integrations i"
                    " WHERE id = :id"
                ),
                {"id": integration_id},
            )
        ).one()
    return {
        "access": settings.cipher.decrypt(row.access_token_enc),
        "refresh": settings.cipher.decrypt(row.refresh_token_enc),
        "expires_at": row.token_expires_at,
        "status": row.status,
        "user": row.external_user_id,
        "raw": row.raw,
    }


async def set_expiry(sessions: SessionFactory, integration_id: str, delta: timedelta) -> None:
    async with sessions() as session:
        await session.execute(
            text("UPDATE integrations SET token_expires_at = :at WHERE id = :id"),
            {"at": utcnow() + delta, "id": integration_id},
        )
        await session.commit()


async def list_one(api: httpx.AsyncClient, keyword: str) -> dict[str, Any]:
    started = await api.post(START, json={"keyword": keyword})
    assert started.status_code == 202, started.text
    return await wait_for_end(api, started.json()["workflow_id"])


async def test_the_pkce_dance_then_a_listing_with_the_stored_token(
    app: FastAPI,
    api: httpx.AsyncClient,
    workers: WorkerSet,
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
) -> None:
    integration = await connect_etsy(app, api)
    assert integration["vendor"] == "etsy" and integration["shop_id"]
    tokens = await stored_tokens(sessions, settings, integration["id"])
    assert tokens["access"] != emulator_config.etsy_access_token  # the OAuth one now
    assert str(tokens["access"]).startswith(f"{tokens['user']}.")
    for secret in (tokens["access"], tokens["refresh"]):
        assert str(secret) not in str(tokens["raw"])  # only ciphertext in Postgres
    listed = await list_one(api, "oauth connected camper")
    assert listed["status"] == "completed", listed


async def test_an_access_token_about_to_expire_is_refreshed_first(
    api: httpx.AsyncClient,
    app: FastAPI,
    workers: WorkerSet,
    sessions: SessionFactory,
    settings: Settings,
) -> None:
    integration = await connect_etsy(app, api)
    before = await stored_tokens(sessions, settings, integration["id"])
    await set_expiry(sessions, integration["id"], timedelta(seconds=-30))
    listed = await list_one(api, "refreshed first camper")
    assert listed["status"] == "completed", listed
    after = await stored_tokens(sessions, settings, integration["id"])
    assert after["access"] != before["access"]
    assert after["refresh"] != before["refresh"]  # the rotated refresh token is kept
    assert after["expires_at"] > utcnow() + timedelta(minutes=50)


@pytest.fixture
def short_lived_tokens() -> Iterator[None]:
    """The emulator issues access tokens that live one second."""
    saved = etsy_oauth.ACCESS_TOKEN_TTL
    etsy_oauth.ACCESS_TOKEN_TTL = 1
    yield
    etsy_oauth.ACCESS_TOKEN_TTL = saved


async def test_a_token_etsy_refuses_mid_run_is_refreshed_and_the_call_repeated(
    api: httpx.AsyncClient,
    app: FastAPI,
    workers: WorkerSet,
    sessions: SessionFactory,
    settings: Settings,
    short_lived_tokens: None,
) -> None:
    integration = await connect_etsy(app, api)
    etsy_oauth.ACCESS_TOKEN_TTL = 3600  # only the first token is short-lived
    # We believe it is good for a day; Etsy will say `invalid_token` after one second.
    await set_expiry(sessions, integration["id"], timedelta(days=1))
    before = await stored_tokens(sessions, settings, integration["id"])
    await asyncio.sleep(1.2)
    listed = await list_one(api, "refused token camper")
    assert listed["status"] == "completed", listed
    after = await stored_tokens(sessions, settings, integration["id"])
    assert after["access"] != before["access"]


async def test_a_revoked_refresh_token_ends_the_run_with_reauth_required(
    api: httpx.AsyncClient,
    app: FastAPI,
    workers: WorkerSet,
    sessions: SessionFactory,
    settings: Settings,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    integration = await connect_etsy(app, api)
    tokens = await stored_tokens(sessions, settings, integration["id"])
    async with httpx.AsyncClient(base_url=emulator.url) as elsewhere:
        # Someone else used the refresh token: Etsy rotated it, ours is now revoked.
        used = await elsewhere.post(
            "/etsy/v3/public/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": emulator_config.etsy_keystring,
                "refresh_token": str(tokens["refresh"]),
            },
        )
        assert used.status_code == 200, used.text
    await set_expiry(sessions, integration["id"], timedelta(seconds=-30))
    view = await list_one(api, f"revoked camper {uuid.uuid4().hex[:4]}")
    assert view["status"] == "failed", view
    assert view["error"]["code"] == "ETSY_REAUTH_REQUIRED", view["error"]
    shown = (await api.get("/v1/integrations")).json()["data"]
    assert {i["vendor"]: i["status"] for i in shown}["etsy"] == "needs_reauth"
    again = await api.post(START, json={"keyword": "after revocation"})
    assert again.status_code == 409
    assert again.json()["code"] == "INTEGRATION_REQUIRED"


async def test_a_denied_or_unknown_authorization_connects_nothing(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    async with api_client(app) as anonymous:
        denied = await anonymous.get(
            "/v1/integrations/etsy/callback",
            params={"state": "s", "error": "access_denied", "error_description": "no"},
        )
        assert denied.status_code == 400 and denied.json()["code"] == "OAUTH_DENIED"
        unknown = await anonymous.get(
            "/v1/integrations/etsy/callback", params={"state": "never-issued", "code": "c"}
        )
        assert unknown.status_code == 400 and unknown.json()["code"] == "OAUTH_STATE_INVALID"
    listed = (await api.get("/v1/integrations")).json()["data"]
    assert {i["vendor"]: i["status"] for i in listed} == {"etsy": "active", "printify": "active"}


async def test_an_expired_authorization_is_refused_and_forgotten(
    app: FastAPI, api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    url = (await api.get("/v1/integrations/etsy/connect")).json()["authorization_url"]
    state = parse_qs(urlsplit(url).query)["state"][0]
    async with sessions() as session:
        await session.execute(
            text(
                "UPDATE oauth_states SET expires_at = now() - interval '1 second'"
                " WHERE tenant_id = :t"
            ),
            {"t": account.tenant_id},
        )
        await session.commit()
    async with api_client(app) as anonymous:
        late = await anonymous.get(
            "/v1/integrations/etsy/callback", params={"state": state, "code": "whatever"}
        )
    assert late.status_code == 400 and late.json()["code"] == "OAUTH_STATE_INVALID"
    async with sessions() as session:
        left = await session.execute(
            text("SELECT count(*) FROM oauth_states WHERE tenant_id = :t"),
            {"t": account.tenant_id},
        )
        assert left.scalar_one() == 0
