"""Printify's own Etsy sales channel in the emulator: publishing a product of a shop
connected to Etsy makes its Etsy listing (variations, prices, SKUs, mock-ups) a moment
later, records it as `external`, and publishing again updates the same listing."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from core.http_server import ThreadedServer
from sandbox.app import EmulatorConfig
from tests.conftest import emulator_of_its_own

CONFIG = EmulatorConfig()


@pytest.fixture(scope="module")
def emulator(emulator_config: EmulatorConfig) -> Iterator[ThreadedServer]:
    yield from emulator_of_its_own(emulator_config)


def printify(emulator: ThreadedServer) -> httpx.Client:
    headers = {
        "authorization": f"Bearer {CONFIG.printify_token}",
        "user-agent": "pod-automator-tests",
    }
    return httpx.Client(base_url=f"{emulator.url}/printify/v1", headers=headers)


def wait_for_external(api: httpx.Client, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        product: dict[str, Any] = api.get(path).json()
        if product.get("external") and not product["is_locked"]:
            return product
        time.sleep(0.1)
    raise AssertionError("Printify's Etsy channel never published the product")


def test_publishing_on_the_etsy_channel_makes_and_then_updates_one_listing(
    emulator: ThreadedServer,
) -> None:
    etsy_shop = httpx.post(f"{emulator.url}/__admin/etsy/shops", json={}).json()
    shop = httpx.post(
        f"{emulator.url}/__admin/printify/shops",
        json={"sales_channel": "etsy", "etsy_shop_id": etsy_shop["shop_id"]},
    ).json()
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 30, 30)).save(buffer, format="PNG")
    with printify(emulator) as api:
        assert {"id": shop["id"], "title": shop["title"], "sales_channel": "etsy"} in api.get(
            "shops.json"
        ).json()
        upload = api.post(
            "uploads/images.json",
            json={"file_name": "a.png", "contents": base64.b64encode(buffer.getvalue()).decode()},
        ).json()
        variants = [12100, 12101, 12110, 12111]
        body = {
            "title": "Harbour Lights Tee",
            "description": "<p>Soft tee.</p><p>Printed on demand.</p>",
            "blueprint_id": 6,
            "print_provider_id": 99,
            "tags": ["harbour", "lights!", "harbour"],
            "variants": [
                {"id": v, "price": 2400 + 100 * (v % 2), "sku": f"CH-{v}"} for v in variants
            ],
            "print_areas": [
                {
                    "variant_ids": variants,
                    "placeholders": [
                        {
                            "position": "front",
                            "images": [{"id": upload["id"], "x": 0.5, "y": 0.5, "scale": 1}],
                        }
                    ],
                }
            ],
        }
        product = api.post(f"shops/{shop['id']}/products.json", json=body).json()
        path = f"shops/{shop['id']}/products/{product['id']}.json"
        assert api.post(f"shops/{shop['id']}/products/{product['id']}/publish.json", json={})
        published = wait_for_external(api, path)
        (external,) = published["external"]  # answered as a list on this channel
        listing_id = int(external["id"])

        api.put(path, json={"title": "Harbour Lights Tee, Renamed"})
        api.post(f"shops/{shop['id']}/products/{product['id']}/publish.json", json={})
        time.sleep(0.2)
        again = wait_for_external(api, path)
        assert again["external"] == published["external"]  # the same listing, updated

    etsy_headers = {"x-api-key": f"{CONFIG.etsy_keystring}:{CONFIG.etsy_shared_secret}"}
    with httpx.Client(base_url=f"{emulator.url}/etsy/v3", headers=etsy_headers) as etsy:
        listing = etsy.get(f"/application/listings/{listing_id}").json()
        active = etsy.get(
            f"/application/shops/{etsy_shop['shop_id']}/listings",
            params={"state": "active"},
            headers={"authorization": f"Bearer {CONFIG.etsy_access_token}"},
        )
        images = etsy.get(f"/application/listings/{listing_id}/images").json()["results"]
    assert listing["state"] == "active" and listing["shop_id"] == etsy_shop["shop_id"]
    assert listing["title"] == "Harbour Lights Tee, Renamed" and listing["has_variations"]
    assert listing["tags"] == ["harbour", "lights"]
    assert listing["readiness_state_id"] == etsy_shop["readiness_states"][0]["readiness_state_id"]
    assert active.json()["count"] == 1  # published twice, listed once
    assert [i["alt_text"].split("— ")[1] for i in images] == ["Black, front", "White, front"]
