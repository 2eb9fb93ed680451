"""Kill the image worker process while it makes a design, start another: the run still
ends with exactly one product and one listing (the acceptance test of durability).

A fault test that waits on a heartbeat timeout and two process starts: `make chaos`
runs it (ADR 0022); `make test` keeps the in-process fault tests."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client

from core.db import SessionFactory
from core.http_server import ThreadedServer
from core.settings import Settings
from models.requests import DesignToListingRequest
from models.tables import UsageEvent
from sandbox.app import EmulatorConfig
from services.runs import handle, start_design_to_listing
from tests.conftest import ISOLATED_NAMESPACE
from tests.e2e.helpers import LISTING_PHOTOS, vendor_counts, vendor_gateway
from tests.stack import WorkerSet, worker_process


def image_worker(settings: Settings, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    """`pod worker --queue image` as its own process, with a slow provider."""
    return worker_process(settings, database_url, "image", log, POD_IMAGE_PROVIDER_DELAY="4")


@pytest.fixture
async def isolated(settings: Settings, database_url: str) -> AsyncIterator[tuple[Client, Settings]]:
    """Every queue but `pod-image` served in-process, in a namespace of its own."""
    scoped = settings.model_copy(update={"temporal_namespace": ISOLATED_NAMESPACE})
    client = await Client.connect(settings.temporal_target, namespace=ISOLATED_NAMESPACE)
    queues = ["workflows", "ideation", "integration", "records"]
    async with WorkerSet(scoped, client, database_url, queues=queues):
        yield client, scoped


async def wait_for_started_activity(client: Client, workflow_id: str, name: str) -> int:
    """Wait until `name` is running on a worker; return its attempt number."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        description = await handle(client, workflow_id).describe()
        for pending in description.raw_description.pending_activities:
            if (
                pending.activity_type.name == name
                and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            ):
                return int(pending.attempt)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} never started")


@pytest.mark.chaos
async def test_killed_image_worker_still_makes_one_listing(
    isolated: tuple[Client, Settings],
    sessions: SessionFactory,
    database_url: str,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    tenant: str,
    tmp_path: Path,
) -> None:
    client, settings = isolated
    first = image_worker(settings, database_url, tmp_path / "worker-1.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        async with sessions() as session, vendor_gateway(sessions, settings) as vendors:
            run, _ = await start_design_to_listing(
                session=session,
                temporal=client,
                vendors=vendors,
                tenant_id=tenant,
                idempotency_key="kill-image-worker",
                body=DesignToListingRequest(keyword="mountain biking grandpa"),
            )
        attempt = await wait_for_started_activity(client, run.workflow_id, "image.generate_design")
        assert attempt == 1
        first.send_signal(signal.SIGKILL)  # no goodbye: only the heartbeat timeout notices
        first.wait(10)

        second = image_worker(settings, database_url, tmp_path / "worker-2.log")
        result = await asyncio.wait_for(handle(client, run.workflow_id).result(), timeout=120)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)

    history = await handle(client, run.workflow_id).fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    design_attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and scheduled[e.activity_task_started_event_attributes.scheduled_event_id]
        == "image.generate_design"
    ]
    # The history keeps the last attempt only: attempt 2 ran on the second worker.
    assert design_attempts == [2], "the design must have been retried after the kill"
    assert result.status == "completed"
    counts = await vendor_counts(emulator.url, emulator_config, run.workflow_id, result.title)
    assert counts == {"uploads": 1, "products": 1, "listings": 1, "listing_images": LISTING_PHOTOS}
    # The retried design stage is billed once, like every other stage.
    async with sessions() as session:
        rows = await session.exec(
            select(UsageEvent.metric, UsageEvent.quantity).where(
                UsageEvent.tenant_id == tenant, UsageEvent.workflow_id == run.workflow_id
            )
        )
        billed = sorted(rows.all())
    assert billed == [("briefs", 1), ("images", 1), ("listings", 1), ("products", 1)]
