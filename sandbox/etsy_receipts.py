"""Buyers and their orders in the Etsy emulator: paid receipts and shipments (issue 16).

A buyer buys an active listing's variant (`POST /__admin/etsy/purchases`, what `pod buy`
calls): the offering's stock goes down and the shop gets a paid, unshipped receipt with
one transaction and the buyer's address. The seller's side is Etsy's own:
`getShopReceipts`, `getShopReceipt`, `getShopReceiptTransactionsByReceipt` (OAuth
`transactions_r`) and `createReceiptShipment` (`transactions_w`), in the shapes of the
published document (`ShopReceipt`, `ShopReceiptTransaction`, `ShopReceiptShipment`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.etsy_rules import EtsyError, query_int
from sandbox.etsy_search import SORT_ORDER

if TYPE_CHECKING:
    from sandbox.etsy import EtsyState

# An emulated buyer in the US; a purchase may give another address.
BUYER_USER_ID = 700_000_001
BUYER_ADDRESS: dict[str, str | None] = {
    "name": "Alex Buyer",
    "first_line": "123 Main Street",
    "second_line": None,
    "city": "Springfield",
    "state": "IL",
    "zip": "62701",
    "country_iso": "US",
}
SHIPPING_CENTS = 499
RECEIPT_IDS_AFTER = 3_000_000_000
TRANSACTION_IDS_AFTER = 4_000_000_000
SHIPMENT_IDS_AFTER = 5_000_000_000
CARRIER_MAX = 255
SORT_FIELDS = {"created": "created_timestamp", "updated": "updated_timestamp"}
SORT_ON = frozenset({"created", "updated", "receipt_id"})
EARLIEST = 946_684_800  # the document's minimum for a timestamp filter
TIMESTAMP_FILTERS = ("min_created", "max_created", "min_last_modified", "max_last_modified")
FLAG_FILTERS = ("was_paid", "was_shipped", "was_delivered", "was_canceled")


def _now() -> int:
    return int(time.time())


def _money(cents: int) -> dict[str, Any]:
    return {"amount": cents, "divisor": 100, "currency_code": "USD"}


class Address(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    first_line: str = Field(min_length=1, max_length=255)
    second_line: str | None = Field(default=None, max_length=255)
    city: str = Field(min_length=1, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    zip: str = Field(min_length=1, max_length=32)
    country_iso: str = Field(min_length=2, max_length=2)


class Purchase(BaseModel):
    listing_id: int = Field(ge=1)
    sku: str | None = Field(default=None, max_length=255)
    quantity: int = Field(default=1, ge=1, le=999)
    address: Address | None = None
    buyer_email: str = Field(default="buyer@example.test", max_length=255)


class Visits(BaseModel):
    listing_id: int = Field(ge=1)
    views: int = Field(default=1, ge=0, le=1_000_000)
    favorites: int = Field(default=0, ge=0, le=1_000_000)


class EtsyReceipts:
    """The shops' receipts in the store (`receipts`, keyed by receipt id)."""

    def __init__(self, state: EtsyState) -> None:
        self.state = state
        self.store = state.store
        self.receipts = state.store.collection("receipts")

    def buy(self, purchase: Purchase) -> dict[str, Any]:
        """A paid receipt for one variant of an active listing; its stock goes down."""
        row = self.state.record(purchase.listing_id)
        if row["state"] != "active":
            raise EtsyError.plain(409, f"Listing {purchase.listing_id} is not active.")
        self.state.inventory(row)  # numbered and stored, as a buyer's page would show it
        with self.store.lock:
            stored = self.state.inventories[str(row["listing_id"])]
            product = _chosen_product(stored["products"], purchase.sku)
            offering = product["offerings"][0]
            if offering["quantity"] < purchase.quantity:
                raise EtsyError.plain(
                    409, f"Only {offering['quantity']} of {product['sku'] or 'it'} in stock."
                )
            offering["quantity"] -= purchase.quantity
            row["quantity"] = max(0, row["quantity"] - purchase.quantity)
            row["views"] = int(row.get("views") or 0) + 1  # the buyer looked first
            now = _now()
            receipt_id = self.store.next_id("etsy_receipt", RECEIPT_IDS_AFTER)
            shop = self.state.shops.get(row["shop_id"])
            address = purchase.address.model_dump() if purchase.address else BUYER_ADDRESS
            subtotal = offering["price"] * purchase.quantity
            transaction = {
                "transaction_id": self.store.next_id("etsy_transaction", TRANSACTION_IDS_AFTER),
                "title": row.get("title"),
                "description": row.get("description"),
                "seller_user_id": shop["user_id"],
                "buyer_user_id": BUYER_USER_ID,
                "create_timestamp": now,
                "created_timestamp": now,
                "paid_timestamp": now,
                "shipped_timestamp": None,
                "quantity": purchase.quantity,
                "listing_image_id": None,
                "receipt_id": receipt_id,
                "is_digital": False,
                "file_data": "",
                "listing_id": row["listing_id"],
                "transaction_type": "listing",
                "product_id": product["product_id"],
                "sku": product["sku"] or None,
                "price": _money(offering["price"]),
                "shipping_cost": _money(SHIPPING_CENTS),
                "variations": [
                    {
                        "property_id": value["property_id"],
                        "value_id": (value.get("value_ids") or [None])[0],
                        "formatted_name": value.get("property_name") or "",
                        "formatted_value": value["values"][0],
                    }
                    for value in product["property_values"]
                ],
                "product_data": product["property_values"],
                "shipping_profile_id": row.get("shipping_profile_id"),
                "min_processing_days": row.get("processing_min"),
                "max_processing_days": row.get("processing_max"),
                "shipping_method": None,
                "shipping_upgrade": None,
                "expected_ship_date": now + 3 * 86_400,
                "buyer_coupon": 0,
                "shop_coupon": 0,
            }
            receipt = {
                "receipt_id": receipt_id,
                "receipt_type": 0,
                "shop_id": row["shop_id"],
                "seller_user_id": shop["user_id"],
                "seller_email": None,
                "buyer_user_id": BUYER_USER_ID,
                "buyer_email": purchase.buyer_email,
                **address,
                "status": "paid",
                "formatted_address": _formatted(address),
                "payment_method": "cc",
                "payment_email": None,
                "message_from_seller": None,
                "message_from_buyer": None,
                "message_from_payment": None,
                "is_paid": True,
                "is_shipped": False,
                "is_delivered": False,
                "is_canceled": False,
                "create_timestamp": now,
                "created_timestamp": now,
                "update_timestamp": now,
                "updated_timestamp": now,
                "is_gift": False,
                "gift_message": "",
                "gift_sender": "",
                "grandtotal": _money(subtotal + SHIPPING_CENTS),
                "subtotal": _money(subtotal),
                "total_price": _money(subtotal),
                "total_shipping_cost": _money(SHIPPING_CENTS),
                "total_tax_cost": _money(0),
                "total_vat_cost": _money(0),
                "discount_amt": _money(0),
                "gift_wrap_price": _money(0),
                "shipments": [],
                "refunds": [],
                "transactions": [transaction],
            }
            self.receipts[str(receipt_id)] = receipt
            row["last_modified_timestamp"] = row["updated_timestamp"] = now
            self.store.save()
        return self.render(receipt)

    def get(self, shop_id: int, receipt_id: int) -> dict[str, Any]:
        receipt = self.receipts.get(str(receipt_id))
        if receipt is None or receipt["shop_id"] != shop_id:
            raise EtsyError.plain(404, f"Could not find a Receipt with receipt_id = {receipt_id}.")
        return receipt

    def page(self, shop_id: int, query: dict[str, Any]) -> dict[str, Any]:
        """`getShopReceipts`: the shop's receipts by the document's filters, sorted."""
        rows = [r for r in self.receipts.values() if r["shop_id"] == shop_id]
        for name, field, low in (
            ("min_created", "created_timestamp", True),
            ("max_created", "created_timestamp", False),
            ("min_last_modified", "updated_timestamp", True),
            ("max_last_modified", "updated_timestamp", False),
        ):
            if query[name] is not None:
                bound = query[name]
                rows = [r for r in rows if (r[field] >= bound if low else r[field] <= bound)]
        for name, field in (
            ("was_paid", "is_paid"),
            ("was_shipped", "is_shipped"),
            ("was_delivered", "is_delivered"),
            ("was_canceled", "is_canceled"),
        ):
            if query[name] is not None:
                rows = [r for r in rows if r[field] == query[name]]
        field = SORT_FIELDS.get(query["sort_on"], "receipt_id")
        descending = query["sort_order"] in ("desc", "descending", "down")
        rows.sort(key=lambda r: (r[field], r["receipt_id"]), reverse=descending)
        offset, limit = query["offset"], query["limit"]
        return {
            "count": len(rows),
            "results": [self.render(r) for r in rows[offset : offset + limit]],
        }

    def ship(self, receipt: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """`createReceiptShipment`: the tracking code and carrier on the receipt, which
        is then shipped (Etsy tells the buyer)."""
        tracking, carrier = body.get("tracking_code"), body.get("carrier_name")
        for name, value in (("tracking_code", tracking), ("carrier_name", carrier)):
            if not isinstance(value, str) or not value.strip() or len(value) > CARRIER_MAX:
                raise EtsyError.field(name, f"{name} is required (a non-empty string).")
        now = _now()
        with self.store.lock:
            receipt["shipments"].append(
                {
                    "receipt_shipping_id": self.store.next_id("etsy_shipment", SHIPMENT_IDS_AFTER),
                    "shipment_notification_timestamp": now,
                    "carrier_name": carrier,
                    "tracking_code": tracking,
                }
            )
            receipt["is_shipped"] = True
            receipt["status"] = "completed"
            for transaction in receipt["transactions"]:
                transaction["shipped_timestamp"] = transaction["shipped_timestamp"] or now
            receipt["update_timestamp"] = receipt["updated_timestamp"] = now
            self.store.save()
        return self.render(receipt)

    def render(self, receipt: dict[str, Any]) -> dict[str, Any]:
        """The receipt as Etsy's `ShopReceipt` (the store's own fields left out)."""
        return {
            key: value
            for key, value in receipt.items()
            if key not in ("shop_id", "is_delivered", "is_canceled")
        }


def receipts_query(request: Request) -> dict[str, Any]:
    """`getShopReceipts`' query checked as the document types it (400 otherwise)."""
    query = request.query_params
    out: dict[str, Any] = {
        "limit": query_int(request, "limit", 25, 1, 100),
        "offset": query_int(request, "offset", 0, 0, 10**9),
    }
    for name in TIMESTAMP_FILTERS:
        out[name] = query_int(request, name, 0, EARLIEST, 2**62) if name in query else None
    for name in FLAG_FILTERS:
        raw = query.get(name)
        if raw is None:
            out[name] = None
        elif raw.lower() in ("true", "false"):
            out[name] = raw.lower() == "true"
        else:
            raise EtsyError.field(name, f"Expected a boolean but found {raw!r}.")
    out["sort_on"] = query.get("sort_on", "created")
    if out["sort_on"] not in SORT_ON:
        raise EtsyError.field("sort_on", f"{out['sort_on']!r} is not one of {sorted(SORT_ON)}.")
    out["sort_order"] = query.get("sort_order", "desc")
    if out["sort_order"] not in SORT_ORDER:
        raise EtsyError.field("sort_order", f"{out['sort_order']!r} is not a sort order.")
    return out


def _chosen_product(products: list[dict[str, Any]], sku: str | None) -> dict[str, Any]:
    """The product with `sku`, or the first enabled one."""
    if sku is None:
        found = next((p for p in products if p["offerings"][0]["is_enabled"]), None)
        if found is None:
            raise EtsyError.plain(409, "No variant of this listing is for sale.")
        return found
    found = next((p for p in products if p["sku"] == sku), None)
    if found is None:
        raise EtsyError.plain(404, f"The listing has no variant with sku {sku!r}.")
    if not found["offerings"][0]["is_enabled"]:
        raise EtsyError.plain(409, f"The variant {sku!r} is not for sale.")
    return found


def _formatted(address: dict[str, Any]) -> str:
    lines = [address["name"], address["first_line"], address.get("second_line")]
    place = " ".join(p for p in (address["city"] + ",", address.get("state"), address["zip"]) if p)
    return "\n".join(line for line in [*lines, place, address["country_iso"]] if line)


def build_admin_router(receipts: EtsyReceipts) -> APIRouter:
    """`POST /__admin/etsy/purchases`: a buyer buys (what `pod buy` calls);
    `POST /__admin/etsy/visits`: buyers look at a listing and favourite it."""
    router = APIRouter(prefix="/__admin/etsy", include_in_schema=False)

    @router.post("/purchases", status_code=201, response_model=None)
    def purchase(body: Purchase) -> dict[str, Any] | JSONResponse:
        try:
            return receipts.buy(body)
        except EtsyError as exc:  # a listing or variant a buyer cannot buy
            return JSONResponse(exc.body, status_code=exc.status)

    @router.post("/visits", response_model=None)
    def visit(body: Visits) -> dict[str, Any] | JSONResponse:
        """Buyers who look at a listing (`views`) and favourite it (`num_favorers`)."""
        try:
            row = receipts.state.record(body.listing_id)
        except EtsyError as exc:
            return JSONResponse(exc.body, status_code=exc.status)
        with receipts.store.lock:
            row["views"] = int(row.get("views") or 0) + body.views
            row["num_favorers"] = int(row.get("num_favorers") or 0) + body.favorites
            receipts.store.save()
        return {key: row[key] for key in ("listing_id", "views", "num_favorers")}

    return router
