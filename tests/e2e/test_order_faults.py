"""Ten purchases while a fifth of both vendors' answers are refused, some after the vendor
acted (the answer lost), and the integration worker is killed with SIGKILL mid-sync:
exactly ten Printify orders and ten Etsy shipments, none twice (issue 16).

The worker is a `pod worker --queue integration` process of its own; the other queues
are served in-process. A fault test that waits on a heartbeat timeout and two process
starts: `make chaos` runs it (ADR 0022)."""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from core.db import SessionFactory
from core.http_server import ThreadedServer
from core.settings import Settings
from models import repositories
from models.requests import DesignToListingRequest
from models.tables import Order
from sandbox.app import EmulatorConfig, create_emulator_app
from services import order_sync
from services.runs import handle, start_design_to_listing
from tests.conftest import ISOLATED_NAMESPACE
from tests.e2e.helpers import etsy_headers, vendor_gateway
from tests.e2e.test_image_worker_killed import wait_for_started_activity
from tests.stack import WorkerSet, worker_process
from workflows.order_sync import OrderSyncWorkflow

PURCHASES = 10
FAULT_RATE = 0.2
METHODS = ("GET", "POST", "PUT", "PATCH")
VENDORS = (r"^/printify/v1/", r"^/etsy/v3/application/")


# The two posts that must not be repeated lose their first answer whatever the dice say.
LOST_ANSWERS = (r"^/printify/v1/shops/\d+/orders\.json$", r"/receipts/\d+/tracking$")


def fault_rules() -> list[dict[str, object]]:
    """Per vendor and method a fifth of requests refused: half a 429 before acting, a
    quarter a 503 before, a quarter a 503 after acting (the work done, the answer lost);
    and the first order and the first tracking posted lose their answer."""
    share = FAULT_RATE / 4
    rules: list[dict[str, object]] = [
        {"method": "POST", "path_regex": path, "mode": "after", "status": 503, "times": 1}
        for path in LOST_ANSWERS
    ]
    seeds = itertools.count(101)
    for path, method in itertools.product(VENDORS, METHODS):
        common = {"method": method, "path_regex": path, "times": 100_000}
        left = 1.0
        for extra, rate in (
            ({"status": 429, "retry_after": 1, "mode": "before"}, 2 * share),
            ({"status": 503, "mode": "before"}, share),
            ({"status": 503, "mode": "after"}, share),
        ):
            rules.append({**common, **extra, "rate": rate / left, "seed": next(seeds)})
            left -= rate
    return rules


@pytest.fixture
def own_emulator(emulator_config: EmulatorConfig) -> Iterator[ThreadedServer]:
    """Emulators of this test's own (no other test's receipts or faults); their Etsy ids
    start apart from the session emulator's, as both record into one database."""
    config = replace(
        emulator_config, etsy_listing_ids_after=3_500_000_000, etsy_image_ids_after=7_000_000_000
    )
    server = ThreadedServer(create_emulator_app(None, config)).start()
    yield server
    server.stop()


def integration_worker(
    settings: Settings, database_url: str, emulator_url: str, log: Path
) -> subprocess.Popen[bytes]:
    """`pod worker --queue integration` as its own process, on this test's emulators."""
    return worker_process(
        settings,
        database_url,
        "integration",
        log,
        PRINTIFY_BASE_URL=f"{emulator_url}/printify/v1",
        ETSY_BASE_URL=f"{emulator_url}/etsy/v3",
        ETSY_SHIPPING_PROFILE_ID="7001",
        ETSY_RETURN_POLICY_ID="8001",
        ETSY_READINESS_STATE_ID="9001",
        PRINTIFY_PUBLISH_WEBHOOK_WAIT_SECONDS="0",
        PRINTIFY_RATE_PER_SECOND="10",
    )


@pytest.fixture
async def isolated(
    settings: Settings, database_url: str, own_emulator: ThreadedServer
) -> AsyncIterator[tuple[Client, Settings]]:
    """Every queue but `pod-integration` served in-process, in a namespace of its own."""
    scoped = settings.model_copy(
        update={
            "temporal_namespace": ISOLATED_NAMESPACE,
            "printify_base_url": f"{own_emulator.url}/printify/v1",
            "etsy_base_url": f"{own_emulator.url}/etsy/v3",
        }
    )
    client = await Client.connect(settings.temporal_target, namespace=ISOLATED_NAMESPACE)
    queues = ["workflows", "ideation", "image", "records"]
    async with WorkerSet(scoped, client, database_url, queues=queues):
        yield client, scoped


