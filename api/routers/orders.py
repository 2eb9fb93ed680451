"""Orders: buyers' paid Etsy receipts forwarded to Printify, and what became of them
(issue 16, ADR 0031). The order sync workflow does the work; these routes show it, start
it, and let the seller retry or cancel an order."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.auth import OrdersRead, OrdersWrite
from api.deps import SessionDep, SettingsDep, TemporalDep, VendorsDep
from api.hygiene import KnownQueryRoute
from api.order_schemas import (
    OrderPage,
    OrderPublic,
    OrderSettings,
    OrderSettingsIn,
    OrderSyncStarted,
    RetryIn,
)
from api.schemas import ErrorBody
from core.settings import Settings
from domain import errors
from domain.errors import DomainError
from models import repositories
from models.repositories.errors import NotFoundError
from models.tables import Order, OrderStatus, OrderSync, utcnow
from services import order_sync, orders

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/orders", tags=["orders"])
logger = logging.getLogger(__name__)

NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such order in this tenant"}
}
CHANGE_ERRORS: dict[int | str, dict[str, object]] = {
    **NOT_FOUND,
    409: {"model": ErrorBody, "description": "Not in a state that allows it, or being synced"},
}


@router.get("", operation_id="list_orders", response_model=OrderPage)
async def list_orders(
    session: SessionDep,
    principal: OrdersRead,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OrderPage:
    """The tenant's orders, newest first (`status` filters)."""
    rows, count = await repositories.orders.list_orders(
        session,
        tenant_id=principal.tenant_id,
        status=status_.value if status_ else None,
        limit=limit,
        offset=offset,
    )
    return OrderPage(data=[OrderPublic.of(row) for row in rows], count=count)


@router.post(
    "/sync",
    operation_id="sync_orders",
    response_model=OrderSyncStarted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={503: {"model": ErrorBody, "description": "Temporal is unavailable"}},
)
async def sync_orders(
    settings: SettingsDep, temporal: TemporalDep, principal: OrdersWrite
) -> OrderSyncStarted:
    """Run the order sync now (a request while one runs joins it): read the shop's paid
    receipts, submit new orders to Printify, follow the open ones, post tracking to Etsy.
    Also makes sure the tenant's sync schedule exists."""
    await order_sync.ensure_schedule(temporal, settings, tenant_id=principal.tenant_id)
    started = await order_sync.sync_now(temporal, tenant_id=principal.tenant_id)
    return OrderSyncStarted(workflow_id=started.workflow_id, run_id=started.run_id)


@router.get("/settings", operation_id="get_order_settings", response_model=OrderSettings)
async def get_order_settings(
    session: SessionDep, settings: SettingsDep, principal: OrdersRead
) -> OrderSettings:
    """Whether orders go straight to production, and when the sync last read Etsy."""
    state = await repositories.orders.sync_state(session, tenant_id=principal.tenant_id)
    await session.commit()
    return _settings_view(state, settings)


@router.put("/settings", operation_id="put_order_settings", response_model=OrderSettings)
async def put_order_settings(
    body: OrderSettingsIn, session: SessionDep, settings: SettingsDep, principal: OrdersWrite
) -> OrderSettings:
    """Send orders to production at once, or leave them on hold at Printify for the
    seller (applies to orders not yet in production, from the next sync)."""
    state = await repositories.orders.sync_state(session, tenant_id=principal.tenant_id, lock=True)
    state.auto_production = body.auto_production
    state.updated_at = utcnow()
    session.add(state)
    await session.commit()
    return _settings_view(state, settings)


@router.get(
    "/{order_id}", operation_id="get_order", response_model=OrderPublic, responses=NOT_FOUND
)
async def get_order(order_id: uuid.UUID, session: SessionDep, principal: OrdersRead) -> OrderPublic:
    """One order: its items, buyer's address, amounts, Printify order and tracking."""
    return OrderPublic.of(await _order(session, principal.tenant_id, order_id))


@router.post(
    "/{order_id}/retry",
    operation_id="retry_order",
    response_model=OrderPublic,
    responses={**CHANGE_ERRORS, 422: {"model": ErrorBody, "description": "Unusable address"}},
)
async def retry_order(
    order_id: uuid.UUID,
    session: SessionDep,
    temporal: TemporalDep,
    principal: OrdersWrite,
    body: RetryIn | None = None,
) -> OrderPublic:
    """Submit an order on hold again, with the buyer's address corrected if given (a
    shipped order whose tracking did not reach Etsy is posted again). The sync starts at
    once; should Temporal be down, the next scheduled sync takes the order."""
    address = body.address.changes() if body and body.address else None
    row = await orders.retry_order(
        session, tenant_id=principal.tenant_id, order_id=order_id, address=address
    )
    await session.commit()
    try:
        await order_sync.sync_now(temporal, tenant_id=principal.tenant_id)
    except DomainError as exc:
        logger.warning("order %s retried; the sync did not start: %s", order_id, exc)
    return OrderPublic.of(row)


@router.post(
    "/{order_id}/cancel",
    operation_id="cancel_order",
    response_model=OrderPublic,
    responses={**CHANGE_ERRORS, 502: {"model": ErrorBody, "description": "Printify refused"}},
)
async def cancel_order(
    order_id: uuid.UUID, session: SessionDep, vendors: VendorsDep, principal: OrdersWrite
) -> OrderPublic:
    """Cancel an order not yet in production, and its Printify order if it has one (the
    buyer's refund is the seller's, on Etsy)."""
    row = await orders.cancel_order(
        session, vendors, tenant_id=principal.tenant_id, order_id=order_id
    )
    await session.commit()
    return OrderPublic.of(row)


async def _order(session: SessionDep, tenant_id: str, order_id: uuid.UUID) -> Order:
    try:
        return await repositories.orders.get_order(session, tenant_id=tenant_id, order_id=order_id)
    except NotFoundError:
        raise DomainError(errors.ORDER_NOT_FOUND, f"no order {order_id}") from None


def _settings_view(state: OrderSync, settings: Settings) -> OrderSettings:
    return OrderSettings(
        auto_production=state.auto_production,
        sync_interval_seconds=settings.order_sync_interval_seconds,
        last_synced_at=state.last_synced_at,
    )
