"""`docs/vendors/printify.md` is our contract with Printify (it publishes no OpenAPI
document): every path the client calls is one of its rows, every row is served by the
emulator, and the emulator enforces the limits the page states — over real HTTP."""

from __future__ import annotations

import base64
import inspect
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import integrations.printify as printify_module
from core.http_server import ThreadedServer
from integrations.printify import PrintifyClient
from sandbox.app import EmulatorConfig
from sandbox.printify import state as printify_state
from tests.conftest import emulator_of_its_own
from tests.images import png
from tests.recording import RecordingTransport

TABLE = Path(__file__).resolve().parents[2] / "docs" / "vendors" / "printify.md"
ROW = re.compile(r"^\| (GET|POST|PUT|DELETE) \| `([^`]+)` \|")
LIMIT = re.compile(r"^\| ([^|]+?) \| (\d+) \|")


def endpoints() -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path pattern, path) for each row of the endpoint table."""
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        found = ROW.match(line)
        if found:
            method, path = found.groups()
            pattern = re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")
            rows.append((method, pattern, path))
    return rows


def limits() -> dict[str, int]:
    found = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        match = LIMIT.match(line)
        if match:
            found[match.group(1).strip()] = int(match.group(2))
    return found


@pytest.fixture(scope="module")
def emulator(emulator_config: EmulatorConfig) -> Iterator[ThreadedServer]:
    yield from emulator_of_its_own(emulator_config)


@pytest.fixture
async def recorded(
    emulator: ThreadedServer, emulator_config: EmulatorConfig
) -> AsyncIterator[tuple[PrintifyClient, RecordingTransport]]:
    transport = RecordingTransport()
    client = PrintifyClient(
        base_url=f"{emulator.url}/printify/v1",
        token=emulator_config.printify_token,
        user_agent="pod-automator-tests",
        transport=transport,
        rate_per_second=100.0,
        max_attempts=1,
    )
    yield client, transport
    await client.aclose()


def test_the_table_is_read() -> None:
    rows = endpoints()
    assert len(rows) >= 20
    assert ("POST", "uploads/images.json") in {(m, p) for m, _, p in rows}
    assert limits()["requests per minute, per account"] == 600


async def call_every_method(
    client: PrintifyClient, shop: int, emulator: ThreadedServer
) -> set[str]:
    """Each client method once; returns the names called."""
    upload = await client.upload_image("contract.png", png(64, 64))
    body = {
        "title": "Contract tee",
        "description": "<p>Soft.</p>",
        "blueprint_id": 6,
        "print_provider_id": 99,
        "variants": [{"id": 12100, "price": 2500, "is_enabled": True, "sku": "C-1"}],
        "print_areas": [
            {
                "variant_ids": [12100],
                "placeholders": [
                    {
                        "position": "front",
                        "images": [
                            {"id": upload["id"], "x": 0.5, "y": 0.5, "scale": 1, "angle": 0}
                        ],
                    }
                ],
            }
        ],
    }
    product = await client.create_product(shop, body)
    pid = str(product["id"])
    hook = await client.create_webhook(shop, "product:deleted", "https://example.test/h", "s3cret")
    address = {
        "first_name": "Alex",
        "last_name": "Buyer",
        "country": "US",
        "region": "IL",
        "address1": "123 Main Street",
        "city": "Springfield",
        "zip": "62701",
    }
    orders = [
        await client.create_order(
            shop,
            {
                "external_id": f"contract-{n}",
                "line_items": [{"product_id": pid, "variant_id": 12100, "quantity": 1}],
                "shipping_method": 1,
                "address_to": address,
            },
        )
        for n in range(2)
    ]
    served = f"{emulator.url}/printify/v1/mockups/{pid}/12100/front.png"
    calls: dict[str, Any] = {
        "list_shops": client.list_shops(),
        "list_blueprints": client.list_blueprints(),
        "list_blueprint_providers": client.list_blueprint_providers(6),
        "get_variants": client.get_variants(6, 99),
        "get_shipping": client.get_shipping(6, 99),
        "upload_image_url": client.upload_image_url("by-url.png", served),
        "find_upload": client.find_upload("contract.png"),
        "get_upload": client.get_upload(str(upload["id"])),
        "get_product": client.get_product(shop, pid),
        "update_product": client.update_product(shop, pid, {"title": "Renamed"}),
        "find_product_by_sku": client.find_product_by_sku(shop, "C-1"),
        "publish": client.publish(shop, pid),
        "publishing_succeeded": client.publishing_succeeded(shop, pid, "1", "https://e.test/1"),
        "publishing_failed": client.publishing_failed(shop, pid, "no"),
        "unpublish": client.unpublish(shop, pid),
        "get_order": client.get_order(shop, orders[0]["id"]),
        "find_order_by_external_id": client.find_order_by_external_id(shop, "contract-1"),
        "send_order_to_production": client.send_order_to_production(shop, orders[0]["id"]),
        "cancel_order": client.cancel_order(shop, orders[1]["id"]),
        "list_webhooks": client.list_webhooks(shop),
        "update_webhook": client.update_webhook(shop, str(hook["id"]), "https://example.test/2"),
        "delete_webhook": client.delete_webhook(shop, str(hook["id"])),
        "delete_product": client.delete_product(shop, pid),
    }
    for call in calls.values():
        await call
    return {"upload_image", "create_product", "create_webhook", "create_order", *calls}


async def test_every_client_call_is_a_row_of_the_table(
    recorded: tuple[PrintifyClient, RecordingTransport],
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    client, transport = recorded
    called = await call_every_method(client, emulator_config.printify_shop_id, emulator)
    public = {
        name
        for name, member in inspect.getmembers(PrintifyClient, inspect.iscoroutinefunction)
        if not name.startswith("_") and name != "aclose"
    }
    assert called == public, "a client method is not checked against the table"
    rows = endpoints()
    for exchange in transport.exchanges:
        path = httpx.URL(exchange.url).path.removeprefix("/printify/v1/")
        assert any(
            method == exchange.method and pattern.match(path) for method, pattern, _ in rows
        ), f"{exchange.method} {path} is not in docs/vendors/printify.md"
        assert exchange.status < 400, (exchange.method, path, exchange.answer[:200])


def test_every_row_is_served_by_the_emulator(
    emulator: ThreadedServer, emulator_config: EmulatorConfig
) -> None:
    headers = {
        "authorization": f"Bearer {emulator_config.printify_token}",
        "user-agent": "pod-automator-tests",
    }
    with httpx.Client(base_url=f"{emulator.url}/printify/v1", headers=headers) as vendor:
        for method, _, path in endpoints():
            url = re.sub(r"\{(\w+)\}", lambda m: "6" if "blueprint" in m.group(1) else "1", path)
            answer = vendor.request(method, url, json={} if method in ("POST", "PUT") else None)
            unknown = answer.status_code == 404 and "Route" in answer.text
            assert not unknown, f"{method} {path} is not served by the emulator"


async def test_the_emulator_enforces_the_tables_limits(
    emulator: ThreadedServer, emulator_config: EmulatorConfig
) -> None:
    stated = limits()
    assert stated["requests per minute, per account"] == printify_state.RATE_LIMIT
    assert stated["catalog requests per minute, on top"] == printify_module.CATALOG_PER_MINUTE
    assert stated["`publish.json` calls per 30 minutes"] == printify_module.PUBLISHES_PER_30_MINUTES
    assert stated["uploads page size, at most"] == printify_module.UPLOADS_PAGE_LIMIT
    assert stated["products page size, at most"] == printify_module.PRODUCTS_PAGE_LIMIT
    most = stated["base64 upload, at most (bytes)"]
    assert most == printify_module.MAX_BASE64_UPLOAD_BYTES
    headers = {
        "authorization": f"Bearer {emulator_config.printify_token}",
        "user-agent": "pod-automator-tests",
    }
    shop = emulator_config.printify_shop_id
    with httpx.Client(base_url=f"{emulator.url}/printify/v1", headers=headers) as vendor:
        uploads = stated["uploads page size, at most"]
        assert vendor.get("uploads.json", params={"limit": uploads}).status_code == 200
        assert vendor.get("uploads.json", params={"limit": uploads + 1}).status_code >= 400
        products = stated["products page size, at most"]
        path = f"shops/{shop}/products.json"
        assert vendor.get(path, params={"limit": products}).status_code == 200
        assert vendor.get(path, params={"limit": products + 1}).status_code >= 400
        # Just over the base64 limit: refused, with the advice to send a URL.
        big = base64.b64encode(b"\0" * (most + 1)).decode()
        refused = vendor.post("uploads/images.json", json={"file_name": "big.png", "contents": big})
        assert refused.status_code == 400 and "url" in refused.text
    client = PrintifyClient(
        base_url=f"{emulator.url}/printify/v1",
        token=emulator_config.printify_token,
        user_agent="pod-automator-tests",
    )
    try:
        with pytest.raises(ValueError, match="5 MB"):
            await client.upload_image("big.png", b"\0" * (most + 1))
    finally:
        await client.aclose()
