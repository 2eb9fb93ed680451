"""Orders of the shop (issue 16): submitted on Printify's paths, made and shipped later.

`POST /shops/{id}/orders.json` takes `{external_id, label, line_items:[{product_id,
variant_id, quantity}], shipping_method, send_shipping_notification, address_to}` and
answers `{id}`; a second order with the same `external_id` is 409, code 8503 ("Order
already exists"). An order waits `on-hold` until `send_to_production.json`; then, after
the state's `production_seconds`, it is `in-production`, and after `shipping_seconds`
more `fulfilled` with a shipment, a carrier and a tracking number. Each step announces
itself to the shop's webhooks (`order:created`, `order:sent-to-production`,
`order:updated`, `order:shipment:created`). `cancel.json`
cancels an order still `on-hold`. The emulator keeps every order as it was sent
(`GET /__admin/printify/orders`) for tests to read.

Where Printify's documents are silent the emulator decides, and ADR 0004 says so: a
variant out of stock or not enabled, or an address without a street, city, postcode or
name, a country code that is no country (ISO 3166's user-assigned codes), or a US
address without a state, is refused with 400 code 8150 naming the field.
"""

from __future__ import annotations

import re
import secrets
import threading
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import Field, StrictBool, StrictInt

from sandbox.printify import seed_catalog as catalog
from sandbox.printify.state import Printify, PrintifyState
from sandbox.printify.vendor import (
    Body,
    PrintifyApiError,
    VendorRoute,
    invalid,
    not_found,
    now,
    paginate,
    parse_body,
    public,
    stamp,
)

ORDER_EXISTS_CODE = 8503
CARRIER = {"code": "usps", "name": "USPS"}
STATUSES = frozenset(
    {"pending", "on-hold", "sending-to-production", "in-production", "canceled", "fulfilled"}
    | {"partially-fulfilled", "payment-not-received", "has-issues"}
)
# ISO 3166-1 alpha-2 codes left for users to assign: never a country.
_USER_ASSIGNED = re.compile(r"^(AA|Q[M-Z]|X[A-Z]|ZZ)$")

router = APIRouter(route_class=VendorRoute)


class LineItemIn(Body):
    product_id: str = Field(min_length=1)
    variant_id: StrictInt
    quantity: StrictInt = Field(ge=1, le=1000)


class AddressIn(Body):
    first_name: str = Field(min_length=1, max_length=255)
    last_name: str = Field(min_length=1, max_length=255)
    email: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=64)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    region: str = Field(default="", max_length=255)
    address1: str = Field(min_length=1, max_length=255)
    address2: str | None = Field(default=None, max_length=255)
    city: str = Field(min_length=1, max_length=255)
    zip: str = Field(min_length=1, max_length=32)


class StockChange(Body):
    variant_id: StrictInt
    in_stock: StrictBool


class OrderIn(Body):
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    label: str | None = Field(default=None, max_length=255)
    line_items: list[LineItemIn] = Field(min_length=1, max_length=100)
    shipping_method: StrictInt = Field(ge=1, le=4)
    is_printify_express: StrictBool = False
    is_economy_shipping: StrictBool = False
    send_shipping_notification: StrictBool = False
    address_to: AddressIn


def _check_address(address: AddressIn) -> None:
    if _USER_ASSIGNED.match(address.country):
        raise invalid(f"address_to.country: {address.country} is not a country")
    if address.country == "US" and not address.region.strip():
        raise invalid("address_to.region: a US address needs its state")


def _line_item(state: PrintifyState, shop_id: int, i: int, item: LineItemIn) -> dict[str, Any]:
    product = state.products.get(item.product_id)
    if product is None or product["shop_id"] != shop_id:
        raise invalid(f"line_items.{i}.product_id: product {item.product_id} not found")
    variant = next((v for v in product["variants"] if v["id"] == item.variant_id), None)
    if variant is None or not variant["is_enabled"]:
        raise invalid(f"line_items.{i}.variant_id: variant {item.variant_id} is not for sale")
    if item.variant_id in catalog.OUT_OF_STOCK or str(item.variant_id) in state.stock_outs:
        raise invalid(f"line_items.{i}.variant_id: variant {item.variant_id} is out of stock")
    return {
        "product_id": item.product_id,
        "variant_id": item.variant_id,
        "quantity": item.quantity,
        "print_provider_id": product["print_provider_id"],
        "cost": variant["cost"],
        "shipping_cost": 0,
        "status": "on-hold",
        "metadata": {
            "title": product["title"],
            "price": variant["price"],
            "variant_label": variant["title"],
            "sku": variant["sku"],
            "country": "United States",
        },
        "sent_to_production_at": None,
        "fulfilled_at": None,
    }


