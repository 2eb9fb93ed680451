"""Orders: a shop's paid Etsy receipts become Printify orders, and shipments go back to
Etsy (issue 16, ADR 0031).

`read_receipts` reads the shop's paid, unshipped receipts changed since the tenant's
checkpoint and records one order per receipt with an item of ours (the checkpoint moves
in the same transaction). `advance` takes one order one or more steps, under a lease so
two syncs never act on it at once:

- `received` → a Printify order (`external_id` = the receipt id), found rather than made
  again after a lost answer, and sent to production when the tenant's setting says so;
- `submitted` / `in_production` → what Printify says of it now (the fallback when its
  events do not arrive), and its tracking once it shipped;
- `shipped` → the tracking on the Etsy receipt (`createReceiptShipment`), once: the
  receipt is read first, so a post whose answer was lost is not sent again.

What cannot go on waits for the seller (`on_hold`) with a typed reason.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import SessionFactory
from domain import errors
from domain.errors import DomainError
from domain.orders import (
    EtsyFees,
    Hold,
    HoldReason,
    cents,
    moves_forward,
    printify_address,
    refusal_reason,
    status_from_printify,
    with_margin,
)
from domain.skus import sku_variant
from integrations.errors import VendorError
from integrations.etsy import EtsyClient, is_insufficient_scope
from integrations.printify import PrintifyClient, is_order_exists
from models import repositories
from models.orders import OrderStep, ReceiptsRead
from models.repositories.errors import NotFoundError
from models.tables import Integration, Listing, Order, OrderStatus, utcnow
from services.vendors import VendorGateway

logger = logging.getLogger(__name__)

# Receipts changed in the last moments before the checkpoint are read again: Etsy's
# timestamps are whole seconds, and an order recorded twice is still one row.
CHECKPOINT_OVERLAP_SECONDS = 60
# A printify shipping method: 1 standard (2 priority, 3 express, 4 economy).
STANDARD_SHIPPING = 1
MESSAGE_MAX = 500
# Receipt fields kept as the buyer's address (what Printify is sent, after the checks).
ADDRESS_FIELDS = ("name", "first_line", "second_line", "city", "state", "zip", "country_iso")
FOLLOWED = (OrderStatus.SUBMITTED, OrderStatus.IN_PRODUCTION)


@dataclass(frozen=True)
class Connections:
    """The tenant's two integrations an order needs."""

    etsy: Integration
    printify: Integration | None


