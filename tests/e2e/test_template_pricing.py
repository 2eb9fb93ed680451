"""End to end: a saved template's margin rule prices each Printify variant from its
cost, and the Etsy listing offers each variant at its own price."""

from __future__ import annotations

import httpx

from core.http_server import ThreadedServer
from domain.pricing import PricingRule
from sandbox.app import EmulatorConfig
from tests.e2e.helpers import etsy_headers, printify_headers, wait_for_end
from tests.stack import WorkerSet

TEMPLATE = {
    "name": "Tee, 45 % margin",
    "blueprint_id": 6,
    "print_provider_id": 29,
    "variant_ids": [18100, 18101, 18103],
    "pricing": {"mode": "margin", "percent": 45, "ending_cents": 95},
    "is_default": True,
}


async def test_the_default_templates_margin_prices_product_and_listing(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    assert (await api.post("/v1/templates", json=TEMPLATE)).status_code == 201

    started = await api.post("/v1/workflows/design-to-listing", json={"keyword": "trail runner"})
    view = await wait_for_end(api, started.json()["workflow_id"])

    assert view["status"] == "completed", view
    result = view["result"]
    async with httpx.AsyncClient(base_url=emulator.url) as vendor:
        product = (
            await vendor.get(
                f"/printify/v1/shops/{result['printify_shop_id']}/products/"
                f"{result['printify_product_id']}.json",
                headers=printify_headers(emulator_config),
            )
        ).json()
        path = f"/etsy/v3/application/listings/{result['etsy_listing_id']}"
        listing = (await vendor.get(path, headers=etsy_headers(emulator_config))).json()
        inventory = (
            await vendor.get(f"{path}/inventory", headers=etsy_headers(emulator_config))
        ).json()
    rule = PricingRule(mode="margin", percent=45, ending_cents=95)
    enabled = [v for v in product["variants"] if v["is_enabled"]]
    assert sorted(v["id"] for v in enabled) == TEMPLATE["variant_ids"]
    for variant in enabled:
        assert variant["price"] == rule.price(variant["cost"])
        assert variant["price"] % 100 == 95
        assert (variant["price"] - variant["cost"]) / variant["price"] >= 0.45
    offered = {p["sku"]: p["offerings"][0]["price"]["amount"] for p in inventory["products"]}
    assert offered == {v["sku"]: v["price"] for v in enabled}  # each variant at its price
    price = listing["price"]
    assert round(price["amount"] / price["divisor"] * 100) == min(offered.values())
    # The run's margin is figured at the highest price against the highest cost.
    assert result["cost_cents"]["price"] == max(offered.values())
