"""`GET /v1/campaigns`: a tenant's campaigns, newest first, filtered by status and paged,
read from Postgres (the rows are written here as the campaign service records them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from core.db import SessionFactory
from core.settings import Settings
from models.tables import Campaign
from sandbox.app import EmulatorConfig
from tests.accounts import Account, create_account
from tests.conftest import api_client


async def record(sessions: SessionFactory, tenant_id: str, name: str, status: str, age: int) -> str:
    campaign_id = f"campaign-{tenant_id}.{name}"
    at = datetime.now(UTC) - timedelta(minutes=age)
    async with sessions() as session:
        session.add(
            Campaign(
                id=campaign_id,
                tenant_id=tenant_id,
                request_key=name,
                request_hash="0" * 64,
                options={"top_k": 3},
                status=status,
                outcomes=[
                    {
                        "signal_id": "s1",
                        "keyword": "cat dad",
                        "score": 1.0,
                        "status": "skipped",
                        "reason": "niche already briefed",
                    }
                ],
                created_at=at,
                updated_at=at,
            )
        )
        await session.commit()
    return campaign_id


async def test_newest_first_by_status_paged_and_the_tenants_own(
    api: httpx.AsyncClient,
    app: FastAPI,
    account: Account,
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
) -> None:
    old = await record(sessions, account.tenant_id, "old", "completed", age=30)
    new = await record(sessions, account.tenant_id, "new", "running", age=1)
    other = await create_account(sessions, settings.cipher, emulator_config, connect=False)
    await record(sessions, other.tenant_id, "theirs", "completed", age=5)

    page = (await api.get("/v1/campaigns")).json()
    assert [c["id"] for c in page["data"]] == [new, old]
    assert page["count"] == 2
    assert page["data"][1]["skipped"] == 1 and page["data"][1]["options"] == {"top_k": 3}

    done = (await api.get("/v1/campaigns", params={"status": "completed"})).json()
    assert [c["id"] for c in done["data"]] == [old]
    second = (await api.get("/v1/campaigns", params={"limit": 1, "offset": 1})).json()
    assert [c["id"] for c in second["data"]] == [old] and second["count"] == 2
    bad = await api.get("/v1/campaigns", params={"status": "paused"})
    assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_ERROR"

    async with api_client(app, other.headers) as theirs:
        listed = (await theirs.get("/v1/campaigns")).json()
    assert [c["id"] for c in listed["data"]] == [f"campaign-{other.tenant_id}.theirs"]
