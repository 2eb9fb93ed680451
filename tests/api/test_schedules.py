"""Scrape schedules through the API against the real Temporal dev server: made by cron or
interval, seen by Temporal's own CLI, changed, paused, triggered and deleted, each
tenant's kept to itself.

Over 400 lines on purpose: every schedule route and refusal against a real Temporal
server."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    ScheduleSpec,
    WorkflowExecutionStatus,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.db import SessionFactory
from core.embedded import temporal_binary
from core.settings import Settings
from core.storage import LocalStorage
from domain.trends import ALL_SOURCES
from models.trends import TrendScrapeInput
from sandbox.app import EmulatorConfig
from tests.accounts import Account, create_account
from tests.conftest import ISOLATED_NAMESPACE, api_client
from workflows.contract import TENANT_ATTRIBUTE


async def remove_schedules(client: Client, tenant_id: str) -> None:
    """Delete the tenant's schedules and stop the scrapes they started (none may linger)."""
    async for entry in await client.list_schedules(query=f'TenantId = "{tenant_id}"'):
        handle = client.get_schedule_handle(entry.id)
        for action in (await handle.describe()).info.running_actions:
            workflow_id = getattr(action, "workflow_id", None)
            if workflow_id:
                with contextlib.suppress(RPCError):  # it ended meanwhile
                    await client.get_workflow_handle(workflow_id).terminate("test over")
        await handle.delete()


@pytest.fixture(autouse=True)
async def _no_schedules_left(temporal_client: Client, account: Account) -> AsyncIterator[None]:
    yield
    await remove_schedules(temporal_client, account.tenant_id)