class OrderService:
    """The order sync's work with the vendors (the activities call it)."""

    def __init__(
        self, sessions: SessionFactory, vendors: VendorGateway, fees: EtsyFees | None = None
    ) -> None:
        self._sessions = sessions
        self._vendors = vendors
        self._fees = fees or EtsyFees()

    # --- reading receipts ---------------------------------------------------------------

    async def read_receipts(self, tenant_id: str) -> ReceiptsRead:
        """Record the receipts with items of ours changed since the checkpoint."""
        connections = await self._connections(tenant_id)
        if connections is None:
            return ReceiptsRead(skipped="no active Etsy integration")
        etsy_row = connections.etsy
        async with self._sessions() as session:
            state = await repositories.orders.sync_state(session, tenant_id=tenant_id)
            checkpoint = state.checkpoint
            await session.commit()
        client = await self._vendors.etsy(tenant_id, str(etsy_row.id))
        shop_id = etsy_row.shop_id or (await client.get_me()).get("shop_id")
        if not shop_id:
            return ReceiptsRead(skipped="the connected Etsy user has no shop")
        since = max(0, checkpoint - CHECKPOINT_OVERLAP_SECONDS) if checkpoint else None
        try:
            receipts = await client.receipts_to_ship(int(shop_id), modified_since=since)
        except VendorError as exc:
            if is_insufficient_scope(exc):
                await self._note_scopes(etsy_row, client)
                raise reconnect_required() from None
            raise
        result = ReceiptsRead(read=len(receipts))
        async with self._sessions() as session:
            state = await repositories.orders.sync_state(session, tenant_id=tenant_id, lock=True)
            listings = await repositories.orders.listings_by_etsy_id(
                session,
                tenant_id=tenant_id,
                etsy_listing_ids=(
                    int(t["listing_id"])
                    for r in receipts
                    for t in r.get("transactions") or []
                    if t.get("listing_id")
                ),
            )
            channels = _printify_channels(connections.printify)
            newest = state.checkpoint
            for receipt in receipts:
                newest = max(newest, int(receipt.get("updated_timestamp") or 0))
                order = order_from_receipt(
                    tenant_id, int(shop_id), receipt, listings, channels, self._fees
                )
                if order is None:
                    result.ignored += 1
                    continue
                if await repositories.orders.insert_order(
                    session, tenant_id=tenant_id, order=order
                ):
                    result.recorded += 1
                    result.held += order.status == OrderStatus.ON_HOLD
            state.checkpoint = newest
            state.last_synced_at = state.updated_at = utcnow()
            session.add(state)
            open_ids = await repositories.orders.orders_to_follow(session, tenant_id=tenant_id)
            await session.commit()
        result.open_orders = [str(order_id) for order_id in open_ids]
        logger.info(
            "orders of %s: %d receipts read, %d recorded, %d not ours",
            tenant_id,
            result.read,
            result.recorded,
            result.ignored,
        )
        return result

    async def open_orders(self, tenant_id: str) -> list[str]:
        async with self._sessions() as session:
            ids = await repositories.orders.orders_to_follow(session, tenant_id=tenant_id)
        return [str(order_id) for order_id in ids]

    # --- one order's next steps ---------------------------------------------------------

    async def advance(
        self, tenant_id: str, order_id: str, *, owner: str, attempt: int, lease_seconds: float
    ) -> OrderStep:
        """Take the order as far as it can go now (see the module's docstring)."""
        key = uuid.UUID(order_id)
        async with self._sessions() as session:
            order = await repositories.orders.take_lease(
                session, tenant_id=tenant_id, order_id=key, owner=owner, seconds=lease_seconds
            )
            await session.commit()
        if order is None:
            return OrderStep(order_id, "", "busy")
        try:
            action = await self._advance(order, attempt)
        finally:
            async with self._sessions() as session:
                await repositories.orders.release_lease(
                    session, tenant_id=tenant_id, order_id=key, owner=owner
                )
                await session.commit()
        return OrderStep(order_id, order.status, action)

    async def _advance(self, order: Order, attempt: int) -> str:
        if order.fulfilment != "platform":
            return "unchanged"
        action = "unchanged"
        if order.status == OrderStatus.RECEIVED:
            action = await self._submit(order, retried=attempt > 1)
        if order.status in FOLLOWED:
            followed = await self._follow(order)
            action = followed if followed != "unchanged" else action
        if order.status == OrderStatus.SHIPPED and order.etsy_shipment_at is None:
            action = await self._post_tracking(order)
        return action

    async def _submit(self, order: Order, *, retried: bool) -> str:
        printify = await self._printify_client(order.tenant_id)
        try:
            if order.printify_shop_id is None:
                raise Hold(HoldReason.PRODUCT_MISSING, "no Printify shop holds these items")
            body = printify_order_body(order)
        except Hold as hold:
            await self._hold(order, hold)
            return "held"
        shop_id, external_id = order.printify_shop_id, str(order.etsy_receipt_id)
        found = None
        if retried:  # an earlier attempt may have made it and lost the answer
            found = await printify.find_order_by_external_id(shop_id, external_id)
        if found is None:
            try:
                found = await printify.create_order(shop_id, body)
            except VendorError as exc:
                if is_order_exists(exc):
                    found = await printify.find_order_by_external_id(shop_id, external_id)
                elif exc.status in (400, 404, 422):
                    reason = str(exc.details.get("reason") or exc.message)
                    await self._hold(order, Hold(refusal_reason(reason), exc.message))
                    return "held"
                else:
                    raise
            if found is None:  # refused as a duplicate, yet not listed: try again later
                raise DomainError(
                    errors.ORDER_BUSY, f"Printify's order for receipt {external_id} is not listed"
                )
        await self._update(
            order,
            printify_order_id=str(found["id"]),
            status=OrderStatus.SUBMITTED,
            hold_reason=None,
            hold_message=None,
        )
        logger.info("order %s: Printify order %s", order.id, order.printify_order_id)
        return "submitted"

    async def _follow(self, order: Order) -> str:
        """Printify's view of the order now; sent to production if the tenant says so."""
        assert order.printify_shop_id is not None and order.printify_order_id is not None
        printify = await self._printify_client(order.tenant_id)
        found = await printify.get_order(order.printify_shop_id, order.printify_order_id)
        action = "unchanged"
        if found.get("status") == "on-hold" and await self._auto_production(order.tenant_id):
            try:
                found = await printify.send_order_to_production(
                    order.printify_shop_id, order.printify_order_id
                )
            except VendorError as exc:
                if exc.retryable:
                    raise
                # Sent already (a lost answer) or cancelled meanwhile: read what it is.
                found = await printify.get_order(order.printify_shop_id, order.printify_order_id)
        changes = _printify_changes(order, found)
        if changes:
            await self._update(order, **changes)
            action = str(changes.get("status", "updated"))
        return action

    async def _post_tracking(self, order: Order) -> str:
        """The shipment's tracking on the Etsy receipt, once."""
        tracking = order.tracking or {}
        if not tracking.get("number"):
            return "unchanged"
        connections = await self._connections(order.tenant_id)
        if connections is None:
            await self._hold_tracking(order, "the Etsy integration is not active")
            return "held"
        client = await self._vendors.etsy(order.tenant_id, str(connections.etsy.id))
        try:
            receipt = await client.get_receipt(order.etsy_shop_id, order.etsy_receipt_id)
            posted = receipt.get("is_shipped") or any(
                s.get("tracking_code") == tracking["number"] for s in receipt.get("shipments") or []
            )
            if not posted:
                await client.create_receipt_shipment(
                    order.etsy_shop_id,
                    order.etsy_receipt_id,
                    tracking_code=str(tracking["number"]),
                    carrier_name=str(tracking.get("carrier") or "other"),
                )
        except VendorError as exc:
            if not is_insufficient_scope(exc):
                raise
            await self._note_scopes(connections.etsy, client)
            await self._hold_tracking(order, str(reconnect_required().message))
            return "held"
        await self._update(order, etsy_shipment_at=utcnow(), hold_reason=None, hold_message=None)
        logger.info("order %s: tracking on Etsy receipt %s", order.id, order.etsy_receipt_id)
        return "tracking_posted"

    # --- events -------------------------------------------------------------------------

    @staticmethod
    async def apply_event(
        session: AsyncSession, order: Order, topic: str, data: dict[str, Any]
    ) -> bool:
        """What a Printify order event says, kept on the order (not committed); whether it
        changed anything. An event never moves an order back."""
        changes: dict[str, Any] = {}
        if topic == "order:shipment:created":
            carrier = data.get("carrier") or {}
            if carrier.get("tracking_number"):
                changes["tracking"] = _tracking(
                    carrier.get("code"),
                    carrier.get("tracking_number"),
                    carrier.get("tracking_url"),
                    data.get("shipped_at"),
                )
                changes["status"] = OrderStatus.SHIPPED
        elif topic in ("order:updated", "order:sent-to-production"):
            status = status_from_printify(data.get("status"))
            if topic == "order:sent-to-production":
                status = OrderStatus.IN_PRODUCTION
            if status is not None and status != OrderStatus.SHIPPED:
                changes["status"] = status
        if "status" in changes and not moves_forward(order.status, changes["status"]):
            changes.pop("status")
            changes.pop("tracking", None)
        if not changes:
            return False
        for name, value in changes.items():
            setattr(order, name, value)
        order.updated_at = utcnow()
        session.add(order)
        return True

    # --- helpers ------------------------------------------------------------------------

    async def _connections(self, tenant_id: str) -> Connections | None:
        async with self._sessions() as session:
            etsy = await repositories.integrations.find_integration(
                session, tenant_id=tenant_id, vendor="etsy"
            )
            printify = await repositories.integrations.find_integration(
                session, tenant_id=tenant_id, vendor="printify"
            )
        if etsy is None or etsy.status != "active":
            return None
        return Connections(etsy, printify if printify and printify.status == "active" else None)

    async def _printify_client(self, tenant_id: str) -> PrintifyClient:
        connections = await self._connections(tenant_id)
        if connections is None or connections.printify is None:
            raise DomainError(
                errors.INTEGRATION_REQUIRED,
                "connect Printify and Etsy to forward orders",
                {"vendor": "printify"},
            )
        return await self._vendors.printify(tenant_id, str(connections.printify.id))

    async def _auto_production(self, tenant_id: str) -> bool:
        async with self._sessions() as session:
            state = await repositories.orders.sync_state(session, tenant_id=tenant_id)
            await session.commit()
        return state.auto_production

    async def _note_scopes(self, row: Integration, client: EtsyClient) -> None:
        """Etsy refused for want of a scope: what the token has, kept for the seller's view."""
        try:
            scopes = await client.token_scopes()
        except VendorError as exc:
            logger.warning("could not read the Etsy token's scopes: %s", exc)
            return
        async with self._sessions() as session:
            fresh = await repositories.integrations.get_integration(
                session, tenant_id=row.tenant_id, integration_id=row.id
            )
            fresh.scopes = scopes
            session.add(fresh)
            await session.commit()

    async def _hold(self, order: Order, hold: Hold) -> None:
        await self._update(
            order,
            status=OrderStatus.ON_HOLD,
            hold_reason=hold.reason.value,
            hold_message=hold.message[:MESSAGE_MAX],
        )
        logger.info("order %s on hold: %s (%s)", order.id, hold.reason, hold.message)

    async def _hold_tracking(self, order: Order, message: str) -> None:
        """The order shipped, but its tracking cannot reach Etsy: it stays `shipped`, with
        the reason, and the post is tried again on each sync."""
        await self._update(
            order,
            hold_reason=HoldReason.ETSY_RECONNECT_REQUIRED.value,
            hold_message=message[:MESSAGE_MAX],
        )

    async def _update(self, order: Order, **changes: Any) -> None:
        """Set fields on the order and commit at once (a vendor's id must never be lost)."""
        async with self._sessions() as session:
            row = await repositories.orders.get_order(
                session, tenant_id=order.tenant_id, order_id=order.id
            )
            for name, value in changes.items():
                setattr(row, name, value)
                setattr(order, name, value)
            row.updated_at = order.updated_at = utcnow()
            session.add(row)
            await session.commit()


