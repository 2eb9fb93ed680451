"""The Web UI list can be filtered by a run's stage, status and keyword (issue 17): the
search attributes a run carries, read back through Temporal's visibility API, as the UI
reads them; each run has a one-line summary."""

from __future__ import annotations

import asyncio
import time

import httpx
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from tests.e2e.helpers import poll_run, wait_for_end
from tests.stack import WorkerSet

START = "/v1/workflows/design-to-listing"


async def _listed(client: Client, query: str, expected: set[str]) -> set[str]:
    """The ids the query lists once visibility has caught up (a few seconds at most)."""
    deadline = time.monotonic() + 15
    while True:
        found = {w.id async for w in client.list_workflows(query)}
        if expected <= found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.3)


async def test_runs_are_found_by_stage_status_and_keyword(
    api: httpx.AsyncClient, workers: WorkerSet, temporal_client: Client, tenant: str
) -> None:
    done = (await api.post(START, json={"keyword": "axolotl barista"})).json()["workflow_id"]
    held = (
        await api.post(START, json={"keyword": "axolotl gardener", "require_approval": True})
    ).json()["workflow_id"]
    assert (await wait_for_end(api, done))["status"] == "completed"
    await poll_run(api, held, lambda view: view["status"] == "awaiting_approval")
    mine = f"TenantId = '{tenant}'"

    waiting = await _listed(temporal_client, f"{mine} AND Stage = 'awaiting_approval'", {held})
    assert waiting == {held}
    assert (await api.post(f"/v1/workflows/{held}/reject", json={"reason": "no"})).is_success
    await wait_for_end(api, held)

    completed = await _listed(
        temporal_client, f"{mine} AND Stage = 'done' AND RunStatus = 'completed'", {done}
    )
    assert completed == {done}
    rejected = await _listed(temporal_client, f"{mine} AND RunStatus = 'rejected'", {held})
    assert rejected == {held}
    by_word = await _listed(temporal_client, f"{mine} AND TrendKeyword = 'axolotl'", {done, held})
    assert by_word == {done, held}
    barista = await _listed(temporal_client, f"{mine} AND TrendKeyword = 'barista'", {done})
    assert barista == {done}

    run = temporal_client.get_workflow_handle(done)
    assert await (await run.describe()).static_summary() == (
        f"axolotl barista → Etsy, tenant {tenant}"
    )
    # The run's current details, as the Web UI shows them (the SDK's metadata query).
    metadata = await run.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert metadata.current_details == "**completed** at `done` (100%)"
