"""A start while Temporal cannot be reached: 503 `TEMPORAL_UNAVAILABLE` with
`Retry-After`, no run record left behind and nothing counted against the plan (issue 14:
it answered 500 and left a `running` record with no workflow, counted in the quota)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlmodel import select
from temporalio.client import Client
from temporalio.service import RetryConfig

from api.app import create_app
from core.db import SessionFactory
from core.embedded import temporal_binary
from core.http_server import free_port
from core.settings import Settings
from core.storage import LocalStorage
from domain.plans import current_period
from models import repositories
from models.tables import Campaign, WorkflowRun
from tests.accounts import Account, record_waiting_run
from tests.conftest import api_client
from workflows.contract import on_demand_scrape_id


@pytest.fixture(scope="module")
async def unreachable_temporal(tmp_path_factory: pytest.TempPathFactory) -> Client:
    """A client of a Temporal dev server that has since been killed. The client retries
    a refused call for about a second (its default is about ten) to keep the test short."""
    port = free_port()
    database: Path = tmp_path_factory.mktemp("gone-temporal") / "temporal.db"
    server = subprocess.Popen(
        [
            *(temporal_binary(), "server", "start-dev", "--headless", "--port", str(port)),
            *("--db-filename", str(database), "--log-level", "error"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                client = await Client.connect(
                    f"127.0.0.1:{port}",
                    retry_config=RetryConfig(max_retries=2, max_elapsed_time_millis=1_000),
                )
                break
            except RuntimeError:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the dev server did not start")
    finally:
        server.kill()
        server.wait(10)
    return client


@pytest.fixture
async def cut_off(
    settings: Settings, database_url: str, storage: LocalStorage, unreachable_temporal: Client
) -> AsyncIterator[FastAPI]:
    """The API with that client."""
    app = create_app(
        settings, database_url=database_url, temporal=unreachable_temporal, storage=storage
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_a_start_is_503_and_leaves_no_record_or_quota(
    cut_off: FastAPI, account: Account, sessions: SessionFactory
) -> None:
    async with api_client(cut_off, account.headers) as api:
        for _ in range(2):  # a repeat with the same key is refused the same way
            response = await api.post(
                "/v1/workflows/design-to-listing",
                json={"keyword": "otter kayaking"},
                headers={"Idempotency-Key": "while-temporal-is-down"},
            )
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "TEMPORAL_UNAVAILABLE"
            assert response.headers["Retry-After"] == "15"
        assert (await api.get("/v1/workflows")).json()["count"] == 0

    async with sessions() as session:
        rows = (
            await session.exec(
                select(WorkflowRun).where(WorkflowRun.tenant_id == account.tenant_id)
            )
        ).all()
        started = await repositories.usage.count_runs_started(
            session, tenant_id=account.tenant_id, period=current_period()
        )
    assert rows == [] and started == 0


async def test_campaign_and_scrape_starts_are_503_and_leave_no_campaign(
    cut_off: FastAPI, account: Account, sessions: SessionFactory
) -> None:
    async with api_client(cut_off, account.headers) as api:
        for _ in range(2):  # the same key again: refused the same way, nothing recorded
            campaign = await api.post(
                "/v1/campaigns", json={"top_k": 2}, headers={"Idempotency-Key": "down"}
            )
            assert campaign.status_code == 503, campaign.text
            assert campaign.json()["code"] == "TEMPORAL_UNAVAILABLE"
            assert campaign.headers["Retry-After"] == "15"
        assert (await api.get("/v1/campaigns")).json()["count"] == 0

        scrape = await api.post("/v1/trends/scrape", json={})
        assert scrape.status_code == 503, scrape.text
        assert scrape.json()["code"] == "TEMPORAL_UNAVAILABLE"
        state = await api.get(f"/v1/trends/scrapes/{on_demand_scrape_id(account.tenant_id)}")
        assert state.status_code == 503 and state.headers["Retry-After"] == "15"

    async with sessions() as session:
        rows = (
            await session.exec(select(Campaign).where(Campaign.tenant_id == account.tenant_id))
        ).all()
    assert rows == []


async def test_approve_reject_cancel_are_503_while_temporal_is_down(
    cut_off: FastAPI, account: Account, sessions: SessionFactory
) -> None:
    workflow_id = "waiting-while-temporal-is-down"
    await record_waiting_run(sessions, account.tenant_id, workflow_id, "otter kayaking")
    async with api_client(cut_off, account.headers) as api:
        for action in ("approve", "reject", "cancel"):
            answer = await api.post(f"/v1/workflows/{workflow_id}/{action}")
            assert answer.status_code == 503, (action, answer.text)
            assert answer.json()["code"] == "TEMPORAL_UNAVAILABLE"
            assert answer.headers["Retry-After"] == "15"