def reconnect_required() -> DomainError:
    return DomainError(
        errors.ETSY_RECONNECT_REQUIRED,
        "the Etsy connection lacks transactions_r/transactions_w; connect the shop again "
        "(GET /v1/integrations/etsy/connect) to read orders and post tracking",
        {"vendor": "etsy", "scopes": ["transactions_r", "transactions_w"]},
    )


def _printify_channels(row: Integration | None) -> dict[int, str]:
    shops = ((row.shop_setup or {}).get("shops") or []) if row else []
    return {int(shop["id"]): str(shop.get("sales_channel") or "") for shop in shops}


def order_from_receipt(
    tenant_id: str,
    shop_id: int,
    receipt: dict[str, Any],
    listings: dict[int, Listing],
    channels: dict[int, str],
    fees: EtsyFees | None = None,
) -> Order | None:
    """The order of a receipt, or None when no item is of a listing we made."""
    items: list[dict[str, Any]] = []
    unknown_skus: list[str] = []
    for transaction in receipt.get("transactions") or []:
        listing = listings.get(int(transaction.get("listing_id") or 0))
        if listing is None:
            continue  # another seller's way of listing: not ours to forward
        sku = transaction.get("sku")
        variant = sku_variant(sku, listing.workflow_id)
        if variant is None:
            unknown_skus.append(str(sku))
        items.append(
            {
                "transaction_id": int(transaction["transaction_id"]),
                "listing_id": str(listing.id),
                "etsy_listing_id": listing.etsy_listing_id,
                "title": listing.title,
                "sku": sku,
                "printify_shop_id": listing.printify_shop_id,
                "printify_product_id": listing.printify_product_id,
                "variant_id": variant,
                "quantity": int(transaction.get("quantity") or 1),
                "price_cents": cents(transaction.get("price")),
            }
        )
    if not items:
        return None
    shops = {item["printify_shop_id"] for item in items}
    fulfilment = "printify" if channels.get(next(iter(shops))) == "etsy" else "platform"
    status, reason, message = OrderStatus.RECEIVED, None, None
    if len(shops) > 1:
        reason, message = HoldReason.PRINTIFY_REFUSED, "the items are in several Printify shops"
    elif unknown_skus:
        reason = HoldReason.VARIANT_UNAVAILABLE
        message = f"no variant of our product has the SKU {', '.join(unknown_skus)}"
    if reason is not None and fulfilment == "platform":
        status = OrderStatus.ON_HOLD
    amounts = {
        "currency": (receipt.get("grandtotal") or {}).get("currency_code") or "USD",
        "subtotal_cents": cents(receipt.get("subtotal")),
        "shipping_cents": cents(receipt.get("total_shipping_cost")),
        "tax_cents": cents(receipt.get("total_tax_cost")) + cents(receipt.get("total_vat_cost")),
        "discount_cents": cents(receipt.get("discount_amt")),
        "total_cents": cents(receipt.get("grandtotal")),
    }
    return Order(
        tenant_id=tenant_id,
        etsy_shop_id=shop_id,  # a ShopReceipt does not name its shop
        etsy_receipt_id=int(receipt["receipt_id"]),
        status=status,
        fulfilment=fulfilment,
        hold_reason=reason.value if status == OrderStatus.ON_HOLD and reason else None,
        hold_message=message if status == OrderStatus.ON_HOLD else None,
        printify_shop_id=next(iter(shops)) if len(shops) == 1 else None,
        items=items,
        address={
            **{name: receipt.get(name) for name in ADDRESS_FIELDS},
            "email": receipt.get("buyer_email"),
        },
        amounts=amounts | (fees or EtsyFees()).of(amounts, sum(i["quantity"] for i in items)),
        receipt_updated_at=datetime.fromtimestamp(
            int(receipt.get("updated_timestamp") or receipt.get("created_timestamp") or 0), UTC
        ),
    )