def _shipping(items: list[dict[str, Any]], country: str) -> int:
    """Printify's charge: the first item's rate, then each further item's."""
    total, first = 0, True
    for item in items:
        doc = next(
            (
                catalog.shipping_doc(bp, pp)
                for (bp, pp), variants in catalog.VARIANTS.items()
                if pp == item["print_provider_id"]
                and any(v["id"] == item["variant_id"] for v in variants)
            ),
            None,
        )
        if doc is None:
            continue
        profile = next(
            (p for p in doc["profiles"] if country in p["countries"]), doc["profiles"][-1]
        )
        for _ in range(item["quantity"]):
            key = "first_item" if first else "additional_items"
            total += int(profile[key]["cost"])
            first = False
    return total


@router.post("/shops/{shop_id}/orders.json")
async def create_order(shop_id: int, request: Request, state: Printify) -> dict[str, Any]:
    state.check_shop(shop_id)
    body = await parse_body(request, OrderIn)
    _check_address(body.address_to)
    items = [_line_item(state, shop_id, i, item) for i, item in enumerate(body.line_items)]
    sent = await request.json()
    with state.store.lock:
        if body.external_id is not None and any(
            o["shop_id"] == shop_id and o["metadata"]["shop_order_id"] == body.external_id
            for o in state.orders.values()
        ):
            raise PrintifyApiError(
                409,
                "Order already exists.",
                f"An order with external_id {body.external_id} already exists",
                ORDER_EXISTS_CODE,
            )
        order_id = secrets.token_hex(12)
        shipping = _shipping(items, body.address_to.country)
        for item in items:
            item["shipping_cost"] = shipping // len(items)
        order: dict[str, Any] = {
            "id": order_id,
            "address_to": body.address_to.model_dump(),
            "line_items": items,
            "metadata": {
                "order_type": "external",
                "shop_order_id": body.external_id,
                "shop_order_label": body.label,
                "shop_fulfilled_at": None,
            },
            "total_price": sum(i["cost"] * i["quantity"] for i in items),
            "total_shipping": shipping,
            "total_tax": 0,
            "status": "on-hold",
            "shipping_method": body.shipping_method,
            "is_printify_express": body.is_printify_express,
            "is_economy_shipping": body.is_economy_shipping,
            "shipments": [],
            "created_at": stamp(now()),
            "sent_to_production_at": None,
            "fulfilled_at": None,
            "shop_id": shop_id,
            "_sent": sent,
            "_seq": state.store.next_id("order_seq", 0),
        }
        state.orders[order_id] = order
        state.store.save()
    _announce(state, order, "order:created", {"shop_id": shop_id, "status": "on-hold"})
    return {"id": order_id}


@router.get("/shops/{shop_id}/orders.json")
def list_orders(
    shop_id: int,
    state: Printify,
    page: int = Query(1, ge=1),
    limit: int = Query(10, ge=1, le=10),
    status: str | None = Query(None),
) -> dict[str, Any]:
    state.check_shop(shop_id)
    if status is not None and status not in STATUSES:
        raise invalid(f"status: {status} is not an order status")
    rows = [o for o in state.orders.values() if o["shop_id"] == shop_id]
    rows = [o for o in rows if status is None or o["status"] == status]
    rows.sort(key=lambda o: o["_seq"], reverse=True)
    return paginate([_public(o) for o in rows], page, limit)


@router.get("/shops/{shop_id}/orders/{order_id}.json")
def get_order(shop_id: int, order_id: str, state: Printify) -> dict[str, Any]:
    return _public(_order(state, shop_id, order_id))


@router.post("/shops/{shop_id}/orders/{order_id}/send_to_production.json")
def send_to_production(shop_id: int, order_id: str, state: Printify) -> dict[str, Any]:
    with state.store.lock:
        order = _order(state, shop_id, order_id)
        if order["status"] != "on-hold":
            raise invalid(f"Order {order_id} is {order['status']}; only on-hold goes to production")
        order["status"] = "sending-to-production"
        state.store.save()
    _announce(state, order, "order:updated", {"shop_id": shop_id, "status": order["status"]})
    _later(state.production_seconds, lambda: _produce(state, order_id))
    return _public(order)