def temporal_cli(settings: Settings, *args: str) -> Any:
    """Temporal's own CLI, pointed at the test server, answering JSON."""
    done = subprocess.run(
        [
            temporal_binary(),
            *args,
            "--address",
            settings.temporal_target,
            "--namespace",
            settings.temporal_namespace,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(done.stdout)


def times(view: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(value) for value in view["next_runs"]]


async def create(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await api.post("/v1/schedules", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_made_by_interval_and_by_cron_temporal_and_the_list_show_both(
    api: httpx.AsyncClient, account: Account, settings: Settings
) -> None:
    tenant = account.tenant_id
    response = await api.post("/v1/schedules", json={"name": "every-12h", "interval_minutes": 720})
    assert response.status_code == 201, response.text
    every = response.json()
    assert every["id"] == f"scrape-{tenant}.every-12h"
    assert response.headers["location"] == f"/v1/schedules/{every['id']}"
    assert (every["interval_minutes"], every["cron"], every["paused"]) == (720, None, False)
    assert every["sources"] == list(ALL_SOURCES)
    assert every["campaign"] is None and every["recent_runs"] == []
    assert every["created_by"] == str(account.owner_id)
    assert every["links"]["temporal_ui"] == (
        f"{settings.temporal_web_url}/namespaces/default/schedules/{every['id']}"
    )
    runs = times(every)
    assert len(runs) >= 3
    assert all(later - earlier == timedelta(hours=12) for earlier, later in pairwise(runs))

    mornings = await create(
        api, name="weekday-mornings", cron="0 7 * * mon-fri", sources=["reddit", "etsy"]
    )
    assert (mornings["cron"], mornings["interval_minutes"]) == ("0 7 * * mon-fri", None)
    assert mornings["sources"] == ["reddit", "etsy"]
    assert all((t.hour, t.minute) == (7, 0) and t.weekday() < 5 for t in times(mornings))

    listed = (await api.get("/v1/schedules")).json()
    assert listed["count"] == 2
    assert [s["name"] for s in listed["data"]] == ["every-12h", "weekday-mornings"]
    assert [s["cron"] for s in listed["data"]] == [None, "0 7 * * mon-fri"]
    soon = listed["data"][0]["next_runs"]  # the list holds fewer than one schedule's view
    assert soon and soon == every["next_runs"][: len(soon)]
    page = (await api.get("/v1/schedules", params={"limit": 1, "offset": 1})).json()
    assert ([s["name"] for s in page["data"]], page["count"]) == (["weekday-mornings"], 2)

    shown = temporal_cli(settings, "schedule", "list", "--query", f'TenantId = "{tenant}"')
    assert {entry["scheduleId"] for entry in shown} == {every["id"], mornings["id"]}
    assert {entry["info"]["workflowType"]["name"] for entry in shown} == {"TrendScrapeWorkflow"}


async def test_the_schedule_in_temporal_starts_the_tenants_scrape(
    api: httpx.AsyncClient, account: Account, temporal_client: Client
) -> None:
    tenant = account.tenant_id
    view = await create(
        api,
        name="cats",
        interval_minutes=60,
        sources=["reddit"],
        options={"reddit_subreddits": ["cats", "CatsAreAssholes"], "reddit_pages": 2},
        campaign={"top_k": 3, "concurrency": 1},
        note="cat niches",
    )
    described = await temporal_client.get_schedule_handle(view["id"]).describe()
    schedule = described.schedule
    assert described.typed_search_attributes.get(TENANT_ATTRIBUTE) == tenant
    memo = await described.memo()
    assert memo == {"tenant_id": tenant, "name": "cats", "created_by": str(account.owner_id)}
    assert schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert schedule.policy.catchup_window == timedelta(minutes=10)
    assert schedule.state.note == "cat niches"
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.id, action.task_queue) == (
        "TrendScrapeWorkflow",
        f"scr-{tenant}.cats",
        "pod-workflows",
    )
    assert action.typed_search_attributes.get(TENANT_ATTRIBUTE) == tenant
    [scrape] = await temporal_client.data_converter.decode(list(action.args), [TrendScrapeInput])
    assert (scrape.tenant_id, scrape.request_key, scrape.sources) == (
        tenant,
        view["id"],
        ["reddit"],
    )
    assert scrape.options.reddit_subreddits == ["cats", "CatsAreAssholes"]
    assert scrape.campaign is not None and (scrape.campaign.top_k, scrape.campaign.concurrency) == (
        3,
        1,
    )


async def test_patch_changes_the_timing_and_the_scrape_and_keeps_the_rest(
    api: httpx.AsyncClient,
) -> None:
    view = await create(
        api,
        name="tuned",
        cron="0 6 * * *",
        options={"google_geo": "DE", "etsy_keywords": 5},
        campaign={"top_k": 5},
    )
    url = f"/v1/schedules/{view['id']}"

    response = await api.patch(url, json={"interval_minutes": 90})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["cron"], changed["interval_minutes"]) == (None, 90)
    runs = times(changed)
    assert all(later - earlier == timedelta(minutes=90) for earlier, later in pairwise(runs))
    assert changed["options"] == view["options"] and changed["campaign"] == view["campaign"]

    # A partial options or campaign object changes what it names and keeps the rest.
    response = await api.patch(
        url, json={"options": {"reddit_pages": 3}, "campaign": {"concurrency": 2}}
    )
    assert response.status_code == 200, response.text
    partial = response.json()
    assert partial["options"] == {**view["options"], "reddit_pages": 3}
    assert partial["campaign"] == {**view["campaign"], "concurrency": 2}

    response = await api.patch(
        url, json={"campaign": None, "sources": ["reddit", "reddit"], "note": "reddit only"}
    )
    assert response.status_code == 200, response.text
    again = (await api.get(url)).json()
    assert (again["campaign"], again["sources"], again["note"]) == (None, ["reddit"], "reddit only")
    assert again["options"]["google_geo"] == "DE" and again["interval_minutes"] == 90

    response = await api.patch(url, json={"cron": "@hourly"})
    assert (await api.get(url)).json()["cron"] == "@hourly"
    too_often = await api.patch(url, json={"cron": "*/5 * * * *"})
    assert too_often.status_code == 422
    assert too_often.json()["code"] == "SCHEDULE_TOO_FREQUENT"
    both = await api.patch(url, json={"cron": "0 6 * * *", "interval_minutes": 60})
    assert both.status_code == 422 and both.json()["code"] == "VALIDATION_ERROR"
    assert (await api.get(url)).json()["cron"] == "@hourly"


async def test_pause_and_unpause_show_in_the_schedule_and_the_list(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    view = await create(api, name="holiday", interval_minutes=240, note="made")
    url = f"/v1/schedules/{view['id']}"

    paused = await api.post(f"{url}/pause", json={"note": "shop closed"})
    assert paused.status_code == 200, paused.text
    assert (paused.json()["paused"], paused.json()["note"]) == (True, "shop closed")
    state = (await temporal_client.get_schedule_handle(view["id"]).describe()).schedule.state
    assert (state.paused, state.note) == (True, "shop closed")
    assert paused.json()["next_runs"], "a paused schedule still tells when it would fire"
    listed = (await api.get("/v1/schedules")).json()["data"]
    assert [(s["name"], s["paused"]) for s in listed] == [("holiday", True)]

    unpaused = await api.post(f"{url}/unpause")
    assert unpaused.status_code == 200, unpaused.text
    assert (unpaused.json()["paused"], unpaused.json()["note"]) == (False, "unpaused")
    assert (await api.get(url)).json()["paused"] is False


async def test_delete_removes_it_from_temporal_and_the_list(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    keep = await create(api, name="keep", interval_minutes=60)
    gone = await create(api, name="gone", interval_minutes=60)

    response = await api.delete(f"/v1/schedules/{gone['id']}")
    assert response.status_code == 204, response.text
    with pytest.raises(RPCError) as missing:
        await temporal_client.get_schedule_handle(gone["id"]).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert [s["id"] for s in (await api.get("/v1/schedules")).json()["data"]] == [keep["id"]]
    again = await api.get(f"/v1/schedules/{gone['id']}")
    assert again.status_code == 404
    assert again.json() == {
        "code": "SCHEDULE_NOT_FOUND",
        "message": "no such schedule in this tenant",
        "details": {"schedule_id": gone["id"]},
    }
    assert (await api.delete(f"/v1/schedules/{gone['id']}")).status_code == 404
    # The name is free again.
    assert (await create(api, name="gone", interval_minutes=60))["id"] == gone["id"]


async def test_a_list_right_after_each_create_includes_it(api: httpx.AsyncClient) -> None:
    names = ["a-1", "a-2", "a-3"]
    for count, name in enumerate(names, start=1):
        await create(api, name=name, interval_minutes=120, paused=True)
        listed = (await api.get("/v1/schedules")).json()
        assert [s["name"] for s in listed["data"]] == names[:count]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"cron": "0 6 * * *", "interval_minutes": 60}, "VALIDATION_ERROR"),
        ({}, "VALIDATION_ERROR"),
        ({"interval_minutes": 5}, "SCHEDULE_TOO_FREQUENT"),
        ({"cron": "* * * * *"}, "SCHEDULE_TOO_FREQUENT"),
        ({"cron": "*/10 * * * *"}, "SCHEDULE_TOO_FREQUENT"),
        ({"cron": "0,5 9 * * *"}, "SCHEDULE_TOO_FREQUENT"),
        # 23:55 then 00:05 the next day: ten minutes apart across midnight.
        ({"cron": "5,55 0,23 * * *"}, "SCHEDULE_TOO_FREQUENT"),
        ({"cron": "61 * * * *"}, "SCHEDULE_CRON_INVALID"),
        ({"cron": "0 0 30 2 *"}, "SCHEDULE_CRON_INVALID"),
        ({"cron": "* * * *"}, "SCHEDULE_CRON_INVALID"),
        ({"cron": "0 0 * * * 2030"}, "SCHEDULE_CRON_INVALID"),
        ({"cron": "0 12 L * *"}, "SCHEDULE_CRON_INVALID"),
        ({"interval_minutes": 60, "name": "Not A Slug"}, "VALIDATION_ERROR"),
        ({"interval_minutes": 60, "sources": ["myspace"]}, "VALIDATION_ERROR"),
        ({"interval_minutes": 60, "sources": []}, "VALIDATION_ERROR"),
        ({"interval_minutes": 60, "options": {"reddit_pages": 9}}, "VALIDATION_ERROR"),
        ({"interval_minutes": 60, "options": {"reddit_subreddits": ["a b"]}}, "VALIDATION_ERROR"),
        ({"interval_minutes": 60, "campaign": {"top_k": 51}}, "VALIDATION_ERROR"),
        ({"interval_minutes": 60, "note": "n" * 201}, "VALIDATION_ERROR"),
        ({"interval_minutes": 60, "tenant_id": "someone-else"}, "VALIDATION_ERROR"),
    ],
)
async def test_invalid_schedules_are_refused_with_their_code(
    api: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    response = await api.post("/v1/schedules", json={"name": "bad", **body})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert (await api.get("/v1/schedules")).json()["count"] == 0


async def test_too_frequent_names_the_limit(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/schedules", json={"name": "x", "cron": "*/10 9-17 * * *"})
    assert response.json()["details"] == {
        "cron": "*/10 9-17 * * *",
        "fires_every_minutes": 10,
        "minimum_minutes": 15,
    }


@asynccontextmanager
async def app_with(settings: Settings, client: Client, **changes: Any) -> AsyncIterator[FastAPI]:
    """The app with some settings changed (and, if given, another namespace's client)."""
    app = create_app(
        settings.model_copy(update=changes),
        database_url=settings.database_url,
        temporal=client,
        storage=LocalStorage(settings.home / "storage"),
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_a_name_is_taken_once_and_a_tenant_has_a_limited_number(
    settings: Settings, temporal_client: Client, account: Account
) -> None:
    async with (
        app_with(settings, temporal_client, schedules_per_tenant=2) as app,
        api_client(app, account.headers) as api,
    ):
        first = await create(api, name="one", interval_minutes=60)
        taken = await api.post("/v1/schedules", json={"name": "one", "cron": "0 1 * * *"})
        assert taken.status_code == 409
        assert taken.json()["code"] == "SCHEDULE_EXISTS"
        assert taken.json()["details"] == {"name": "one"}
        await create(api, name="two", interval_minutes=60)
        full = await api.post("/v1/schedules", json={"name": "three", "interval_minutes": 60})
        assert full.status_code == 409
        assert (full.json()["code"], full.json()["details"]) == (
            "SCHEDULE_LIMIT_REACHED",
            {"limit": 2},
        )
        assert (await api.delete(f"/v1/schedules/{first['id']}")).status_code == 204
        await create(api, name="three", interval_minutes=60)


@pytest.fixture
def isolated_client(temporal_env: WorkflowEnvironment) -> Iterator[Client]:
    """A client of the namespace no session-wide worker polls: triggered scrapes stay running."""
    config = temporal_env.client.config()
    config["namespace"] = ISOLATED_NAMESPACE
    yield Client(**config)


async def test_trigger_starts_a_scrape_now_and_never_beside_a_running_one(
    settings: Settings, isolated_client: Client, account: Account
) -> None:
    tenant = account.tenant_id
    try:
        async with (
            app_with(settings, isolated_client, temporal_namespace=ISOLATED_NAMESPACE) as app,
            api_client(app, account.headers) as api,
        ):
            view = await create(api, name="manual", interval_minutes=1440, paused=True)
            url = f"/v1/schedules/{view['id']}"
            response = await api.post(f"{url}/trigger")
            assert response.status_code == 202, response.text
            triggered = response.json()
            workflow_id = triggered["workflow_id"]
            assert workflow_id.startswith(f"scr-{tenant}.manual-")
            assert triggered["links"]["temporal_ui"].endswith(
                f"/namespaces/{ISOLATED_NAMESPACE}/schedules/{view['id']}"
            )

            run = await isolated_client.get_workflow_handle(workflow_id).describe()
            assert (run.workflow_type, run.task_queue) == ("TrendScrapeWorkflow", "pod-workflows")
            assert run.status == WorkflowExecutionStatus.RUNNING
            assert run.typed_search_attributes.get(TENANT_ATTRIBUTE) == tenant
            found = [
                execution.id
                async for execution in isolated_client.list_workflows(
                    f'TenantId = "{tenant}" AND WorkflowType = "TrendScrapeWorkflow"'
                )
            ]
            assert found == [workflow_id]

            shown = (await api.get(url)).json()
            assert shown["paused"] is True, "a trigger fires a paused schedule and keeps it paused"
            assert shown["running_workflow_ids"] == [workflow_id]
            assert [r["workflow_id"] for r in shown["recent_runs"]] == [workflow_id]
            assert shown["runs_started"] == 1

            again = await api.post(f"{url}/trigger")
            assert again.status_code == 409, again.text
            assert again.json()["code"] == "SCHEDULE_RUN_IN_PROGRESS"
            assert again.json()["details"] == {"workflow_ids": [workflow_id]}
    finally:
        await remove_schedules(isolated_client, tenant)


async def test_only_schedules_the_tenant_owns_are_reachable(
    api: httpx.AsyncClient,
    account: Account,
    temporal_client: Client,
    app: FastAPI,
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
) -> None:
    mine = await create(api, name="mine", interval_minutes=60)
    # Planted in Temporal with this tenant's id prefix but another tenant's attribute: the
    # id alone never makes a schedule the tenant's.
    planted_id = f"scrape-{account.tenant_id}.planted"
    await temporal_client.create_schedule(
        planted_id,
        Schedule(
            action=ScheduleActionStartWorkflow("TrendScrapeWorkflow", id="x", task_queue="q"),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=1))]),
        ),
        memo={"tenant_id": account.tenant_id, "name": "planted"},
        search_attributes=TypedSearchAttributes([SearchAttributePair(TENANT_ATTRIBUTE, "other")]),
    )
    try:
        for method in ("GET", "PATCH", "DELETE"):
            response = await api.request(method, f"/v1/schedules/{planted_id}", json={})
            assert response.status_code == 404, (method, response.text)
            assert response.json()["code"] == "SCHEDULE_NOT_FOUND"
        for action in ("pause", "unpause", "trigger"):
            response = await api.post(f"/v1/schedules/{planted_id}/{action}")
            assert response.status_code == 404, (action, response.text)
        assert [s["id"] for s in (await api.get("/v1/schedules")).json()["data"]] == [mine["id"]]
        assert (await temporal_client.get_schedule_handle(planted_id).describe()).schedule
    finally:
        await temporal_client.get_schedule_handle(planted_id).delete()

    other = await create_account(sessions, settings.cipher, emulator_config)
    async with api_client(app, other.headers) as them:
        assert (await them.get("/v1/schedules")).json() == {"data": [], "count": 0}
        refused = await them.get(f"/v1/schedules/{mine['id']}")
        assert (refused.status_code, refused.json()["code"]) == (404, "SCHEDULE_NOT_FOUND")
        theirs = await create(them, name="mine", interval_minutes=60)
        assert theirs["id"] == f"scrape-{other.tenant_id}.mine"
    await remove_schedules(temporal_client, other.tenant_id)
