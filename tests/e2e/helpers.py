"""Shared helpers of the end-to-end tests: polling runs, reading the emulators."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from core.db import SessionFactory
from core.settings import Settings
from domain.skus import workflow_key
from sandbox.app import EmulatorConfig
from services.vendors import VendorGateway

# A default-template listing's photos: the mock-ups of its two colours and the artwork.
LISTING_PHOTOS = 3


@asynccontextmanager
async def vendor_gateway(
    sessions: SessionFactory, settings: Settings
) -> AsyncIterator[VendorGateway]:
    """The vendor clients a route would use (a run request reads the Etsy shop's setup)."""
    gateway = VendorGateway(sessions, settings, settings.cipher)
    try:
        yield gateway
    finally:
        await gateway.aclose()


async def poll_run(
    api: httpx.AsyncClient,
    workflow_id: str,
    done: Callable[[dict[str, Any]], bool],
    *,
    timeout: float = 120,
    pause: float = 0.2,
) -> dict[str, Any]:
    """Poll `GET /v1/workflows/{id}` until `done(view)`, the pause growing to 1 s as a
    client's should: a run takes ten seconds or more, and polling every 0.2 s was a fifth
    of an end-to-end test's CPU under py-spy (auth, run and cost-line reads, fifty a run)."""
    deadline = time.monotonic() + timeout
    while True:
        view: dict[str, Any] = (await api.get(f"/v1/workflows/{workflow_id}")).json()
        if done(view):
            return view
        assert time.monotonic() < deadline, f"still {view.get('stage')} after {timeout}s: {view}"
        await asyncio.sleep(pause)
        pause = min(1.0, pause * 1.25)


async def wait_for_end(
    api: httpx.AsyncClient, workflow_id: str, timeout: float = 120
) -> dict[str, Any]:
    """The run's view once it leaves running/awaiting_approval."""
    return await poll_run(
        api,
        workflow_id,
        lambda view: view["status"] not in ("running", "awaiting_approval"),
        timeout=timeout,
    )


def etsy_headers(config: EmulatorConfig) -> dict[str, str]:
    return {
        "x-api-key": f"{config.etsy_keystring}:{config.etsy_shared_secret}",
        "Authorization": f"Bearer {config.etsy_access_token}",
    }


def printify_headers(config: EmulatorConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.printify_token}", "User-Agent": "tests"}


async def vendor_counts(
    emulator_url: str, config: EmulatorConfig, workflow_id: str, title: str
) -> dict[str, int]:
    """How many uploads, products, listings and listing images the emulators hold for a run."""
    return (await runs_vendor_counts(emulator_url, config, {workflow_id: title}))[workflow_id]


async def runs_vendor_counts(
    emulator_url: str, config: EmulatorConfig, titles: dict[str, str]
) -> dict[str, dict[str, int]]:
    """`vendor_counts` of several runs (workflow id → listing title), reading each vendor
    list once."""
    counts = {
        workflow_id: {"uploads": 0, "products": 0, "listings": 0, "listing_images": 0}
        for workflow_id in titles
    }
    keys = {workflow_key(workflow_id): workflow_id for workflow_id in titles}
    by_title: dict[str, list[str]] = {}
    for workflow_id, title in titles.items():
        by_title.setdefault(title, []).append(workflow_id)

    def owners(text: str) -> list[str]:
        return [wid for key, wid in keys.items() if key in text]

    async with httpx.AsyncClient(base_url=emulator_url, timeout=30) as vendor:

        async def printify_items(path: str, limit: int) -> list[dict[str, Any]]:
            """Every item of a paginated Printify list."""
            items: list[dict[str, Any]] = []
            page = 1
            while True:
                response = await vendor.get(
                    f"/printify/v1/{path}",
                    params={"page": page, "limit": limit},
                    headers=printify_headers(config),
                )
                body = response.json()
                items += body["data"]
                if body["next_page_url"] is None:
                    return items
                page += 1

        async def etsy(path: str, **params: Any) -> dict[str, Any]:
            """An Etsy read, waiting out the emulator's 10 requests a second."""
            while True:
                response = await vendor.get(
                    f"/etsy/v3/application/{path}", params=params, headers=etsy_headers(config)
                )
                if response.status_code != 429:
                    answer: dict[str, Any] = response.json()
                    return answer
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))

        for upload in await printify_items("uploads.json", 100):
            for wid in owners(upload["file_name"]):
                counts[wid]["uploads"] += 1
        products = await printify_items(f"shops/{config.printify_shop_id}/products.json", 50)
        for product in products:
            skus = [variant.get("sku") or "" for variant in product["variants"]]
            for wid in {wid for sku in skus for wid in owners(sku)}:
                counts[wid]["products"] += 1
        for state in ("draft", "active", "inactive"):
            listings = await etsy(f"shops/{config.etsy_shop_id}/listings", state=state, limit=100)
            for listing in listings["results"]:
                for wid in by_title.get(listing["title"], []):
                    counts[wid]["listings"] += 1
                    images = await etsy(f"listings/{listing['listing_id']}/images")
                    counts[wid]["listing_images"] += images["count"]
    return counts
