"""End to end: POST a keyword → the listing is active on the Etsy emulator, the Printify
product is published with the listing's id, and a repeated request makes nothing new."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from core.http_server import ThreadedServer
from sandbox.app import EmulatorConfig
from tests.e2e.helpers import etsy_headers, printify_headers, wait_for_end
from tests.stack import WorkerSet


async def test_keyword_becomes_active_listing_once(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    body = {"keyword": "sourdough bread baker"}
    first = await api.post(
        "/v1/workflows/design-to-listing", json=body, headers={"Idempotency-Key": "e2e-sourdough"}
    )
    assert first.status_code == 202, first.text
    workflow_id = first.json()["workflow_id"]
    view = await wait_for_end(api, workflow_id)
    assert view["status"] == "completed", view
    result = view["result"]

    async with httpx.AsyncClient(base_url=emulator.url) as vendor:
        listing = (
            await vendor.get(
                f"/etsy/v3/application/listings/{result['etsy_listing_id']}",
                params={"includes": "Images"},
                headers=etsy_headers(emulator_config),
            )
        ).json()
        product = (
            await vendor.get(
                f"/printify/v1/shops/{result['printify_shop_id']}/products/"
                f"{result['printify_product_id']}.json",
                headers=printify_headers(emulator_config),
            )
        ).json()
    assert listing["state"] == "active"
    assert listing["title"] == view["artifacts"].get("title", listing["title"])
    assert "Sourdough" in listing["title"]
    assert 1 <= len(listing["tags"]) <= 13
    assert all(len(tag) <= 20 for tag in listing["tags"])
    assert len(listing["images"]) >= 1
    assert product["external"]["id"] == str(result["etsy_listing_id"])
    assert product["is_locked"] is False
    enabled_costs = [v["cost"] for v in product["variants"] if v["is_enabled"]]
    costs = result["cost_cents"]
    assert costs["printify_unit_cost"] == max(enabled_costs) > 0
    assert costs["margin_before_etsy_sale_fees"] == 2499 - max(enabled_costs) - 20

    again = await api.post(
        "/v1/workflows/design-to-listing", json=body, headers={"Idempotency-Key": "e2e-sourdough"}
    )
    assert again.status_code == 202
    assert again.json()["workflow_id"] == workflow_id
    assert again.headers["Idempotent-Replayed"] == "true"

    listings = (await api.get("/v1/listings")).json()
    assert listings["count"] == 1
    assert listings["data"][0]["etsy_listing_id"] == result["etsy_listing_id"]

    design = (await api.get(f"/v1/designs/{result['design_id']}")).json()
    file = await api.get(design["file_url"])
    assert file.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(file.content))
    assert image.size == (4500, 5400)
    assert image.mode == "RGBA"
    assert round(image.info["dpi"][0]) == 300
