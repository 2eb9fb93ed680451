"""Twenty design-to-listing runs while a fifth of both vendors' answers are refused
(429 with `Retry-After`, or 503, before the vendor acts): every run completes with
exactly one Printify product and one Etsy listing, and the emulators see no second
(and, for Printify, no minute) of traffic above the configured rates.

`make test` runs the same test with five runs; the twenty are `make chaos` (ADR 0022).

Lost answers (the vendor acted, the client heard a 503) are `test_no_duplicates`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import replace

import httpx
import pytest
from temporalio.client import Client

from core.db import SessionFactory
from core.http_server import ThreadedServer
from core.settings import Settings
from models.requests import DesignToListingRequest
from sandbox.app import EmulatorConfig, create_emulator_app
from services.runs import handle, start_design_to_listing
from tests.conftest import ISOLATED_NAMESPACE
from tests.e2e.helpers import LISTING_PHOTOS, runs_vendor_counts, vendor_gateway
from tests.stack import WorkerSet
from workers.runner import build_activities, build_worker

IMAGE_SLOTS = 3
FAULT_RATE = 0.2
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
VENDORS = (r"^/printify/v1/", r"^/etsy/v3/application/")
KEYWORDS = [
    f"{animal} {hobby}"
    for animal, hobby in itertools.product(
        ("otter", "heron", "badger", "puffin", "walrus"),
        ("kayaking", "gardening", "knitting", "stargazing"),
    )
]


def fault_rules() -> list[dict[str, object]]:
    """Per vendor and method, half the refusals a 429 and half a 503. A request meets
    the 429 rule first (a tenth of matches), then the 503 rule (a ninth of the rest):
    together a fifth of all requests."""
    rules: list[dict[str, object]] = []
    seeds = itertools.count(1)
    for path, method in itertools.product(VENDORS, METHODS):
        common = {"method": method, "path_regex": path, "mode": "before", "times": 100_000}
        rules.append({**common, "status": 429, "retry_after": 1, "rate": FAULT_RATE / 2})
        rules.append({**common, "status": 503, "rate": FAULT_RATE / 2 / (1 - FAULT_RATE / 2)})
    return [{**rule, "seed": next(seeds)} for rule in rules]


@pytest.fixture
def own_emulator(emulator_config: EmulatorConfig) -> Iterator[ThreadedServer]:
    """Emulators of this test's own: empty shops, and no other test's traffic. Its Etsy
    listing and image ids start apart from the session emulator's: both record into one
    database, where an Etsy id has one owner."""
    config = replace(
        emulator_config, etsy_listing_ids_after=2_500_000_000, etsy_image_ids_after=6_000_000_000
    )
    server = ThreadedServer(create_emulator_app(None, config)).start()
    yield server
    server.stop()


@pytest.fixture
async def isolated(
    settings: Settings, database_url: str, own_emulator: ThreadedServer
) -> AsyncIterator[tuple[Client, Settings]]:
    """Every queue served in-process in a namespace of its own. Printify at 10 requests a
    second (its 600 a minute) keeps the test short. The image worker takes a few print
    files at a time: twenty at once on a two-core machine starve its heartbeats, and the
    runs still reach the vendors together."""
    scoped = settings.model_copy(
        update={
            "temporal_namespace": ISOLATED_NAMESPACE,
            "printify_base_url": f"{own_emulator.url}/printify/v1",
            "etsy_base_url": f"{own_emulator.url}/etsy/v3",
            "printify_rate_per_second": 10.0,
        }
    )
    client = await Client.connect(settings.temporal_target, namespace=ISOLATED_NAMESPACE)
    others = ["workflows", "ideation", "integration", "records"]
    async with WorkerSet(scoped, client, database_url, queues=others), AsyncExitStack() as stack:
        activities = await build_activities(scoped, "image", database_url, stack)
        async with build_worker(
            client, "image", activities, scoped, max_concurrent_activities=IMAGE_SLOTS
        ):
            yield client, scoped


@pytest.mark.parametrize(
    "runs", [pytest.param(5, id="5-runs"), pytest.param(20, id="20-runs", marks=pytest.mark.chaos)]
)
async def test_runs_complete_once_each_within_the_rates_despite_refusals(
    runs: int,
    isolated: tuple[Client, Settings],
    sessions: SessionFactory,
    own_emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    tenant: str,
) -> None:
    client, settings = isolated
    async with httpx.AsyncClient(base_url=own_emulator.url) as admin:
        for rule in fault_rules():
            assert (await admin.post("/__admin/faults", json=rule)).status_code == 204

        ids = []
        async with sessions() as session, vendor_gateway(sessions, settings) as vendors:
            for keyword in KEYWORDS[:runs]:
                run, created = await start_design_to_listing(
                    session=session,
                    temporal=client,
                    vendors=vendors,
                    tenant_id=tenant,
                    idempotency_key=f"vendor-faults-{keyword}",
                    body=DesignToListingRequest(keyword=keyword),
                )
                assert created
                ids.append(run.workflow_id)
        results = await asyncio.wait_for(
            asyncio.gather(*(handle(client, wid).result() for wid in ids)), timeout=240
        )

        log = (await admin.get("/__admin/requests")).json()
        etsy = (await admin.get("/__admin/traffic", params={"vendor": "etsy"})).json()
        printify = (await admin.get("/__admin/traffic", params={"vendor": "printify"})).json()
        printify_minute = (
            await admin.get("/__admin/traffic", params={"vendor": "printify", "window": 60})
        ).json()
        assert (await admin.delete("/__admin/faults")).status_code == 204

    assert [result.status for result in results] == ["completed"] * runs, results
    refused = [entry["status"] for entry in log if entry["status"] in (429, 503)]
    # The faults did fire, about as often as asked.
    assert 0.1 * len(log) <= len(refused) <= 0.3 * len(log), (len(refused), len(log))
    assert min(etsy["count"], printify["count"]) > runs  # the windows below are not empty
    assert etsy["max_in_window"] <= settings.etsy_rate_per_second, etsy
    assert printify["max_in_window"] <= settings.printify_rate_per_second, printify
    assert printify_minute["max_in_window"] <= settings.printify_max_per_minute
    titles = {workflow_id: result.title for workflow_id, result in zip(ids, results, strict=True)}
    counts = await runs_vendor_counts(own_emulator.url, emulator_config, titles)
    once = {"uploads": 1, "products": 1, "listings": 1, "listing_images": LISTING_PHOTOS}
    assert counts == dict.fromkeys(ids, once)
