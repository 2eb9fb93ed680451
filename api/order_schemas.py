"""What the order routes take and answer (issue 16)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.pages import Page
from domain.orders import HoldReason
from models.requests import JsonBody
from models.tables import Order, OrderStatus

Fulfilment = Literal["platform", "printify"]


class OrderItem(BaseModel):
    """One bought item of one of our listings."""

    transaction_id: int = Field(description="Etsy's transaction id")
    listing_id: uuid.UUID = Field(description="Our listing")
    etsy_listing_id: int
    title: str
    sku: str | None
    printify_product_id: str
    variant_id: int | None = Field(description="The Printify variant bought (None: unknown SKU)")
    quantity: int
    price_cents: int = Field(description="The price of one, as the buyer paid it")
    revenue_cents: int | None = Field(default=None, description="The order's revenue, its share")
    margin_cents: int | None = Field(default=None, description="The order's margin, its share")


class OrderAmounts(BaseModel):
    currency: str
    subtotal_cents: int = Field(description="What the buyer paid for the items")
    shipping_cents: int = Field(description="What the buyer paid for shipping")
    tax_cents: int
    discount_cents: int
    total_cents: int
    etsy_transaction_fee_cents: int = Field(
        default=0, description="Etsy's transaction fee on the items and shipping"
    )
    etsy_processing_fee_cents: int = Field(default=0, description="Etsy Payments' fee")
    etsy_renewal_fee_cents: int = Field(default=0, description="The listing's renewal per item")
    etsy_fees_cents: int = 0
    printify_cost_cents: int | None = Field(
        default=None, description="Printify's production cost (once Printify has the order)"
    )
    printify_shipping_cents: int | None = None
    revenue_cents: int | None = Field(
        default=None, description="What the buyer paid for items and shipping (tax passes through)"
    )
    margin_cents: int | None = Field(
        default=None,
        description="Revenue less Printify's cost and shipping and Etsy's fees (once "
        "Printify's cost is known)",
    )


class OrderHold(BaseModel):
    reason: HoldReason
    message: str


class OrderTracking(BaseModel):
    carrier: str
    number: str
    url: str | None = None
    shipped_at: str | None = None
    posted_to_etsy_at: datetime | None = Field(
        default=None, description="When the tracking went on the Etsy receipt (once)"
    )


class OrderAddress(BaseModel):
    """The buyer's address as Etsy gave it (or as the seller corrected it)."""

    name: str | None = None
    first_line: str | None = None
    second_line: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country_iso: str | None = None


class OrderPublic(BaseModel):
    """A buyer's order: the Etsy receipt, the Printify order made for it, and its state."""

    id: uuid.UUID
    status: OrderStatus
    fulfilment: Fulfilment = Field(
        description="`platform`: we forward it to Printify; `printify`: an Etsy-channel "
        "Printify shop, which imports it itself (kept for the sales figures)"
    )
    hold: OrderHold | None = Field(description="Why it waits for the seller")
    etsy_shop_id: int
    etsy_receipt_id: int
    printify_shop_id: int | None
    printify_order_id: str | None
    items: list[OrderItem]
    address: OrderAddress
    amounts: OrderAmounts
    tracking: OrderTracking | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Order) -> OrderPublic:
        hold = None
        if row.hold_reason:
            hold = OrderHold(reason=HoldReason(row.hold_reason), message=row.hold_message or "")
        tracking = None
        if row.tracking and row.tracking.get("number"):
            tracking = OrderTracking(**row.tracking, posted_to_etsy_at=row.etsy_shipment_at)
        return cls(
            id=row.id,
            status=OrderStatus(row.status),
            fulfilment="printify" if row.fulfilment == "printify" else "platform",
            hold=hold,
            etsy_shop_id=row.etsy_shop_id,
            etsy_receipt_id=row.etsy_receipt_id,
            printify_shop_id=row.printify_shop_id,
            printify_order_id=row.printify_order_id,
            items=[OrderItem.model_validate(item) for item in row.items],
            address=OrderAddress.model_validate(row.address),
            amounts=OrderAmounts.model_validate(row.amounts),
            tracking=tracking,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class OrderPage(Page[OrderPublic]):
    pass


class AddressFix(JsonBody):
    """Fields of the buyer's address to correct (the others stay as Etsy gave them)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(default=None, min_length=1, max_length=255)
    first_line: str | None = Field(default=None, min_length=1, max_length=255)
    second_line: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, min_length=1, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    zip: str | None = Field(default=None, min_length=1, max_length=32)
    country_iso: str | None = Field(default=None, min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class RetryIn(JsonBody):
    model_config = ConfigDict(extra="forbid", strict=True)

    address: AddressFix | None = None


class OrderSettings(BaseModel):
    auto_production: bool = Field(
        description="Orders go to production at Printify at once (true), or wait there "
        "for the seller to send them (false)"
    )
    sync_interval_seconds: int = Field(
        description="How often the order sync runs (ORDER_SYNC_INTERVAL_SECONDS)"
    )
    last_synced_at: datetime | None = Field(description="When Etsy's receipts were last read")


class OrderSettingsIn(JsonBody):
    model_config = ConfigDict(extra="forbid", strict=True)

    auto_production: bool


class OrderSyncStarted(BaseModel):
    workflow_id: str
    run_id: str | None
