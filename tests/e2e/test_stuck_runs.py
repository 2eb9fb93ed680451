"""What is stuck is visible (issue 17): while a vendor does not answer, the run's view and
`pod status` name the activity that waits, its attempt, the call it waits on and how long
it has waited; `pod status` also shows each task queue's backlog."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from cli.stack import status
from core.http_server import ThreadedServer
from core.settings import Settings
from tests.e2e.helpers import poll_run
from tests.stack import WorkerSet
from workflows.contract import QUEUES

# The vendor "hangs" this long on the product's creation (the fault's longest delay).
HANG_SECONDS = 30


def _waiting(view: dict[str, Any]) -> dict[str, Any] | None:
    for pending in view.get("pending_activities") or []:
        note = pending["waiting_on"] or ""
        if pending["activity_type"] == "printify.create_product" and "/shops/" in note:
            return pending
    return None


async def test_the_view_and_pod_status_name_what_a_stuck_run_waits_on(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    emulator: ThreadedServer,
    clear_faults: None,
    settings: Settings,
) -> None:
    rule = {
        "method": "POST",
        "path_regex": r"shops/\d+/products\.json$",
        "mode": "slow",
        "delay_seconds": HANG_SECONDS,
    }
    assert httpx.post(f"{emulator.url}/__admin/faults", json=rule).status_code == 204
    started = await api.post(
        "/v1/workflows/design-to-listing",
        json={"keyword": "stuck otter"},
        headers={"Idempotency-Key": "stuck-otter"},
    )
    workflow_id = started.json()["workflow_id"]

    # Heartbeats reach Temporal at most every 0.8 x the integration queue's 20 s timeout.
    view = await poll_run(api, workflow_id, lambda v: _waiting(v) is not None, timeout=28)
    pending = _waiting(view)
    assert pending is not None
    assert pending["state"] == "started" and pending["attempt"] == 1
    assert pending["waiting_on"].startswith("printify POST /printify/v1/shops/")
    assert "/products.json for " in pending["waiting_on"]
    assert pending["waiting_seconds"] > 0 and pending["last_failure"] is None
    assert view["status"] == "running"

    seen: dict[str, Any] = await asyncio.to_thread(status, settings)
    run = next(r for r in seen["live_runs"] if r["workflow_id"] == workflow_id)
    (activity,) = [
        p for p in run["pending_activities"] if p["activity_type"] == "printify.create_product"
    ]
    assert activity["attempt"] == 1 and "products.json" in activity["waiting_on"]
    queues = seen["task_queues"]
    assert set(queues) == set(QUEUES.values())
    assert queues[QUEUES["integration"]]["pollers"] >= 1
    assert all(q["backlog"] >= 0 for q in queues.values())