def printify_order_body(order: Order) -> dict[str, Any]:
    """The Printify order for an order's items and buyer; `Hold` if it cannot be one."""
    address = printify_address(order.address, order.address.get("email"))
    unknown = [str(item.get("sku")) for item in order.items if item.get("variant_id") is None]
    if unknown:
        raise Hold(
            HoldReason.VARIANT_UNAVAILABLE,
            f"no variant of our product has the SKU {', '.join(unknown)}",
        )
    return {
        "external_id": str(order.etsy_receipt_id),
        "label": f"Etsy receipt {order.etsy_receipt_id}",
        "line_items": [
            {
                "product_id": item["printify_product_id"],
                "variant_id": int(item["variant_id"]),
                "quantity": int(item["quantity"]),
            }
            for item in order.items
        ],
        "shipping_method": STANDARD_SHIPPING,
        "send_shipping_notification": False,
        "address_to": address,
    }


def _tracking(code: Any, number: Any, url: Any, shipped_at: Any) -> dict[str, Any]:
    return {
        "carrier": str(code or "other"),
        "number": str(number),
        "url": str(url) if url else None,
        "shipped_at": str(shipped_at) if shipped_at else None,
    }


def _printify_changes(order: Order, found: dict[str, Any]) -> dict[str, Any]:
    """What the order should now say, from Printify's order (status, costs, tracking)."""
    changes: dict[str, Any] = {}
    amounts = dict(order.amounts)
    for ours, theirs in (
        ("printify_cost_cents", "total_price"),
        ("printify_shipping_cents", "total_shipping"),
    ):
        if found.get(theirs) is not None and amounts.get(ours) != int(found[theirs]):
            amounts[ours] = int(found[theirs])
    if amounts != order.amounts:
        changes["amounts"], changes["items"] = with_margin(amounts, order.items)
    status = status_from_printify(found.get("status"))
    shipments = found.get("shipments") or []
    if shipments and shipments[-1].get("number"):
        last = shipments[-1]
        status = OrderStatus.SHIPPED
        if not (order.tracking or {}).get("number"):
            changes["tracking"] = _tracking(
                last.get("carrier"), last.get("number"), last.get("url"), found.get("fulfilled_at")
            )
    if status == OrderStatus.SHIPPED and not (changes.get("tracking") or order.tracking):
        status = OrderStatus.IN_PRODUCTION  # fulfilled, but its tracking is not out yet
    if status is not None and moves_forward(order.status, status):
        changes["status"] = status
    return changes


