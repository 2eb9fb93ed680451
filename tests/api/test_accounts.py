"""Accounts over HTTP: API keys, members (seats), integrations, billing and the per-key
rate limit, against the real app, Postgres and Temporal of the session.

Over 400 lines on purpose: members, keys, integrations and plans through the API,
refusal by refusal."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from temporalio.client import Client

from api.app import create_app
from core.db import SessionFactory
from core.settings import Settings
from core.storage import LocalStorage
from domain.plans import PLANS
from domain.rbac import ROLE_PERMISSIONS, Role
from models import repositories
from models.repositories.accounts import count_owners
from sandbox.app import EmulatorConfig
from services import accounts
from services.accounts import SeatsExceedPlan, change_plan
from tests.accounts import Account, bearer, create_account, member_key
from tests.conftest import api_client

KEY_FORMAT = re.compile(r"^pod_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$")
START = "/v1/workflows/design-to-listing"


# --- helpers -----------------------------------------------------------------------------


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The `{code, message, details?}` body of an error answer with this status and code."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "message", "details"}, body
    return body


async def me(app: FastAPI, key: str) -> httpx.Response:
    async with api_client(app, bearer(key)) as client:
        return await client.get("/v1/me")


async def create_key(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await api.post("/v1/api-keys", json={"name": "test key", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def add_member(
    api: httpx.AsyncClient, role: str = "viewer", email: str | None = None
) -> dict[str, Any]:
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.test"
    response = await api.post("/v1/members", json={"email": email, "role": role})
    assert response.status_code == 201, response.text
    member: dict[str, Any] = response.json()
    return member


async def row_json(sessions: SessionFactory, table: str, where: str, **params: Any) -> str:
    """The whole row as Postgres renders it to JSON: every column's stored value."""
    async with sessions() as session:
        query = text(f"SELECT row_to_json(t)::text FROM {table} t WHERE {where}")
        return str((await session.execute(query, params)).scalar_one())


# --- API keys ----------------------------------------------------------------------------


async def test_created_key_is_returned_once_in_the_documented_format(
    api: httpx.AsyncClient,
) -> None:
    created = await create_key(api, name="ci")
    assert KEY_FORMAT.match(created["key"]), created["key"]
    assert created["key"].startswith(created["prefix"] + "_")
    assert created["name"] == "ci"
    assert created["revoked_at"] is None

    listed = await api.get("/v1/api-keys")
    assert listed.status_code == 200
    assert created["key"] not in listed.text
    secret = created["key"][len(created["prefix"]) + 1 :]  # may itself contain "_"
    assert len(secret) == 43 and secret not in listed.text
    assert "key" not in listed.json()["data"][0]
    assert created["id"] in {k["id"] for k in listed.json()["data"]}


