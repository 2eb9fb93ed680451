"""Shared helpers of the end-to-end tests: polling runs, reading the emulators."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from activities.printify import workflow_key
from sandbox.app import EmulatorConfig


async def wait_for_end(
    api: httpx.AsyncClient, workflow_id: str, timeout: float = 120
) -> dict[str, Any]:
    """Poll `GET /v1/workflows/{id}` until the run leaves running/awaiting_approval."""
    deadline = time.monotonic() + timeout
    while True:
        view: dict[str, Any] = (await api.get(f"/v1/workflows/{workflow_id}")).json()
        if view["status"] not in ("running", "awaiting_approval"):
            return view
        assert time.monotonic() < deadline, f"still {view['stage']} after {timeout}s"
        await asyncio.sleep(0.2)


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
    key = workflow_key(workflow_id)
    counts = {"uploads": 0, "products": 0, "listings": 0, "listing_images": 0}
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

        uploads = await printify_items("uploads.json", 100)
        counts["uploads"] = sum(1 for upload in uploads if key in upload["file_name"])
        products = await printify_items(f"shops/{config.printify_shop_id}/products.json", 50)
        counts["products"] = sum(
            1
            for product in products
            if any(key in (variant.get("sku") or "") for variant in product["variants"])
        )
        for state in ("draft", "active", "inactive"):
            listings = (
                await vendor.get(
                    f"/etsy/v3/application/shops/{config.etsy_shop_id}/listings",
                    params={"state": state, "limit": 100},
                    headers=etsy_headers(config),
                )
            ).json()
            for listing in listings["results"]:
                if listing["title"] != title:
                    continue
                counts["listings"] += 1
                images = (
                    await vendor.get(
                        f"/etsy/v3/application/listings/{listing['listing_id']}/images",
                        headers=etsy_headers(config),
                    )
                ).json()
                counts["listing_images"] += images["count"]
    return counts
