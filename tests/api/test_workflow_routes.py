"""The HTTP contract of the workflow routes, over real Postgres, Temporal and workers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)
from temporalio.exceptions import CancelledError

from api.app import create_app
from core.db import SessionFactory
from core.settings import Settings
from core.storage import LocalStorage
from models import repositories
from models.payloads import DesignToListingResult
from models.requests import DesignToListingRequest
from models.tables import WorkflowRun
from services.runs import request_hash
from tests.accounts import Account, record_waiting_run
from tests.conftest import ISOLATED_NAMESPACE, api_client
from tests.e2e.helpers import poll_run, wait_for_end
from tests.stack import WorkerSet
from workflows.contract import run_workflow_id

START = "/v1/workflows/design-to-listing"


async def wait_for_status(api: httpx.AsyncClient, workflow_id: str, status: str) -> dict:
    return await poll_run(
        api, workflow_id, lambda view: view["status"] == status, timeout=60, pause=0.1
    )


async def start_awaiting_approval(api: httpx.AsyncClient, keyword: str, key: str) -> dict:
    """Start a run that needs approval and wait until it waits for it."""
    started = await api.post(
        START,
        json={"keyword": keyword, "require_approval": True},
        headers={"Idempotency-Key": key},
    )
    assert started.status_code == 202, started.text
    return await wait_for_status(api, started.json()["workflow_id"], "awaiting_approval")


async def test_validation_errors_use_the_error_shape(api: httpx.AsyncClient) -> None:
    response = await api.post(START, json={"keyword": "x", "colour": "red"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    fields = {tuple(err["loc"]) for err in body["details"]["errors"]}
    assert ("body", "keyword") in fields
    assert ("body", "colour") in fields


async def test_bad_idempotency_key_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post(
        START, json={"keyword": "cat mom"}, headers={"Idempotency-Key": "has spaces"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


async def test_unknown_things_are_404_with_the_error_shape(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/workflows/dtl-nobody-000")
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"
    design = await api.get(f"/v1/designs/{uuid.uuid4()}")
    assert design.status_code == 404
    assert (await api.get(f"/v1/designs/{uuid.uuid4()}/file")).status_code == 404
    route = await api.get("/v1/nothing-here")
    assert route.status_code == 404
    assert route.json() == {"code": "NOT_FOUND", "message": "Not Found"}
    bad_id = await api.get("/v1/designs/not-a-uuid")
    assert bad_id.status_code == 422
    signal = await api.post("/v1/workflows/dtl-nobody-000/approve")
    assert signal.status_code == 404


class QueryLog(Interceptor):
    """Records the workflow ids of every `state` query a client sends."""

    def __init__(self) -> None:
        self.queried: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        log = self

        class Recording(OutboundInterceptor):
            async def query_workflow(self, input: QueryWorkflowInput) -> Any:
                log.queried.append(input.id)
                return await super().query_workflow(input)

        return Recording(next)


async def test_a_start_answers_with_the_recorded_run_or_campaign_and_queries_nothing(
    settings: Settings,
    database_url: str,
    temporal_client: Client,
    storage: LocalStorage,
    account: Account,
) -> None:
    """A run just started has nothing newer than its record; a query would also hold the
    answer for its timeout whenever no workflow worker is up, as in this namespace."""
    log = QueryLog()
    temporal = Client(
        temporal_client.service_client, namespace=ISOLATED_NAMESPACE, interceptors=[log]
    )
    scoped = settings.model_copy(update={"temporal_namespace": ISOLATED_NAMESPACE})
    app = create_app(scoped, database_url=database_url, temporal=temporal, storage=storage)
    async with app.router.lifespan_context(app), api_client(app, account.headers) as api:
        started = await api.post(
            START, json={"keyword": "walrus knitting"}, headers={"Idempotency-Key": "no-query"}
        )
        repeated = await api.post(
            START, json={"keyword": "walrus knitting"}, headers={"Idempotency-Key": "no-query"}
        )
        campaign = await api.post("/v1/campaigns", headers={"Idempotency-Key": "no-query"})
        campaign_again = await api.post("/v1/campaigns", headers={"Idempotency-Key": "no-query"})
    await temporal.get_workflow_handle(started.json()["workflow_id"]).terminate()
    await temporal.get_workflow_handle(campaign.json()["id"]).terminate()

    assert started.status_code == 202, started.text
    view = started.json()
    assert (view["status"], view["stage"], view["progress"]) == ("running", "queued", 0.0)
    assert started.headers["Location"] == f"/v1/workflows/{view['workflow_id']}"
    assert "Idempotent-Replayed" not in started.headers
    assert repeated.status_code == 202 and repeated.json() == view
    assert repeated.headers["Idempotent-Replayed"] == "true"
    assert campaign.status_code == 202, campaign.text
    recorded = campaign.json()
    assert (recorded["status"], recorded["outcomes"], recorded["listings"]) == ("running", [], 0)
    assert campaign.headers["Location"] == f"/v1/campaigns/{recorded['id']}"
    assert campaign_again.status_code == 202 and campaign_again.json() == recorded
    assert campaign_again.headers["Idempotent-Replayed"] == "true"
    assert log.queried == []


async def test_health(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}


async def test_key_reused_with_another_body_is_a_conflict(
    api: httpx.AsyncClient, workers: WorkerSet
) -> None:
    headers = {"Idempotency-Key": "reuse-check"}
    first = await api.post(START, json={"keyword": "garden gnome"}, headers=headers)
    assert first.status_code == 202
    second = await api.post(START, json={"keyword": "another thing"}, headers=headers)
    assert second.status_code == 409
    assert second.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert second.json()["details"]["workflow_id"] == first.json()["workflow_id"]
    done = await wait_for_end(api, first.json()["workflow_id"])
    assert done["status"] == "completed"
    late = await api.post(f"/v1/workflows/{done['workflow_id']}/approve")
    assert late.status_code == 409
    assert late.json()["code"] == "INVALID_STATE"
    page = (await api.get("/v1/workflows", params={"status": "completed", "limit": 5})).json()
    assert page["count"] == 1
    assert page["data"][0]["workflow_id"] == done["workflow_id"]
    assert page["data"][0]["progress"] == 1.0
    assert (await api.get("/v1/workflows", params={"status": "failed"})).json()["count"] == 0


async def test_approval_flow_through_the_api(api: httpx.AsyncClient, workers: WorkerSet) -> None:
    waiting = await start_awaiting_approval(api, "pickleball grandma", "approve-me")
    workflow_id = waiting["workflow_id"]
    assert waiting["stage"] == "awaiting_approval"
    assert waiting["artifacts"]["title"]
    assert await brief_status(api, workflow_id) == "ready"
    approved = await api.post(f"/v1/workflows/{workflow_id}/approve")
    assert approved.status_code == 202
    done = await wait_for_end(api, workflow_id)
    assert done["status"] == "completed"
    assert done["result"]["listing_url"]
    assert await brief_status(api, workflow_id) == "approved"


async def brief_status(api: httpx.AsyncClient, workflow_id: str) -> str:
    """The status of the run's brief, as `GET /v1/briefs` shows it."""
    briefs = (await api.get("/v1/briefs", params={"limit": 100})).json()["data"]
    [brief] = [b for b in briefs if b["workflow_id"] == workflow_id]
    status: str = brief["status"]
    return status


