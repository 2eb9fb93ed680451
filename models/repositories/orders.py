"""A tenant's orders (paid Etsy receipts forwarded to Printify) and its order sync.

Like every repository, its functions take the session and the tenant keyword-only (the
one that resolves Printify's order id to its order excepted) and none commits: the
caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.repositories.errors import NotFoundError
from models.tables import Listing, Order, OrderStatus, OrderSync, utcnow

# Orders a sync still has work on with a vendor: to submit, to follow, to report shipped.
OPEN_STATUSES = (OrderStatus.RECEIVED, OrderStatus.SUBMITTED, OrderStatus.IN_PRODUCTION)


async def sync_state(session: AsyncSession, *, tenant_id: str, lock: bool = False) -> OrderSync:
    """The tenant's order sync (made with its defaults the first time)."""
    await session.exec(
        insert(OrderSync)
        .values(tenant_id=tenant_id, auto_production=True, checkpoint=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    query = select(OrderSync).where(OrderSync.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    row = (await session.exec(query.execution_options(populate_existing=True))).one()
    return row


async def insert_order(session: AsyncSession, *, tenant_id: str, order: Order) -> bool:
    """Record a receipt's order; False when the receipt already has one."""
    assert order.tenant_id == tenant_id
    values = order.model_dump()
    result = await session.exec(
        insert(Order)
        .values(**values)
        .on_conflict_do_nothing(constraint="uq_order_receipt")
        .returning(col(Order.id))
    )
    return result.first() is not None


async def get_order(session: AsyncSession, *, tenant_id: str, order_id: uuid.UUID) -> Order:
    query = select(Order).where(Order.tenant_id == tenant_id, Order.id == order_id)
    row = (await session.exec(query.execution_options(populate_existing=True))).first()
    if row is None:
        raise NotFoundError("order", order_id)
    return row


async def lock_order(session: AsyncSession, *, tenant_id: str, order_id: uuid.UUID) -> Order:
    query = (
        select(Order)
        .where(Order.tenant_id == tenant_id, Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = (await session.exec(query)).first()
    if row is None:
        raise NotFoundError("order", order_id)
    return row


async def find_by_printify_order(session: AsyncSession, *, printify_order_id: str) -> Order | None:
    """The order Printify knows by `printify_order_id` (its events name nothing else)."""
    query = select(Order).where(Order.printify_order_id == printify_order_id)
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def take_lease(
    session: AsyncSession,
    *,
    tenant_id: str,
    order_id: uuid.UUID,
    owner: str,
    seconds: float,
) -> Order | None:
    """The order, now leased to `owner` for `seconds`; None while another owner holds it.

    A retried attempt of the same activity (same owner) takes its lease again.
    """
    now = utcnow()
    statement = (
        update(Order)
        .where(
            col(Order.tenant_id) == tenant_id,
            col(Order.id) == order_id,
            or_(
                col(Order.lease_until).is_(None),
                col(Order.lease_until) < now,
                col(Order.lease_owner) == owner,
            ),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
        .returning(col(Order.id))
    )
    if (await session.exec(statement)).first() is None:
        return None
    return await get_order(session, tenant_id=tenant_id, order_id=order_id)


async def release_lease(
    session: AsyncSession, *, tenant_id: str, order_id: uuid.UUID, owner: str
) -> None:
    await session.exec(
        update(Order)
        .where(
            col(Order.tenant_id) == tenant_id,
            col(Order.id) == order_id,
            col(Order.lease_owner) == owner,
        )
        .values(lease_owner=None, lease_until=None)
    )


async def orders_to_follow(session: AsyncSession, *, tenant_id: str) -> Sequence[uuid.UUID]:
    """The tenant's orders a sync still acts on: received ones to submit, submitted or in
    production ones to follow at Printify, shipped ones whose tracking Etsy lacks."""
    query = (
        select(Order.id)
        .where(
            Order.tenant_id == tenant_id,
            Order.fulfilment == "platform",
            or_(
                col(Order.status).in_([s.value for s in OPEN_STATUSES]),
                (col(Order.status) == OrderStatus.SHIPPED) & col(Order.etsy_shipment_at).is_(None),
            ),
        )
        .order_by(col(Order.created_at))
    )
    return (await session.exec(query)).all()


async def list_orders(
    session: AsyncSession,
    *,
    tenant_id: str,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Order], int]:
    """A page of the tenant's orders, newest first, and how many match."""
    where = [Order.tenant_id == tenant_id]
    if status is not None:
        where.append(Order.status == status)
    count_query = select(func.count()).select_from(Order).where(*where)
    count = int((await session.exec(count_query)).one())
    query = (
        select(Order)
        .where(*where)
        .order_by(col(Order.created_at).desc(), col(Order.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return (await session.exec(query)).all(), count


async def listings_by_etsy_id(
    session: AsyncSession, *, tenant_id: str, etsy_listing_ids: Iterable[int]
) -> dict[int, Listing]:
    """The tenant's listings among Etsy's listing ids (the others are not ours)."""
    ids = sorted(set(etsy_listing_ids))
    if not ids:
        return {}
    query = select(Listing).where(
        Listing.tenant_id == tenant_id, col(Listing.etsy_listing_id).in_(ids)
    )
    return {row.etsy_listing_id: row for row in (await session.exec(query)).all()}


# What an order item `i` of an order `o` sold, as SQL over `jsonb_array_elements(o.items)`:
# its units, its revenue (its share once Printify's cost is known, else price x
# quantity) and its margin share; cancelled and failed orders sold nothing. The listing
# page (`reads.LISTINGS_PAGE`), the day's listing numbers and a campaign's money all
# sum these.
ITEM_UNITS = "(i->>'quantity')::int"
ITEM_REVENUE = (
    "coalesce((i->>'revenue_cents')::bigint, (i->>'price_cents')::bigint * (i->>'quantity')::int)"
)
ITEM_MARGIN = "coalesce((i->>'margin_cents')::bigint, 0)"
ORDER_SOLD = "o.status NOT IN ('cancelled', 'failed')"
_SOLD_SUMS = (
    f"count(DISTINCT o.id) AS orders, coalesce(sum({ITEM_UNITS}), 0) AS units,"
    f" coalesce(sum({ITEM_REVENUE}), 0) AS revenue_cents,"
    f" coalesce(sum({ITEM_MARGIN}), 0) AS margin_cents"
)
# Composed from this module's constants only (no value is formatted in: values go as
# parameters), hence the S608 exemptions below.
_LISTING_SALES = text(
    f"SELECT (i->>'listing_id')::uuid AS listing_id, {_SOLD_SUMS}"  # noqa: S608  # nosec B608
    " FROM orders o CROSS JOIN jsonb_array_elements(o.items) i"
    f" WHERE o.tenant_id = :tenant_id AND {ORDER_SOLD} GROUP BY 1"
)
# What the runs' listings sold, and what the runs cost at the model vendors, failed
# runs included.
_RUN_SALES = text(
    f"SELECT {_SOLD_SUMS}"  # noqa: S608  # nosec B608
    " FROM orders o CROSS JOIN jsonb_array_elements(o.items) i"
    " JOIN listings l ON l.id::text = i->>'listing_id' AND l.tenant_id = o.tenant_id"
    f" WHERE o.tenant_id = :tenant_id AND {ORDER_SOLD}"
    " AND l.workflow_id = ANY(:workflow_ids)"
)
_RUN_COSTS = text(
    "SELECT coalesce(sum(cost_micros), 0) FROM cost_lines"
    " WHERE tenant_id = :tenant_id AND workflow_id = ANY(:workflow_ids)"
)


async def sales_by_listing(session: AsyncSession, *, tenant_id: str) -> dict[uuid.UUID, Any]:
    """Each of the tenant's listings that sold: its orders, units, revenue and margin."""
    rows = (await session.execute(_LISTING_SALES, {"tenant_id": tenant_id})).all()
    return {row.listing_id: row for row in rows}


async def sales_of_runs(
    session: AsyncSession, *, tenant_id: str, workflow_ids: Sequence[str]
) -> dict[str, int]:
    """Orders, units, revenue and sales margin of the runs' listings, and the runs' model
    cost in micro-dollars (a campaign's money)."""
    params = {"tenant_id": tenant_id, "workflow_ids": list(workflow_ids)}
    sold = (await session.execute(_RUN_SALES, params)).one()
    cost = (await session.execute(_RUN_COSTS, params)).scalar_one()
    return {
        "orders": int(sold.orders),
        "units": int(sold.units),
        "revenue_cents": int(sold.revenue_cents),
        "sales_margin_cents": int(sold.margin_cents),
        "model_cost_micros": int(cost),
    }
