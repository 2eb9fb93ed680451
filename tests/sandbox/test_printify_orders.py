"""Orders in the Printify emulator over real HTTP (issue 16): submitted once per external
id, refused when they could not be made, made and shipped after the configured delays,
each step announced to a real subscriber with a valid signature."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.http_server import ThreadedServer
from domain.webhooks import signature_is_valid
from sandbox.app import EmulatorConfig, create_emulator_app
from sandbox.printify.seed_catalog import OUT_OF_STOCK
from tests.sandbox.test_printify_emulator import HEADERS, SHOP, assert_error, create_product
from tests.sandbox.test_printify_webhooks_emulator import SECRET, Receiver, receiver, subscribe

__all__ = ["receiver"]  # the fixture, used by name

ADDRESS = {
    "first_name": "Alex",
    "last_name": "Buyer",
    "email": "buyer@example.test",
    "country": "US",
    "region": "IL",
    "address1": "123 Main Street",
    "city": "Springfield",
    "zip": "62701",
}


@pytest.fixture
def printify(tmp_path: Path) -> Iterator[httpx.Client]:
    """A private emulator whose orders are made and shipped within a fraction of a second."""
    config = EmulatorConfig(printify_production_seconds=0.2, printify_shipping_seconds=0.2)
    server = ThreadedServer(create_emulator_app(tmp_path, config)).start()
    with httpx.Client(base_url=f"{server.url}/printify/v1", headers=HEADERS) as client:
        yield client
    server.stop()


def order_body(product: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": "etsy-receipt-3000000001",
        "label": "3000000001",
        "line_items": [{"product_id": product["id"], "variant_id": 12100, "quantity": 2}],
        "shipping_method": 1,
        "send_shipping_notification": False,
        "address_to": ADDRESS,
    }
    body.update(changes)
    return body


def wait_for_status(printify: httpx.Client, order_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        order: dict[str, Any] = printify.get(f"/shops/{SHOP}/orders/{order_id}.json").json()
        if order["status"] == status:
            return order
        assert time.monotonic() < deadline, order
        time.sleep(0.05)


def test_an_order_is_made_and_shipped_and_each_step_announced(
    printify: httpx.Client, receiver: Receiver
) -> None:
    root = httpx.Client(base_url=root_url(printify), headers=HEADERS)
    for topic in ("order:created", "order:sent-to-production", "order:shipment:created"):
        subscribe(root, receiver.url, topic=topic, secret=SECRET)
    product = create_product(printify)
    created = printify.post(f"/shops/{SHOP}/orders.json", json=order_body(product))
    assert created.status_code == 200, created.text
    order_id = created.json()["id"]
    assert set(created.json()) == {"id"}

    order = printify.get(f"/shops/{SHOP}/orders/{order_id}.json").json()
    assert order["status"] == "on-hold"
    assert order["metadata"]["shop_order_id"] == "etsy-receipt-3000000001"
    assert order["address_to"]["zip"] == "62701" and order["address_to"]["region"] == "IL"
    [item] = order["line_items"]
    assert (item["product_id"], item["variant_id"], item["quantity"]) == (product["id"], 12100, 2)
    assert item["metadata"]["sku"] == "SKU-TEST-S"
    assert order["total_price"] == 2 * item["cost"] and order["total_shipping"] > 0
    listed = printify.get(f"/shops/{SHOP}/orders.json", params={"status": "on-hold"}).json()
    assert [o["id"] for o in listed["data"]] == [order_id]

    sent = printify.post(f"/shops/{SHOP}/orders/{order_id}/send_to_production.json")
    assert sent.status_code == 200 and sent.json()["status"] == "sending-to-production"
    again = printify.post(f"/shops/{SHOP}/orders/{order_id}/send_to_production.json")
    assert_error(again, 400, 8150)
    shipped = wait_for_status(printify, order_id, "fulfilled")
    [shipment] = shipped["shipments"]
    assert shipment["carrier"] == "usps" and shipment["number"].startswith("9400")
    assert shipped["sent_to_production_at"] is not None and shipped["fulfilled_at"] is not None

    received = receiver.wait_for(3)
    events = []
    for headers, body in received:
        assert signature_is_valid(SECRET, body, headers["x-pfy-signature"])
        events.append(json.loads(body))
    assert [e["type"] for e in events] == [
        "order:created",
        "order:sent-to-production",
        "order:shipment:created",
    ]
    assert {e["resource"]["id"] for e in events} == {order_id}
    carrier = events[-1]["resource"]["data"]["carrier"]
    assert carrier["tracking_number"] == shipment["number"] and carrier["code"] == "usps"
    assert events[-1]["resource"]["data"]["skus"] == ["SKU-TEST-S"]

    kept = root.get("/__admin/printify/orders").json()
    root.close()
    assert kept == [{"id": order_id, "status": "fulfilled", "sent": order_body(product)}]


def test_one_order_per_external_id(printify: httpx.Client) -> None:
    product = create_product(printify)
    first = printify.post(f"/shops/{SHOP}/orders.json", json=order_body(product))
    assert first.status_code == 200, first.text
    repeat = printify.post(f"/shops/{SHOP}/orders.json", json=order_body(product))
    assert_error(repeat, 409, 8503)
    other = printify.post(
        f"/shops/{SHOP}/orders.json", json=order_body(product, external_id="etsy-receipt-2")
    )
    assert other.status_code == 200
    assert printify.get(f"/shops/{SHOP}/orders.json").json()["total"] == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"address_to": ADDRESS | {"country": "ZZ"}}, "address_to.country"),
        ({"address_to": ADDRESS | {"region": ""}}, "address_to.region"),
        ({"address_to": {k: v for k, v in ADDRESS.items() if k != "zip"}}, "address_to.zip"),
        ({"address_to": ADDRESS | {"address1": ""}}, "address_to.address1"),
        ({"shipping_method": 9}, "shipping_method"),
        ({"line_items": []}, "line_items"),
    ],
)
def test_an_order_that_cannot_be_made_is_refused(
    printify: httpx.Client, changes: dict[str, Any], field: str
) -> None:
    product = create_product(printify)
    refused = printify.post(f"/shops/{SHOP}/orders.json", json=order_body(product, **changes))
    body = assert_error(refused, 400, 8150)
    assert body["errors"]["reason"].startswith(field), body
    assert printify.get(f"/shops/{SHOP}/orders.json").json()["total"] == 0


def test_variants_not_for_sale_or_out_of_stock_are_refused(printify: httpx.Client) -> None:
    [out_of_stock] = OUT_OF_STOCK
    product = create_product(printify)
    disabled = order_body(
        product, line_items=[{"product_id": product["id"], "variant_id": 12102, "quantity": 1}]
    )
    body = assert_error(printify.post(f"/shops/{SHOP}/orders.json", json=disabled), 400, 8150)
    assert "not for sale" in body["errors"]["reason"]
    unknown = order_body(
        product, line_items=[{"product_id": "0" * 24, "variant_id": 12100, "quantity": 1}]
    )
    body = assert_error(printify.post(f"/shops/{SHOP}/orders.json", json=unknown), 400, 8150)
    assert "not found" in body["errors"]["reason"]
    # A product of provider 29 offering the variant its provider has run out of.
    navy = create_product(
        printify,
        print_provider_id=29,
        variants=[{"id": out_of_stock, "price": 2499}, {"id": 18100, "price": 2499}],
        print_areas=[
            area | {"variant_ids": [out_of_stock, 18100]} for area in create_product_areas(printify)
        ],
    )
    gone = order_body(
        navy, line_items=[{"product_id": navy["id"], "variant_id": out_of_stock, "quantity": 1}]
    )
    body = assert_error(printify.post(f"/shops/{SHOP}/orders.json", json=gone), 400, 8150)
    assert "out of stock" in body["errors"]["reason"]


def create_product_areas(printify: httpx.Client) -> list[dict[str, Any]]:
    """The print areas of a product made the usual way (an uploaded image on the front)."""
    areas: list[dict[str, Any]] = create_product(printify)["print_areas"]
    return [{"placeholders": area["placeholders"]} for area in areas]


def test_an_order_on_hold_can_be_canceled_not_one_in_production(
    printify: httpx.Client,
) -> None:
    product = create_product(printify)
    first = printify.post(f"/shops/{SHOP}/orders.json", json=order_body(product)).json()["id"]
    canceled = printify.post(f"/shops/{SHOP}/orders/{first}/cancel.json")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert_error(printify.post(f"/shops/{SHOP}/orders/{first}/send_to_production.json"), 400, 8150)

    second = printify.post(
        f"/shops/{SHOP}/orders.json", json=order_body(product, external_id="etsy-receipt-9")
    ).json()["id"]
    printify.post(f"/shops/{SHOP}/orders/{second}/send_to_production.json")
    assert_error(printify.post(f"/shops/{SHOP}/orders/{second}/cancel.json"), 400, 8150)
    assert_error(printify.get(f"/shops/{SHOP}/orders/{'f' * 24}.json"), 404, 404)


def root_url(printify: httpx.Client) -> str:
    """The emulator's root (subscriptions and admin routes live beside `/printify/v1`)."""
    return str(printify.base_url).removesuffix("/").removesuffix("/printify/v1")