# --- the seller's actions (API) ------------------------------------------------------------


async def retry_order(
    session: AsyncSession,
    *,
    tenant_id: str,
    order_id: uuid.UUID,
    address: dict[str, Any] | None = None,
) -> Order:
    """Put an order on hold back in line (with the buyer's address corrected, if given);
    the next sync submits it. A shipped order whose tracking could not reach Etsy is
    posted again. Not committed."""
    order = await _lock_idle(session, tenant_id=tenant_id, order_id=order_id)
    if order.status == OrderStatus.SHIPPED and order.hold_reason:
        order.hold_reason = order.hold_message = None
    elif order.status == OrderStatus.ON_HOLD:
        if address is not None:
            fixed = {**order.address, **address}
            try:
                printify_address(fixed, fixed.get("email"))
            except Hold as hold:
                raise DomainError(
                    errors.ORDER_ADDRESS_INVALID, hold.message, {"reason": hold.reason.value}
                ) from None
            order.address = fixed
        order.status = OrderStatus.RECEIVED
        order.hold_reason = order.hold_message = None
    else:
        raise DomainError(
            errors.ORDER_STATE_CONFLICT,
            f"an order that is {order.status} cannot be retried; only orders on hold can",
            {"status": order.status},
        )
    order.updated_at = utcnow()
    session.add(order)
    return order


