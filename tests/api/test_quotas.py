"""Plan quotas on starting workflows: 402 at the limit, never exceeded by a race."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from core.db import SessionFactory
from core.settings import Settings
from sandbox.app import EmulatorConfig
from tests.accounts import Account, create_account
from tests.conftest import api_client

Limited = Callable[[dict[str, int]], Awaitable[Account]]


@pytest.fixture
def limited(
    sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> Limited:
    """Makes a fresh tenant whose plan limits are overridden as given."""

    async def make(limits: dict[str, int]) -> Account:
        return await create_account(sessions, settings.cipher, emulator_config, limits=limits)

    return make


def start(client: httpx.AsyncClient, key: str) -> asyncio.Future[httpx.Response]:
    return asyncio.ensure_future(
        client.post(
            "/v1/workflows/design-to-listing",
            json={"keyword": f"quota {key}", "require_approval": True},
            headers={"Idempotency-Key": key},
        )
    )


async def test_a_tenant_at_its_workflow_quota_gets_402(app: FastAPI, limited: Limited) -> None:
    account = await limited({"workflows_per_month": 2})
    async with api_client(app, account.headers) as client:
        assert (await start(client, "q1")).status_code == 202
        assert (await start(client, "q2")).status_code == 202
        refused = await start(client, "q3")
        assert refused.status_code == 402, refused.text
        body = refused.json()
        assert body["code"] == "QUOTA_EXCEEDED"
        assert body["details"]["metric"] == "workflows_per_month"
        assert body["details"]["limit"] == 2 and body["details"]["used"] == 2
        # Repeating an accepted request is not a new workflow: still answered, not billed.
        replay = await start(client, "q1")
        assert replay.status_code == 202
        assert replay.headers["Idempotent-Replayed"] == "true"
        usage = (await client.get("/v1/billing/usage")).json()
        assert usage["used"]["workflows"] == 2
        assert usage["limits"]["workflows_per_month"] == 2
        listed = (await client.get("/v1/workflows")).json()
        assert listed["count"] == 2


async def test_racing_starts_never_pass_the_quota(app: FastAPI, limited: Limited) -> None:
    account = await limited({"workflows_per_month": 2})
    async with api_client(app, account.headers) as client:
        answers = await asyncio.gather(*(start(client, f"race-{i}") for i in range(6)))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [202, 202, 402, 402, 402, 402], [a.text for a in answers]


async def test_an_exhausted_image_quota_refuses_new_workflows(
    app: FastAPI, limited: Limited
) -> None:
    account = await limited({"images_per_month": 0})
    async with api_client(app, account.headers) as client:
        refused = await start(client, "img")
        assert refused.status_code == 402
        assert refused.json()["details"]["metric"] == "images_per_month"


async def test_a_repeat_racing_its_original_at_the_last_slot_is_not_refused(
    app: FastAPI, limited: Limited
) -> None:
    account = await limited({"workflows_per_month": 1})
    async with api_client(app, account.headers) as client:
        answers = await asyncio.gather(start(client, "same"), start(client, "same"))
    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    assert answers[0].json()["workflow_id"] == answers[1].json()["workflow_id"]


async def test_runs_under_way_count_against_the_image_quota(app: FastAPI, limited: Limited) -> None:
    """A run waiting for approval has not made its image yet, but it will."""
    account = await limited({"images_per_month": 1})
    async with api_client(app, account.headers) as client:
        assert (await start(client, "first")).status_code == 202
        refused = await start(client, "second")
        assert refused.status_code == 402, refused.text
        assert refused.json()["details"]["metric"] == "images_per_month"
