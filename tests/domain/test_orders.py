"""The order rules without I/O: scopes, the buyer's address, SKUs, Printify's statuses,
and a receipt read as our order (issue 16)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from domain.orders import (
    PLATFORM_SCOPES,
    Hold,
    HoldReason,
    cents,
    missing_scopes,
    moves_forward,
    printify_address,
    refusal_reason,
    split_name,
    status_from_printify,
    with_margin,
)
from domain.skus import product_sku, sku_variant
from models.tables import Listing, Order, OrderStatus
from services.orders import _printify_changes, order_from_receipt, printify_order_body

BUYER = {
    "name": "Alex Q. Buyer",
    "first_line": "123 Main Street",
    "second_line": "Apt 4",
    "city": "Springfield",
    "state": "IL",
    "zip": "62701",
    "country_iso": "US",
    "buyer_email": "alex@example.test",
}
RUN = "dtl-t1-abc"
SHOP = 55501234


def test_missing_scopes_are_those_the_platform_needs_and_the_token_lacks() -> None:
    assert missing_scopes(None) == []  # not known: nothing is claimed missing
    assert missing_scopes(PLATFORM_SCOPES) == []
    assert missing_scopes(["listings_w", "email_r"]) == [
        s for s in PLATFORM_SCOPES if s != "listings_w"
    ]
    assert {"transactions_r", "transactions_w"} <= set(missing_scopes(["listings_w"]))


def test_a_buyer_becomes_printify_address_to() -> None:
    assert printify_address(BUYER) == {
        "first_name": "Alex Q.",
        "last_name": "Buyer",
        "email": "alex@example.test",
        "phone": None,
        "country": "US",
        "region": "IL",
        "address1": "123 Main Street",
        "address2": "Apt 4",
        "city": "Springfield",
        "zip": "62701",
    }
    assert split_name("Cher") == ("Cher", "Cher")
    german = {**BUYER, "state": None, "country_iso": "de"}
    assert printify_address(german)["country"] == "DE"  # no region needed there


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"state": ""}, "state"),
        ({"country_iso": "CA", "state": None}, "state"),
        ({"first_line": "  "}, "street"),
        ({"zip": None}, "post code"),
        ({"city": ""}, "city"),
        ({"country_iso": "XA"}, "country"),  # user-assigned: never a country
        ({"country_iso": "USA"}, "country"),
        ({"name": ""}, "name"),
    ],
)
def test_an_unusable_address_is_held_with_what_is_missing(
    change: dict[str, Any], named: str
) -> None:
    with pytest.raises(Hold) as held:
        printify_address({**BUYER, **change})
    assert held.value.reason is HoldReason.ADDRESS_INVALID
    assert named in held.value.message


def test_refusals_name_their_reason_by_the_field() -> None:
    assert refusal_reason("address_to.region: a US address needs its state") is (
        HoldReason.ADDRESS_INVALID
    )
    assert refusal_reason("line_items.0.variant_id: variant 18112 is out of stock") is (
        HoldReason.VARIANT_UNAVAILABLE
    )
    assert refusal_reason("line_items.0.product_id: product x not found") is (
        HoldReason.PRODUCT_MISSING
    )
    assert refusal_reason("shipping_method: unknown") is HoldReason.PRINTIFY_REFUSED


def test_printify_statuses_and_their_order() -> None:
    assert status_from_printify("on-hold") == "submitted"
    assert status_from_printify("in-production") == "in_production"
    assert status_from_printify("fulfilled") == "shipped"
    assert status_from_printify("canceled") == "failed"  # we cancel through the API
    assert status_from_printify("something-new") is None
    assert moves_forward("submitted", "in_production")
    assert not moves_forward("shipped", "in_production")  # a late event moves nothing back
    assert not moves_forward("cancelled", "failed")


def test_money_and_skus() -> None:
    assert cents({"amount": 2499, "divisor": 100}) == 2499
    assert cents({"amount": 24990, "divisor": 1000}) == 2499
    assert cents(None) == 0
    sku = product_sku(RUN, 12100)
    assert sku_variant(sku, RUN) == 12100
    assert sku_variant(sku, "dtl-other") is None
    assert sku_variant("CAT-S", RUN) is None
    assert sku_variant(None, RUN) is None


def listing(etsy_listing_id: int, shop: int = 12345678, run: str = RUN) -> Listing:
    return Listing(
        id=uuid.uuid4(),
        tenant_id="t1",
        workflow_id=run,
        design_id=uuid.uuid4(),
        title="Otter Tee",
        printify_shop_id=shop,
        printify_product_id="p1",
        printify_image_id="i1",
        etsy_shop_id=SHOP,
        etsy_listing_id=etsy_listing_id,
        url="u",
        state="active",
    )


def receipt(*transactions: dict[str, Any]) -> dict[str, Any]:
    return {
        **BUYER,
        "receipt_id": 3_000_000_001,
        "updated_timestamp": 1_796_000_000,
        "grandtotal": {"amount": 5497, "divisor": 100, "currency_code": "USD"},
        "subtotal": {"amount": 4998, "divisor": 100},
        "total_shipping_cost": {"amount": 499, "divisor": 100},
        "transactions": list(transactions),
    }


def transaction(listing_id: int, sku: str | None, quantity: int = 1) -> dict[str, Any]:
    return {
        "transaction_id": listing_id + 7,
        "listing_id": listing_id,
        "sku": sku,
        "quantity": quantity,
        "price": {"amount": 2499, "divisor": 100},
    }


def test_a_receipt_keeps_only_our_items_and_holds_an_unknown_sku() -> None:
    ours = {1: listing(1)}
    assert order_from_receipt("t1", SHOP, receipt(transaction(9, "X")), ours, {}) is None

    order = order_from_receipt(
        "t1",
        SHOP,
        receipt(transaction(9, "X"), transaction(1, product_sku(RUN, 12100), 2)),
        ours,
        {},
    )
    assert order is not None
    assert (order.status, order.fulfilment, order.etsy_shop_id) == ("received", "platform", SHOP)
    [item] = order.items
    assert (item["variant_id"], item["quantity"], item["printify_product_id"]) == (12100, 2, "p1")
    assert order.amounts["total_cents"] == 5497 and order.amounts["shipping_cents"] == 499
    body = printify_order_body(order)
    assert body["external_id"] == "3000000001"
    assert body["line_items"] == [{"product_id": "p1", "variant_id": 12100, "quantity": 2}]
    assert body["address_to"]["region"] == "IL"

    unknown = order_from_receipt("t1", SHOP, receipt(transaction(1, "CAT-S")), ours, {})
    assert unknown is not None
    assert (unknown.status, unknown.hold_reason) == ("on_hold", "VARIANT_UNAVAILABLE")
    with pytest.raises(Hold) as held:
        printify_order_body(unknown)
    assert held.value.reason is HoldReason.VARIANT_UNAVAILABLE


def test_an_etsy_channel_shop_is_read_but_not_forwarded() -> None:
    order = order_from_receipt(
        "t1", SHOP, receipt(transaction(1, "CAT-S")), {1: listing(1)}, {12345678: "etsy"}
    )
    assert order is not None
    assert (order.fulfilment, order.status, order.hold_reason) == ("printify", "received", None)


def test_items_in_two_printify_shops_are_held() -> None:
    ours = {1: listing(1), 2: listing(2, shop=999)}
    order = order_from_receipt(
        "t1",
        SHOP,
        receipt(transaction(1, product_sku(RUN, 1)), transaction(2, product_sku(RUN, 2))),
        ours,
        {},
    )
    assert order is not None
    assert (order.status, order.hold_reason, order.printify_shop_id) == (
        "on_hold",
        "PRINTIFY_REFUSED",
        None,
    )


def submitted() -> Order:
    order = order_from_receipt(
        "t1", SHOP, receipt(transaction(1, product_sku(RUN, 12100))), {1: listing(1)}, {}
    )
    assert order is not None
    order.status = OrderStatus.SUBMITTED
    return order


def test_printify_order_changes_follow_its_status_costs_and_tracking() -> None:
    order = submitted()
    # Etsy's fees were set when the receipt was read: 6.5 % of 49.98 + 4.99, 3 % of the
    # 54.97 total + 25¢, and a 20¢ renewal for the one item sold.
    assert (
        order.amounts["etsy_transaction_fee_cents"],
        order.amounts["etsy_processing_fee_cents"],
        order.amounts["etsy_renewal_fee_cents"],
        order.amounts["etsy_fees_cents"],
    ) == (357, 190, 20, 567)
    made = _printify_changes(
        order, {"status": "in-production", "total_price": 1090, "total_shipping": 400}
    )
    assert made["status"] == "in_production"
    amounts = made["amounts"]
    assert (amounts["printify_cost_cents"], amounts["printify_shipping_cents"]) == (1090, 400)
    assert amounts["revenue_cents"] == 4998 + 499
    assert amounts["margin_cents"] == 4998 + 499 - 1090 - 400 - 567
    [item] = made["items"]
    assert (item["revenue_cents"], item["margin_cents"]) == (5497, amounts["margin_cents"])
    shipped = _printify_changes(
        order,
        {
            "status": "fulfilled",
            "fulfilled_at": "2026-12-03 10:00:00+00:00",
            "shipments": [{"carrier": "usps", "number": "9400", "url": "https://t/9400"}],
        },
    )
    assert shipped["status"] == "shipped"
    assert shipped["tracking"] == {
        "carrier": "usps",
        "number": "9400",
        "url": "https://t/9400",
        "shipped_at": "2026-12-03 10:00:00+00:00",
    }
    # Fulfilled without a tracking number yet: not shipped for Etsy's sake.
    assert _printify_changes(order, {"status": "fulfilled", "shipments": []}) == {
        "status": "in_production"
    }
    assert _printify_changes(order, {"status": "canceled"}) == {"status": "failed"}
    order.status = OrderStatus.SHIPPED
    assert _printify_changes(order, {"status": "in-production"}) == {}


def test_an_orders_margin_is_shared_among_its_items_by_price() -> None:
    amounts = {
        "subtotal_cents": 3000,
        "shipping_cents": 500,
        "total_cents": 3500,
        "etsy_fees_cents": 300,
        "printify_cost_cents": 1200,
        "printify_shipping_cents": 400,
    }
    items = [
        {"price_cents": 1000, "quantity": 2},  # two thirds of the price
        {"price_cents": 1000, "quantity": 1},
    ]
    summed, shared = with_margin(amounts, items)
    assert summed["margin_cents"] == 3500 - 1200 - 400 - 300 == 1600
    assert [i["margin_cents"] for i in shared] == [1067, 533]
    assert sum(i["revenue_cents"] for i in shared) == summed["revenue_cents"] == 3500
    # Without Printify's cost there is no margin yet.
    assert with_margin({**amounts, "printify_cost_cents": None}, items)[1] == items