async def test_stored_key_row_holds_only_the_prefix_and_a_sha256(
    api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    created = await create_key(api)
    plain: str = created["key"]
    secret = plain[len(created["prefix"]) + 1 :]

    row = await row_json(sessions, "api_keys", "id = :id", id=uuid.UUID(created["id"]))
    assert hashlib.sha256(plain.encode()).hexdigest() in row
    assert plain not in row
    assert secret not in row
    async with sessions() as session:
        stored = await repositories.accounts.get_api_key(
            session, tenant_id=account.tenant_id, key_id=uuid.UUID(created["id"])
        )
    assert stored.secret_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert stored.prefix == created["prefix"]


async def test_new_key_authenticates_as_its_member_with_its_scopes(
    app: FastAPI, api: httpx.AsyncClient, account: Account
) -> None:
    editor = await add_member(api, "editor")
    scopes = ["workflows:read", "workflows:write"]
    created = await create_key(api, member_id=editor["id"], scopes=scopes)

    response = await me(app, created["key"])
    assert response.status_code == 200, response.text
    assert response.json() == {
        "tenant_id": account.tenant_id,
        "member_id": editor["id"],
        "role": "editor",
        "key_id": created["id"],
        "permissions": scopes,
    }


async def test_key_without_scopes_has_all_permissions_of_its_role(
    app: FastAPI, api: httpx.AsyncClient, account: Account
) -> None:
    created = await create_key(api)
    body = (await me(app, created["key"])).json()
    assert body["member_id"] == str(account.owner_id)
    assert body["role"] == "owner"
    assert body["permissions"] == sorted(p.value for p in ROLE_PERMISSIONS[Role.OWNER])


async def test_using_a_key_records_last_used_at(app: FastAPI, api: httpx.AsyncClient) -> None:
    created = await create_key(api)
    assert created["last_used_at"] is None
    assert (await me(app, created["key"])).status_code == 200
    listed = {k["id"]: k for k in (await api.get("/v1/api-keys")).json()["data"]}
    assert listed[created["id"]]["last_used_at"] is not None


async def test_revoked_key_is_refused_at_once(app: FastAPI, api: httpx.AsyncClient) -> None:
    created = await create_key(api)
    assert (await me(app, created["key"])).status_code == 200

    revoked = await api.delete(f"/v1/api-keys/{created['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None

    body = error(await me(app, created["key"]), 401, "UNAUTHENTICATED")
    assert "revoked" in body["message"]


async def test_revoking_twice_is_fine_and_keeps_the_first_time(api: httpx.AsyncClient) -> None:
    created = await create_key(api)
    first = await api.delete(f"/v1/api-keys/{created['id']}")
    second = await api.delete(f"/v1/api-keys/{created['id']}")
    assert first.status_code == second.status_code == 200, second.text
    assert second.json()["revoked_at"] == first.json()["revoked_at"]


async def test_revoking_a_key_of_another_tenant_is_404(
    api: httpx.AsyncClient,
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
) -> None:
    other = await create_account(sessions, settings.cipher, emulator_config)
    async with sessions() as session:
        keys = await repositories.accounts.list_api_keys(session, tenant_id=other.tenant_id)
    error(await api.delete(f"/v1/api-keys/{keys[0].id}"), 404, "NOT_FOUND")


async def test_expired_key_is_refused(
    app: FastAPI, sessions: SessionFactory, account: Account
) -> None:
    async with sessions() as session:
        _, plain = await accounts.issue_key(
            session,
            tenant_id=account.tenant_id,
            member_id=account.owner_id,
            name="expired",
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
        await session.commit()
    body = error(await me(app, plain), 401, "UNAUTHENTICATED")
    assert "expired" in body["message"]


async def test_key_expiring_later_works_and_shows_its_expiry(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    created = await create_key(api, expires_in_days=7)
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=6) < expires - datetime.now(UTC) <= timedelta(days=7)
    assert (await me(app, created["key"])).status_code == 200


async def test_scopes_beyond_the_members_role_are_refused(api: httpx.AsyncClient) -> None:
    viewer = await add_member(api, "viewer")
    response = await api.post(
        "/v1/api-keys",
        json={"name": "too much", "member_id": viewer["id"], "scopes": ["keys:write"]},
    )
    body = error(response, 422, "SCOPE_BEYOND_ROLE")
    assert body["details"] == {"scopes": ["keys:write"], "role": "viewer"}


async def test_admin_may_not_create_a_key_for_an_owner(
    app: FastAPI, sessions: SessionFactory, account: Account
) -> None:
    admin = await member_key(sessions, account.tenant_id, "admin")
    async with api_client(app, bearer(admin)) as client:
        response = await client.post(
            "/v1/api-keys", json={"name": "owner's", "member_id": str(account.owner_id)}
        )
    error(response, 403, "FORBIDDEN")


async def test_admin_may_not_revoke_an_owners_key(
    app: FastAPI, sessions: SessionFactory, account: Account
) -> None:
    """domain/rbac.py: "Higher ranks may manage members and keys of equal or lower rank only"."""
    admin = await member_key(sessions, account.tenant_id, "admin")
    async with sessions() as session:
        owner_keys = await repositories.accounts.list_api_keys(session, tenant_id=account.tenant_id)
    owner_key_id = next(k.id for k in owner_keys if k.member_id == account.owner_id)
    async with api_client(app, bearer(admin)) as client:
        response = await client.delete(f"/v1/api-keys/{owner_key_id}")
    assert response.status_code == 403, (
        f"an admin revoked the owner's key (answered {response.status_code}): "
        "api/routers/keys.py revoke_api_key does not check can_manage"
    )
    assert (await me(app, account.owner_key)).status_code == 200


async def test_a_scoped_key_cannot_mint_a_key_with_more_permissions(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    """A key limited to `keys:write` must not be a way around its own scopes."""
    narrow = await create_key(api, scopes=["keys:write"])
    async with api_client(app, bearer(narrow["key"])) as client:
        response = await client.post("/v1/api-keys", json={"name": "escalated"})
    if response.status_code == 201:
        minted = (await me(app, response.json()["key"])).json()["permissions"]
        raise AssertionError(
            f"a key scoped to ['keys:write'] minted a key with {minted}: "
            "api/routers/keys.py create_api_key checks scopes against the member's role only"
        )
    assert response.status_code in (403, 422), response.text


async def test_key_for_a_member_of_another_tenant_is_404(
    api: httpx.AsyncClient,
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
) -> None:
    other = await create_account(sessions, settings.cipher, emulator_config)
    response = await api.post(
        "/v1/api-keys", json={"name": "foreign", "member_id": str(other.owner_id)}
    )
    error(response, 404, "NOT_FOUND")


# --- members -----------------------------------------------------------------------------


async def test_members_lists_the_owner(api: httpx.AsyncClient, account: Account) -> None:
    response = await api.get("/v1/members")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [(m["id"], m["email"], m["role"]) for m in body["data"]] == [
        (str(account.owner_id), f"owner@{account.tenant_id}.test", "owner")
    ]


async def test_added_member_has_a_lower_case_email_and_is_listed(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/v1/members", json={"email": "Jane.Doe@Example.COM", "role": "editor"}
    )
    assert response.status_code == 201, response.text
    member = response.json()
    assert member["email"] == "jane.doe@example.com"
    assert member["role"] == "editor"

    listed = (await api.get("/v1/members")).json()
    assert listed["count"] == 2
    assert member in listed["data"]


async def test_adding_a_member_twice_is_a_conflict_in_any_letter_case(
    api: httpx.AsyncClient,
) -> None:
    await add_member(api, email="twice@example.test")
    response = await api.post("/v1/members", json={"email": "TWICE@example.test"})
    error(response, 409, "ALREADY_MEMBER")
    assert (await api.get("/v1/members")).json()["count"] == 2


async def test_admin_cannot_add_an_owner(
    app: FastAPI, sessions: SessionFactory, account: Account
) -> None:
    admin = await member_key(sessions, account.tenant_id, "admin")
    async with api_client(app, bearer(admin)) as client:
        response = await client.post(
            "/v1/members", json={"email": "boss@example.test", "role": "owner"}
        )
    error(response, 403, "FORBIDDEN")


async def test_free_plan_has_no_seat_for_a_second_member(
    app: FastAPI, sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    free = await create_account(sessions, settings.cipher, emulator_config, plan="free")
    async with api_client(app, free.headers) as client:
        response = await client.post("/v1/members", json={"email": "second@example.test"})
    body = error(response, 402, "QUOTA_EXCEEDED")
    assert body["details"] == {"metric": "seats", "limit": 1, "used": 1}


async def test_seat_override_allows_exactly_one_more_member(
    app: FastAPI, sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    tenant = await create_account(
        sessions, settings.cipher, emulator_config, plan="free", limits={"seats": 2}
    )
    async with api_client(app, tenant.headers) as client:
        await add_member(client)
        response = await client.post("/v1/members", json={"email": "third@example.test"})
    body = error(response, 402, "QUOTA_EXCEEDED")
    assert body["details"] == {"metric": "seats", "limit": 2, "used": 2}


async def test_removing_a_member_revokes_every_key_of_theirs(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    editor = await add_member(api, "editor")
    keys = [(await create_key(api, member_id=editor["id"]))["key"] for _ in range(2)]
    for key in keys:
        assert (await me(app, key)).status_code == 200

    response = await api.delete(f"/v1/members/{editor['id']}")
    assert response.status_code == 204, response.text
    assert response.content == b""

    for key in keys:
        error(await me(app, key), 401, "UNAUTHENTICATED")
    listed = (await api.get("/v1/members")).json()
    assert editor["id"] not in {m["id"] for m in listed["data"]}
    stored = (await api.get("/v1/api-keys")).json()["data"]
    theirs = [k for k in stored if k["name"] == "test key"]
    assert len(theirs) == 2
    assert all(k["revoked_at"] is not None for k in theirs)


async def test_the_last_owner_cannot_be_removed(api: httpx.AsyncClient, account: Account) -> None:
    error(await api.delete(f"/v1/members/{account.owner_id}"), 409, "LAST_OWNER")


async def test_an_owner_can_be_removed_while_another_remains(api: httpx.AsyncClient) -> None:
    second = await add_member(api, "owner")
    assert (await api.delete(f"/v1/members/{second['id']}")).status_code == 204


async def test_admin_cannot_remove_an_owner(
    app: FastAPI, api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    await add_member(api, "owner")  # so LAST_OWNER cannot be why it is refused
    admin = await member_key(sessions, account.tenant_id, "admin")
    async with api_client(app, bearer(admin)) as client:
        response = await client.delete(f"/v1/members/{account.owner_id}")
    error(response, 403, "FORBIDDEN")


@pytest.mark.parametrize("email", ["not-an-email", "two@at@example.test", "a b@example.test", ""])
async def test_invalid_email_is_a_validation_error(api: httpx.AsyncClient, email: str) -> None:
    body = error(await api.post("/v1/members", json={"email": email}), 422, "VALIDATION_ERROR")
    assert [e["loc"] for e in body["details"]["errors"]] == [["body", "email"]]


# --- integrations ------------------------------------------------------------------------


def distinctive_token() -> str:
    return f"tok-{uuid.uuid4().hex}-PRINTIFY"


async def test_integration_token_is_stored_encrypted(
    api: httpx.AsyncClient, sessions: SessionFactory, settings: Settings, account: Account
) -> None:
    token = distinctive_token()
    response = await api.put("/v1/integrations/printify", json={"access_token": token})
    assert response.status_code == 200, response.text
    assert token not in response.text
    assert response.json()["vendor"] == "printify"
    assert response.json()["status"] == "active"

    where = "tenant_id = :tenant AND vendor = 'printify'"
    row = await row_json(sessions, "integrations", where, tenant=account.tenant_id)
    assert token not in row
    async with sessions() as session:
        stored = await repositories.integrations.find_integration(
            session, tenant_id=account.tenant_id, vendor="printify"
        )
    assert stored is not None
    assert settings.cipher.decrypt(stored.access_token_enc) == token


async def test_refresh_token_is_stored_encrypted_too(
    api: httpx.AsyncClient, sessions: SessionFactory, settings: Settings, account: Account
) -> None:
    access, refresh = distinctive_token(), distinctive_token()
    response = await api.put(
        "/v1/integrations/etsy",
        json={"access_token": access, "refresh_token": refresh, "shop_id": 42},
    )
    assert response.status_code == 200, response.text
    assert response.json()["shop_id"] == 42
    row = await row_json(
        sessions, "integrations", "tenant_id = :t AND vendor = 'etsy'", t=account.tenant_id
    )
    assert access not in row
    assert refresh not in row
    async with sessions() as session:
        stored = await repositories.integrations.find_integration(
            session, tenant_id=account.tenant_id, vendor="etsy"
        )
    assert stored is not None and stored.refresh_token_enc is not None
    assert settings.cipher.decrypt(stored.refresh_token_enc) == refresh


async def test_integrations_list_shows_no_token(api: httpx.AsyncClient) -> None:
    token = distinctive_token()
    assert (
        await api.put("/v1/integrations/printify", json={"access_token": token})
    ).status_code == 200
    response = await api.get("/v1/integrations")
    assert response.status_code == 200
    assert token not in response.text
    assert {i["vendor"] for i in response.json()["data"]} == {"printify", "etsy"}
    secret_fields = {"access_token", "refresh_token", "access_token_enc", "refresh_token_enc"}
    assert all(secret_fields.isdisjoint(i) for i in response.json()["data"])


async def test_after_disconnecting_printify_no_workflow_can_start(
    api: httpx.AsyncClient, account: Account
) -> None:
    response = await api.delete(f"/v1/integrations/{account.integrations['printify']}")
    assert response.status_code == 204, response.text
    assert {i["vendor"] for i in (await api.get("/v1/integrations")).json()["data"]} == {"etsy"}

    body = error(await api.post(START, json={"keyword": "cat mom"}), 409, "INTEGRATION_REQUIRED")
    assert body["details"]["vendor"] == "printify"
    assert (await api.get("/v1/workflows")).json()["count"] == 0


async def test_an_account_never_connected_cannot_start_a_workflow(
    app: FastAPI, sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    bare = await create_account(sessions, settings.cipher, emulator_config, connect=False)
    async with api_client(app, bare.headers) as client:
        response = await client.post(START, json={"keyword": "cat mom"})
    body = error(response, 409, "INTEGRATION_REQUIRED")
    assert body["details"]["vendor"] == "printify"


async def test_deleting_an_integration_of_another_tenant_is_404(
    api: httpx.AsyncClient,
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
) -> None:
    other = await create_account(sessions, settings.cipher, emulator_config)
    response = await api.delete(f"/v1/integrations/{other.integrations['printify']}")
    error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("vendor", "token"),
    [
        ("printify", "has a space"),
        ("printify", "short"),
        ("printify", "1234567"),
        ("amazon", "a-long-enough-token"),
    ],
)
async def test_invalid_integration_is_a_validation_error(
    api: httpx.AsyncClient, vendor: str, token: str
) -> None:
    response = await api.put(f"/v1/integrations/{vendor}", json={"access_token": token})
    error(response, 422, "VALIDATION_ERROR")


# --- billing -----------------------------------------------------------------------------


def this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


async def usage(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/v1/billing/usage")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_usage_of_a_fresh_tenant(api: httpx.AsyncClient) -> None:
    assert await usage(api) == {
        "plan": "business",
        "period": this_month(),
        "limits": asdict(PLANS["business"]),
        "used": {
            "seats": 1,
            "workflows": 0,
            "briefs": 0,
            "images": 0,
            "products": 0,
            "listings": 0,
        },
    }


async def test_usage_of_a_past_period(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/billing/usage", params={"period": "2020-01"})
    assert response.status_code == 200, response.text
    assert response.json()["period"] == "2020-01"


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-1", "26-01", "2026-01-01"])
async def test_usage_of_an_invalid_period_is_refused(api: httpx.AsyncClient, period: str) -> None:
    response = await api.get("/v1/billing/usage", params={"period": period})
    error(response, 422, "VALIDATION_ERROR")


async def test_a_stage_is_metered_once_however_often_it_is_reported(
    api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    workflow_id = f"dtl-{account.tenant_id}-once"
    results = []
    for _ in range(2):  # a retried activity reports again, in its own transaction
        async with sessions() as session:
            results.append(
                await repositories.usage.meter_once(
                    session,
                    tenant_id=account.tenant_id,
                    workflow_id=workflow_id,
                    metric="images",
                    period=this_month(),
                )
            )
            await session.commit()
    assert results == [True, False]

    async with sessions() as session:
        rows = await session.execute(
            text("SELECT count(*) FROM usage_events WHERE tenant_id = :t AND workflow_id = :w"),
            {"t": account.tenant_id, "w": workflow_id},
        )
        assert rows.scalar_one() == 1
    assert (await usage(api))["used"]["images"] == 1


async def test_moving_to_a_plan_with_fewer_seats_than_members_is_refused(
    api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    await add_member(api)
    async with sessions() as session:
        with pytest.raises(SeatsExceedPlan):
            await change_plan(session, tenant_id=account.tenant_id, plan="free")
    assert (await usage(api))["plan"] == "business"


async def test_an_operator_changes_the_plan(
    api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    async with sessions() as session:
        await change_plan(session, tenant_id=account.tenant_id, plan="pro")
        await session.commit()
    body = await usage(api)
    assert body["plan"] == "pro"
    assert body["limits"] == asdict(PLANS["pro"])


async def test_no_route_changes_the_plan(api: httpx.AsyncClient) -> None:
    assert (await api.put("/v1/billing/plan", json={"plan": "business"})).status_code in (404, 405)


# --- rate limit --------------------------------------------------------------------------


@pytest.fixture
async def limited_app(
    settings: Settings, database_url: str, temporal_client: Client, storage: LocalStorage
) -> AsyncIterator[FastAPI]:
    """The app allowing each key a burst of 2 requests, then one every 2 seconds."""
    limited = settings.model_copy(update={"api_rate_per_second": 0.5, "api_rate_burst": 2})
    app = create_app(limited, database_url=database_url, temporal=temporal_client, storage=storage)
    async with app.router.lifespan_context(app):
        yield app


async def exhaust(client: httpx.AsyncClient) -> None:
    """Use up the key's burst of 2."""
    for _ in range(2):
        assert (await client.get("/v1/me")).status_code == 200


async def test_third_quick_request_of_a_key_is_rate_limited(
    limited_app: FastAPI, account: Account
) -> None:
    async with api_client(limited_app, account.headers) as client:
        await exhaust(client)
        response = await client.get("/v1/me")
    body = error(response, 429, "RATE_LIMITED")
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert body["details"] == {"retry_after_seconds": int(retry_after)}


async def test_rate_limit_is_per_key(
    limited_app: FastAPI, sessions: SessionFactory, account: Account
) -> None:
    other = await member_key(sessions, account.tenant_id, "viewer")
    async with api_client(limited_app, account.headers) as client:
        await exhaust(client)
        assert (await client.get("/v1/me")).status_code == 429
    async with api_client(limited_app, bearer(other)) as client:
        assert (await client.get("/v1/me")).status_code == 200


async def test_rate_limit_is_checked_before_permissions(
    limited_app: FastAPI, sessions: SessionFactory, account: Account
) -> None:
    viewer = await member_key(sessions, account.tenant_id, "viewer")
    async with api_client(limited_app, bearer(viewer)) as client:
        await exhaust(client)
        error(await client.get("/v1/api-keys"), 429, "RATE_LIMITED")


async def test_a_revoked_key_is_401_even_when_rate_limited(
    limited_app: FastAPI, api: httpx.AsyncClient
) -> None:
    created = await create_key(api)
    async with api_client(limited_app, bearer(created["key"])) as client:
        await exhaust(client)
        assert (await api.delete(f"/v1/api-keys/{created['id']}")).status_code == 200
        error(await client.get("/v1/me"), 401, "UNAUTHENTICATED")


# --- review follow-ups --------------------------------------------------------------------


async def test_an_admin_may_not_mint_a_key_for_another_admin(
    app: FastAPI, api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    other_admin = await add_member(api, "admin")
    admin = await member_key(sessions, account.tenant_id, "admin")
    async with api_client(app, bearer(admin)) as client:
        refused = await client.post(
            "/v1/api-keys", json={"name": "peer", "member_id": other_admin["id"]}
        )
        error(refused, 403, "FORBIDDEN")
        editor = await add_member(client, "editor")
        allowed = await client.post("/v1/api-keys", json={"name": "ed", "member_id": editor["id"]})
        assert allowed.status_code == 201, allowed.text
    owners = await api.post("/v1/api-keys", json={"name": "o", "member_id": other_admin["id"]})
    assert owners.status_code == 201, owners.text


@pytest.mark.parametrize(
    "expires", ["9999-12-31T23:59:00-14:00", "0001-01-01T00:00:00+14:00", "2026-01-01T00:00:00"]
)
async def test_an_implausible_token_expiry_is_refused(api: httpx.AsyncClient, expires: str) -> None:
    response = await api.put(
        "/v1/integrations/printify",
        json={"access_token": "a-long-enough-token", "token_expires_at": expires},
    )
    error(response, 422, "VALIDATION_ERROR")
    assert (await api.get("/v1/integrations")).status_code == 200


async def test_an_integration_in_use_cannot_be_disconnected(
    api: httpx.AsyncClient, account: Account
) -> None:
    started = await api.post(
        "/v1/workflows/design-to-listing",
        json={"keyword": "busy integration", "require_approval": True},
    )
    assert started.status_code == 202, started.text
    printify = account.integrations["printify"]
    body = error(await api.delete(f"/v1/integrations/{printify}"), 409, "INTEGRATION_IN_USE")
    assert body["details"]["workflow_ids"] == [started.json()["workflow_id"]]
    cancelled = await api.post(f"/v1/workflows/{started.json()['workflow_id']}/cancel")
    assert cancelled.status_code == 202


async def test_two_owners_removing_each_other_at_once_leave_one(
    app: FastAPI, api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    second = await add_member(api, "owner")
    second_key = (await create_key(api, member_id=second["id"]))["key"]
    async with api_client(app, bearer(second_key)) as other:
        answers = await asyncio.gather(
            api.delete(f"/v1/members/{second['id']}"),
            other.delete(f"/v1/members/{account.owner_id}"),
        )
    assert sorted(a.status_code for a in answers) == [204, 409], [a.text for a in answers]
    async with sessions() as session:
        assert await count_owners(session, tenant_id=account.tenant_id) == 1


async def test_demoting_a_member_narrows_their_keys_at_once(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    editor = await add_member(api, "editor")
    key = (await create_key(api, member_id=editor["id"]))["key"]
    async with api_client(app, bearer(key)) as client:
        before = await client.post("/v1/workflows/design-to-listing", json={})
        assert before.status_code == 422  # allowed, stopped only by the empty body
        changed = await api.patch(f"/v1/members/{editor['id']}", json={"role": "viewer"})
        assert changed.status_code == 200 and changed.json()["role"] == "viewer"
        after = await client.post("/v1/workflows/design-to-listing", json={})
        error(after, 403, "FORBIDDEN")


async def test_role_changes_stay_within_the_actors_rank(
    app: FastAPI, api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    viewer = await add_member(api, "viewer")
    admin = await member_key(sessions, account.tenant_id, "admin")
    async with api_client(app, bearer(admin)) as client:
        promoted = await client.patch(f"/v1/members/{viewer['id']}", json={"role": "owner"})
        error(promoted, 403, "FORBIDDEN")
        demote_owner = await client.patch(
            f"/v1/members/{account.owner_id}", json={"role": "viewer"}
        )
        error(demote_owner, 403, "FORBIDDEN")
    last = await api.patch(f"/v1/members/{account.owner_id}", json={"role": "admin"})
    error(last, 409, "LAST_OWNER")
