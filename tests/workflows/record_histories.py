"""Records one history per workflow type from the real stack, for the replay tests.

Not collected by the suite (no `test_` prefix): run it by hand on the code whose
histories must keep replaying, before changing any workflow, then commit the files:

    .venv/bin/pytest tests/workflows/record_histories.py -o addopts="-q -p no:cacheprovider"

It drives every kind of run through the API, as a seller would, with the session's
workers, and writes `histories/<WorkflowType>.json` (the first completed run of each).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from core.http_server import ThreadedServer
from tests.e2e.helpers import wait_for_end
from tests.stack import WorkerSet

HISTORIES = Path(__file__).resolve().parent / "histories"


async def started(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_record_one_history_per_workflow_type(
    api: httpx.AsyncClient, workers: WorkerSet, temporal_client: Client, tenant: str
) -> None:
    brief = await wait_for_end(
        api,
        (await started(await api.post("/v1/briefs", json={"keyword": "otter mom"})))["workflow_id"],
    )
    brief_id = brief["result"]["brief_id"]
    design = await wait_for_end(
        api,
        (await started(await api.post(f"/v1/briefs/{brief_id}/designs", json={})))["workflow_id"],
    )
    design_id = design["result"]["design_id"]
    await wait_for_end(
        api, (await started(await api.post(f"/v1/designs/{design_id}/listings")))["workflow_id"]
    )
    await wait_for_end(
        api,
        (
            await started(
                await api.post(
                    "/v1/workflows/design-to-listing",
                    json={"keyword": "hedgehog gardener"},
                    headers={"Idempotency-Key": "record-dtl"},
                )
            )
        )["workflow_id"],
    )
    scrape = await started(await api.post("/v1/trends/scrape", json={}))
    await temporal_client.get_workflow_handle(scrape["workflow_id"]).result()
    campaign = await started(await api.post("/v1/campaigns", json={"top_k": 2, "concurrency": 1}))
    deadline = time.monotonic() + 180
    while (await api.get(f"/v1/campaigns/{campaign['id']}")).json()["status"] != "completed":
        assert time.monotonic() < deadline, "the campaign did not complete"
        await asyncio.sleep(0.5)

    wanted = {
        "BriefWorkflow",
        "DesignWorkflow",
        "PublishDesignWorkflow",
        "DesignToListingWorkflow",
        "TrendScrapeWorkflow",
        "CampaignWorkflow",
    }
    written: set[str] = set()
    async for execution in temporal_client.list_workflows(f'TenantId = "{tenant}"'):
        kind = execution.workflow_type
        if kind in written or execution.status != WorkflowExecutionStatus.COMPLETED:
            continue
        history = await temporal_client.get_workflow_handle(execution.id).fetch_history()
        (HISTORIES / f"{kind}.json").write_text(history.to_json())
        written.add(kind)
    assert written == wanted


async def test_record_the_order_sync_history(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    temporal_client: Client,
    emulator: ThreadedServer,
) -> None:
    """`OrderSyncWorkflow` alone (issue 16): a listing is bought, and one sync reads the
    receipt, submits the Printify order and sends it to production."""
    run = await wait_for_end(
        api,
        (
            await started(
                await api.post(
                    "/v1/workflows/design-to-listing",
                    json={"keyword": "history order otter"},
                    headers={"Idempotency-Key": "record-order-sync"},
                )
            )
        )["workflow_id"],
    )
    bought = httpx.post(
        f"{emulator.url}/__admin/etsy/purchases",
        json={"listing_id": run["result"]["etsy_listing_id"]},
    )
    assert bought.status_code == 201, bought.text
    sync = await started(await api.post("/v1/orders/sync"))
    handle = temporal_client.get_workflow_handle(sync["workflow_id"], run_id=sync["run_id"])
    await handle.result()
    history = await handle.fetch_history()
    (HISTORIES / "OrderSyncWorkflow.json").write_text(history.to_json())
