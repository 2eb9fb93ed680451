"""A schedule made through the API fires on its own (no trigger), its scrape fills
`GET /v1/trends`, and the campaign it asks for lists the top signals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import (
    Client,
    CreateScheduleInput,
    Interceptor,
    OutboundInterceptor,
    ScheduleHandle,
)

from api.app import create_app
from core.settings import Settings
from core.storage import LocalStorage
from models.trends import TrendScrapeResult
from tests.accounts import Account
from tests.api.test_schedules import remove_schedules, temporal_cli
from tests.conftest import api_client
from tests.e2e.test_trends import wait_for_campaign
from tests.stack import WorkerSet


@dataclass
class FirstFiringSoon(Interceptor):
    """Test-only: an interval schedule first fires `lead` after it is made, not at the
    next whole interval (up to a minute away). Temporal fires an interval spec at
    epoch + offset + n * every: only the offset (its phase) moves, the interval stays."""

    lead: timedelta = timedelta(seconds=2)

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        lead = self.lead

        class Soon(OutboundInterceptor):
            async def create_schedule(self, input: CreateScheduleInput) -> ScheduleHandle:
                soon = datetime.now(UTC) + lead - datetime.fromtimestamp(0, UTC)
                for interval in input.schedule.spec.intervals:
                    interval.offset = soon % interval.every
                return await super().create_schedule(input)

        return Soon(next)


@pytest.fixture
async def minute_app(
    settings: Settings, database_url: str, temporal_client: Client, storage: LocalStorage
) -> AsyncIterator[FastAPI]:
    """The API with schedules allowed every minute, whose first firing comes within
    seconds (`FirstFiringSoon`)."""
    quick = settings.model_copy(update={"schedule_min_interval_minutes": 1})
    temporal = Client(temporal_client.service_client, interceptors=[FirstFiringSoon()])
    app = create_app(quick, database_url=database_url, temporal=temporal, storage=storage)
    async with app.router.lifespan_context(app):
        yield app


async def wait_for_first_run(api: httpx.AsyncClient, schedule_id: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        view: dict[str, Any] = (await api.get(f"/v1/schedules/{schedule_id}")).json()
        if view["recent_runs"]:
            workflow_id: str = view["recent_runs"][0]["workflow_id"]
            return workflow_id
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.5)


async def test_a_schedule_fires_and_its_scrape_and_campaign_show_in_the_api(
    minute_app: FastAPI,
    account: Account,
    settings: Settings,
    workers: WorkerSet,
    temporal_client: Client,
) -> None:
    sources = ["google_trends", "pinterest", "etsy"]
    body: dict[str, Any] = {
        "name": "every-minute",
        "interval_minutes": 1,
        "sources": sources,
        "campaign": {"top_k": 2, "concurrency": 2},
    }
    try:
        async with api_client(minute_app, account.headers) as api:
            created = await api.post("/v1/schedules", json=body)
            assert created.status_code == 201, created.text
            schedule_id = created.json()["id"]
            listed = temporal_cli(settings, "schedule", "list")
            assert schedule_id in {entry["scheduleId"] for entry in listed}
            assert (await api.get("/v1/trends")).json()["count"] == 0

            workflow_id = await wait_for_first_run(api, schedule_id)
            result = await temporal_client.get_workflow_handle(
                workflow_id, result_type=TrendScrapeResult
            ).result()
            assert {o.source for o in result.sources if o.ok} == set(sources)
            trends = (await api.get("/v1/trends", params={"limit": 100})).json()
            assert trends["count"] == result.created > 0
            seen = {source for signal in trends["data"] for source in signal["sources"]}
            assert seen == set(sources)

            assert result.campaign_id is not None
            campaign = await wait_for_campaign(api, result.campaign_id)
            assert campaign["listings"] + campaign["skipped"] == 2
            assert campaign["listings"] >= 1
    finally:
        await remove_schedules(temporal_client, account.tenant_id)