async def test_reject_through_the_api(
    api: httpx.AsyncClient, workers: WorkerSet, temporal_client: Client
) -> None:
    workflow_id = (await start_awaiting_approval(api, "retro surf club", "reject-me"))[
        "workflow_id"
    ]
    rejected = await api.post(f"/v1/workflows/{workflow_id}/reject", json={"reason": "too busy"})
    assert rejected.status_code == 202
    done = await wait_for_end(api, workflow_id)
    assert done["status"] == "rejected"
    assert done["error"]["code"] == "BRIEF_REJECTED"
    assert "too busy" in done["error"]["message"]
    # The seller's decision is no failure in Temporal either: the run completed, rejected.
    handle = temporal_client.get_workflow_handle(workflow_id, result_type=DesignToListingResult)
    assert (await handle.result()).status == "rejected"
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    # The rejected brief can get no design: it was ready, it is rejected.
    assert await brief_status(api, workflow_id) == "rejected"
    [brief] = (await api.get("/v1/briefs", params={"status": "rejected"})).json()["data"]
    design = await api.post(f"/v1/briefs/{brief['id']}/designs")
    assert design.status_code == 409 and design.json()["code"] == "BRIEF_NOT_READY"


async def test_cancel_through_the_api(
    api: httpx.AsyncClient, workers: WorkerSet, temporal_client: Client
) -> None:
    workflow_id = (await start_awaiting_approval(api, "chess club dad", "cancel-me"))["workflow_id"]
    assert (await api.post(f"/v1/workflows/{workflow_id}/cancel")).status_code == 202
    done = await wait_for_end(api, workflow_id)
    assert done["status"] == "cancelled"
    assert done["error"]["code"] == "CANCELLED"
    assert await brief_status(api, workflow_id) == "cancelled"
    # Temporal shows the seller's cancel as CANCELED, not as a failure.
    # (The run records its end, then closes.)
    handle = temporal_client.get_workflow_handle(workflow_id)
    with pytest.raises(WorkflowFailureError) as closed:
        await handle.result()
    assert isinstance(closed.value.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED


async def test_unsafe_keyword_fails_with_reason(api: httpx.AsyncClient, workers: WorkerSet) -> None:
    started = await api.post(START, json={"keyword": "disney princess mom"})
    done = await wait_for_end(api, started.json()["workflow_id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "UNSAFE_CONTENT"
    assert "disney" in done["error"]["details"]["matches"]
    assert (await api.get("/v1/listings")).json()["count"] == 0


async def test_a_run_recorded_before_integrations_is_still_answered(
    api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    """A 0.1.0 record (no integration ids in its input) repeats without a 500."""
    body = DesignToListingRequest(keyword="legacy camper")
    legacy_input = {
        "tenant_id": account.tenant_id,
        "request_key": "legacy-key",
        "keyword": body.keyword,
        "template": body.template.model_dump(),
    }
    workflow_id = run_workflow_id("design_to_listing", account.tenant_id, "legacy-key")
    async with sessions() as session:
        await repositories.runs.create_run_if_absent(
            session,
            WorkflowRun(
                tenant_id=account.tenant_id,
                workflow_id=workflow_id,
                request_key="legacy-key",
                request_hash=request_hash(body),
                keyword=body.keyword,
                input=legacy_input,
                status="completed",
                stage="done",
            ),
        )
        await session.commit()
    again = await api.post(
        START, json={"keyword": "legacy camper"}, headers={"Idempotency-Key": "legacy-key"}
    )
    assert again.status_code == 202, again.text
    assert again.json()["workflow_id"] == workflow_id
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_signal_to_a_run_that_has_ended_answers_409(
    api: httpx.AsyncClient, sessions: SessionFactory, account: Account
) -> None:
    """The record still says the run waits (it lags the workflow by a moment), but the
    workflow is gone: approve, reject and cancel answer 409, not 500."""
    workflow_id = f"ended-{uuid.uuid4()}"
    await record_waiting_run(sessions, account.tenant_id, workflow_id, "ended run")
    for action in ("approve", "reject", "cancel"):
        answer = await api.post(f"/v1/workflows/{workflow_id}/{action}")
        assert answer.status_code == 409, (action, answer.text)
        assert answer.json()["code"] == "INVALID_STATE"
        assert answer.json()["details"]["ended"] is True