async def tenant_orders(sessions: SessionFactory, tenant_id: str) -> list[Order]:
    async with sessions() as session:
        rows, _ = await repositories.orders.list_orders(
            session, tenant_id=tenant_id, status=None, limit=100, offset=0
        )
    return list(rows)


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(10)


@pytest.mark.chaos
async def test_ten_purchases_make_ten_orders_and_ten_shipments_despite_faults_and_a_kill(
    isolated: tuple[Client, Settings],
    sessions: SessionFactory,
    database_url: str,
    own_emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    tenant: str,
    tmp_path: Path,
) -> None:
    client, settings = isolated
    first = integration_worker(settings, database_url, own_emulator.url, tmp_path / "w1.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        async with sessions() as session, vendor_gateway(sessions, settings) as vendors:
            run, _ = await start_design_to_listing(
                session=session,
                temporal=client,
                vendors=vendors,
                tenant_id=tenant,
                idempotency_key="order-faults",
                body=DesignToListingRequest(keyword="order faults puffin"),
            )
        listing = await asyncio.wait_for(handle(client, run.workflow_id).result(), timeout=180)

        async with httpx.AsyncClient(base_url=own_emulator.url) as admin:
            receipts = []
            for _ in range(PURCHASES):
                bought = await admin.post(
                    "/__admin/etsy/purchases", json={"listing_id": listing.etsy_listing_id}
                )
                assert bought.status_code == 201, bought.text
                receipts.append(int(bought.json()["receipt_id"]))
            for rule in fault_rules():
                assert (await admin.post("/__admin/faults", json=rule)).status_code == 204

            started = await order_sync.sync_now(client, tenant_id=tenant)
            await wait_for_started_activity(client, started.workflow_id, "orders.advance")
            first.send_signal(signal.SIGKILL)  # mid-sync: only the heartbeat timeout notices
            first.wait(10)
            second = integration_worker(
                settings, database_url, own_emulator.url, tmp_path / "w2.log"
            )
            sync = client.get_workflow_handle_for(
                OrderSyncWorkflow.run, started.workflow_id, run_id=started.run_id
            )
            await asyncio.wait_for(sync.result(), timeout=240)

            # Printify makes and ships each order after a few seconds; syncs follow them.
            deadline = time.monotonic() + 240
            while True:
                orders = await tenant_orders(sessions, tenant)
                done = [o for o in orders if o.status == "shipped" and o.etsy_shipment_at]
                if len(done) == PURCHASES:
                    break
                assert time.monotonic() < deadline, [(o.status, o.hold_reason) for o in orders]
                again = await order_sync.sync_now(client, tenant_id=tenant)
                await asyncio.wait_for(
                    client.get_workflow_handle_for(
                        OrderSyncWorkflow.run, again.workflow_id, run_id=again.run_id
                    ).result(),
                    timeout=240,
                )
                await asyncio.sleep(1.0)

            log = (await admin.get("/__admin/requests")).json()
            assert (await admin.delete("/__admin/faults")).status_code == 204
            sent = (await admin.get("/__admin/printify/orders")).json()
            shipments = {}
            for receipt_id in receipts:
                path = (
                    f"/etsy/v3/application/shops/{emulator_config.etsy_shop_id}"
                    f"/receipts/{receipt_id}"
                )
                answer = await admin.get(path, headers=etsy_headers(emulator_config))
                shipments[receipt_id] = len(answer.json()["shipments"])
    finally:
        stop(first)
        stop(second)

    refused = [entry for entry in log if entry["status"] in (429, 503)]
    assert len(refused) >= 0.1 * len(log) > 0, (len(refused), len(log))  # the faults fired
    for path in LOST_ANSWERS:  # and a Printify order and an Etsy shipment lost an answer
        lost = [e for e in refused if e["method"] == "POST" and re.search(path, e["path"])]
        assert lost, path
    external_ids = sorted(o["sent"]["external_id"] for o in sent)
    assert external_ids == sorted(str(r) for r in receipts)  # ten orders, none twice
    assert shipments == dict.fromkeys(receipts, 1)  # ten shipments, none twice
    assert sorted(o.etsy_receipt_id for o in done) == sorted(receipts)