async def cancel_order(
    session: AsyncSession, vendors: VendorGateway, *, tenant_id: str, order_id: uuid.UUID
) -> Order:
    """Cancel an order not yet in production (its Printify order too, if it has one).
    Not committed; Printify's refusal leaves the order as it was."""
    order = await _lock_idle(session, tenant_id=tenant_id, order_id=order_id)
    if order.status not in (OrderStatus.RECEIVED, OrderStatus.ON_HOLD, OrderStatus.SUBMITTED):
        raise DomainError(
            errors.ORDER_STATE_CONFLICT,
            f"an order that is {order.status} cannot be cancelled",
            {"status": order.status},
        )
    if order.printify_order_id is not None and order.printify_shop_id is not None:
        printify_row = await repositories.integrations.find_integration(
            session, tenant_id=tenant_id, vendor="printify"
        )
        if printify_row is None:
            raise DomainError(errors.INTEGRATION_REQUIRED, "connect Printify to cancel its order")
        client = await vendors.printify(tenant_id, str(printify_row.id))
        await client.cancel_order(order.printify_shop_id, order.printify_order_id)
    order.status = OrderStatus.CANCELLED
    order.hold_reason = order.hold_message = None
    order.updated_at = utcnow()
    session.add(order)
    return order


async def _lock_idle(session: AsyncSession, *, tenant_id: str, order_id: uuid.UUID) -> Order:
    """The order, locked, when no sync is acting on it (else `ORDER_BUSY`)."""
    try:
        order = await repositories.orders.lock_order(
            session, tenant_id=tenant_id, order_id=order_id
        )
    except NotFoundError:
        raise DomainError(errors.ORDER_NOT_FOUND, f"no order {order_id}") from None
    if order.lease_until is not None and order.lease_until > utcnow():
        raise DomainError(
            errors.ORDER_BUSY, "a sync is acting on this order; try again in a minute"
        )
    return order