@router.post("/shops/{shop_id}/orders/{order_id}/cancel.json")
def cancel_order(shop_id: int, order_id: str, state: Printify) -> dict[str, Any]:
    with state.store.lock:
        order = _order(state, shop_id, order_id)
        if order["status"] not in ("on-hold", "payment-not-received"):
            raise invalid(f"Order {order_id} is {order['status']} and cannot be canceled")
        order["status"] = "canceled"
        state.store.save()
    _announce(state, order, "order:updated", {"shop_id": shop_id, "status": "canceled"})
    return _public(order)


def _order(state: PrintifyState, shop_id: int, order_id: str) -> dict[str, Any]:
    state.check_shop(shop_id)
    order: dict[str, Any] | None = state.orders.get(order_id)
    if order is None or order["shop_id"] != shop_id:
        raise not_found(f"Order {order_id}")
    return order


def _public(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in public(order).items() if k != "shop_id"}


def _announce(
    state: PrintifyState, order: dict[str, Any], topic: str, data: dict[str, Any]
) -> None:
    state.webhooks.emit(order["shop_id"], topic, {"id": order["id"], "type": "order", "data": data})


def _later(seconds: float, work: Any) -> None:
    timer = threading.Timer(seconds, work)
    timer.daemon = True
    timer.start()


def _produce(state: PrintifyState, order_id: str) -> None:
    with state.store.lock:
        order = state.orders[order_id]
        if order["status"] != "sending-to-production":
            return
        moment = stamp(now())
        order["status"] = "in-production"
        order["sent_to_production_at"] = moment
        for item in order["line_items"]:
            item["status"] = "in-production"
            item["sent_to_production_at"] = moment
        state.store.save()
    data = {"shop_id": order["shop_id"], "status": "in-production"}
    _announce(state, order, "order:sent-to-production", data)
    _announce(state, order, "order:updated", data)
    _later(state.shipping_seconds, lambda: _ship(state, order_id))


def _ship(state: PrintifyState, order_id: str) -> None:
    with state.store.lock:
        order = state.orders[order_id]
        moment = stamp(now())
        number = f"9400{secrets.randbelow(10**18):018d}"
        order["shipments"].append(
            {
                "carrier": CARRIER["code"],
                "number": number,
                "url": f"https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
                "delivered_at": None,
            }
        )
        order["status"] = "fulfilled"
        order["fulfilled_at"] = moment
        for item in order["line_items"]:
            item["status"] = "fulfilled"
            item["fulfilled_at"] = moment
        state.store.save()
    shipment = {
        "shop_id": order["shop_id"],
        "shipped_at": moment,
        "carrier": {
            "code": CARRIER["code"],
            "tracking_number": number,
            "tracking_url": order["shipments"][-1]["url"],
        },
        "skus": [item["metadata"]["sku"] for item in order["line_items"]],
    }
    _announce(state, order, "order:shipment:created", shipment)
    _announce(state, order, "order:updated", {"shop_id": order["shop_id"], "status": "fulfilled"})


def build_admin_router(state: PrintifyState) -> APIRouter:
    """`GET /__admin/printify/orders`: every order as the platform sent it;
    `POST /__admin/printify/stock`: a variant out of stock or back in."""
    router = APIRouter(prefix="/__admin/printify", include_in_schema=False)

    @router.post("/stock")
    def set_stock(change: StockChange) -> dict[str, Any]:
        """Run a variant out of stock at the provider, or back in (orders of it are
        refused meanwhile, as Printify refuses them)."""
        with state.store.lock:
            if change.in_stock:
                state.stock_outs.pop(str(change.variant_id), None)
            else:
                state.stock_outs[str(change.variant_id)] = True
            state.store.save()
        return {"variant_id": change.variant_id, "in_stock": change.in_stock}

    @router.get("/orders")
    def sent_orders() -> list[dict[str, Any]]:
        with state.store.lock:
            return [
                {"id": o["id"], "status": o["status"], "sent": o["_sent"]}
                for o in sorted(state.orders.values(), key=lambda o: o["_seq"])
            ]

    return router
