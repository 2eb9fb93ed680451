"""OIDC/JWT bearer tokens, verified against the issuer's configured public keys."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from core.settings import Settings
from core.storage import LocalStorage
from tests.accounts import Account, bearer
from tests.conftest import api_client

ISSUER = "https://id.example.test/"
AUDIENCE = "pod-automator"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(account: Account, email: str | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": now,
        "exp": now + 300,
        "pod_tenant": account.tenant_id,
        "email": email or f"owner@{account.tenant_id}.test",
        **claims,
    }
    return jwt.encode(body, KEY, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
async def oidc_app(
    tmp_path: Path,
    settings: Settings,
    database_url: str,
    temporal_client: Client,
    storage: LocalStorage,
) -> AsyncIterator[FastAPI]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    configured = Settings(
        **{
            **settings.model_dump(),
            "oidc_issuer": ISSUER,
            "oidc_audience": AUDIENCE,
            "oidc_jwks_file": jwks,
        }
    )
    app = create_app(
        configured, database_url=database_url, temporal=temporal_client, storage=storage
    )
    async with app.router.lifespan_context(app):
        yield app


async def get_me(app: FastAPI, credential: str) -> httpx.Response:
    async with api_client(app, bearer(credential)) as client:
        return await client.get("/v1/me")


async def test_a_valid_token_acts_as_the_member(oidc_app: FastAPI, account: Account) -> None:
    response = await get_me(oidc_app, token(account))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenant_id"] == account.tenant_id
    assert body["member_id"] == str(account.owner_id)
    assert body["role"] == "owner"
    assert body["key_id"] is None


async def test_the_members_role_applies(
    oidc_app: FastAPI, api: httpx.AsyncClient, account: Account
) -> None:
    added = await api.post("/v1/members", json={"email": "Vera@Shop.test", "role": "viewer"})
    assert added.status_code == 201
    async with api_client(oidc_app, bearer(token(account, "vera@shop.test"))) as client:
        assert (await client.get("/v1/listings")).status_code == 200
        refused = await client.post("/v1/workflows/design-to-listing", json={"keyword": "ab"})
        assert refused.status_code == 403


@pytest.mark.parametrize(
    "bad",
    [
        {"aud": "someone-else"},
        {"iss": "https://evil.example.test/"},
        {"exp": int(time.time()) - 3600},
        {"email": "stranger@nowhere.test"},
        {"pod_tenant": None},
    ],
)
async def test_tokens_that_do_not_fit_are_401(
    oidc_app: FastAPI, account: Account, bad: dict[str, Any]
) -> None:
    claims = {k: v for k, v in bad.items() if v is not None}
    credential = token(account, **claims)
    if bad.get("pod_tenant", 1) is None:
        payload = jwt.decode(credential, options={"verify_signature": False})
        payload.pop("pod_tenant")
        credential = jwt.encode(payload, KEY, algorithm="RS256", headers={"kid": "k1"})
    response = await get_me(oidc_app, credential)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_a_token_cannot_reach_another_tenants_member(
    oidc_app: FastAPI, account: Account
) -> None:
    other = Account("nope", account.owner_id, "", {})
    # The owner's e-mail under a tenant claim that is not theirs: no such member there.
    credential = token(other, f"owner@{account.tenant_id}.test")
    assert (await get_me(oidc_app, credential)).status_code == 401


async def test_a_shared_secret_token_signed_with_the_public_key_is_refused(
    oidc_app: FastAPI, account: Account
) -> None:
    """The classic algorithm-confusion forgery: HS256 keyed with the public key."""
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "x",
        "exp": now + 300,
        "pod_tenant": account.tenant_id,
        "email": f"owner@{account.tenant_id}.test",
    }
    forged = _hs256(claims, public_pem)
    assert (await get_me(oidc_app, forged)).status_code == 401


def _hs256(claims: dict[str, Any], secret: bytes) -> str:
    import base64
    import hashlib
    import hmac

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = part(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{part(signature)}"


async def test_without_oidc_configured_a_jwt_is_401(app: FastAPI, account: Account) -> None:
    assert (await get_me(app, token(account))).status_code == 401
