"""Each listing's numbers per day, and what they say of its niche (issue 16, ADR 0031).

`pull` reads the shop's active listings' views and favourites from Etsy, counts each
listing's orders, units, revenue and margin from our orders, and keeps today's row per
listing (`listing_stats`). It then sets each niche's `performance` on its trend signals
(`domain.performance`) and rescores them: a niche that sold rises, one whose listings
did not sell sinks, and campaigns pass it over.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from core.db import SessionFactory
from domain.niches import niche_key
from domain.performance import ListingSales, niche_performance
from integrations.errors import VendorError
from models import repositories
from models.orders import StatsPulled
from models.tables import Listing, ListingStats, TrendSignal, WorkflowRun, utcnow
from services.vendors import VendorGateway

logger = logging.getLogger(__name__)


async def pull(
    sessions: SessionFactory,
    vendors: VendorGateway,
    tenant_id: str,
    *,
    min_age_hours: float,
    now: datetime | None = None,
) -> StatsPulled:
    """Keep today's numbers of the tenant's listings and set its niches' performance."""
    now = now or utcnow()
    async with sessions() as session:
        etsy = await repositories.integrations.find_integration(
            session, tenant_id=tenant_id, vendor="etsy"
        )
        rows = (
            await session.exec(
                select(Listing, WorkflowRun.keyword)
                .join(WorkflowRun, col(WorkflowRun.workflow_id) == col(Listing.workflow_id))
                .where(Listing.tenant_id == tenant_id)
            )
        ).all()
        sales = await repositories.orders.sales_by_listing(session, tenant_id=tenant_id)
    if not rows:
        return StatsPulled(skipped="no listings")
    counters = await _counters(vendors, etsy, tenant_id, {row[0].etsy_shop_id for row in rows})
    today = now.date()
    values = []
    for listing, _ in rows:
        sold = sales.get(listing.id)
        views, favorites = counters.get(listing.etsy_listing_id, (None, None))
        values.append(
            {
                "listing_id": listing.id,
                "day": today,
                "tenant_id": tenant_id,
                "views": views,
                "favorites": favorites,
                "orders": int(sold.orders) if sold else 0,
                "units": int(sold.units) if sold else 0,
                "revenue_cents": int(sold.revenue_cents) if sold else 0,
                "margin_cents": int(sold.margin_cents) if sold else 0,
                "updated_at": now,
            }
        )
    performance = niche_performance(
        (
            ListingSales(
                niche_key(keyword),
                int(sales[listing.id].orders) if listing.id in sales else 0,
                (now - listing.created_at).total_seconds() / 3600,
            )
            for listing, keyword in rows
        ),
        min_age_hours,
    )
    async with sessions() as session:
        for value in values:
            await session.exec(_upsert(value))
        niches = await _set_performance(session, tenant_id, performance)
        if niches:
            await repositories.trend_updates.rescore(session, tenant_id=tenant_id, now=now)
        await session.commit()
    return StatsPulled(listings=len(values), niches=niches)


def _upsert(value: dict[str, Any]) -> Any:
    """Today's row: Etsy's counters are kept from an earlier pull when Etsy did not
    answer this time (None)."""
    statement = insert(ListingStats).values(
        **{k: (0 if v is None else v) for k, v in value.items()}
    )
    changed = {
        name: statement.excluded[name]
        for name in ("orders", "units", "revenue_cents", "margin_cents", "updated_at")
    }
    if value["views"] is not None:
        changed |= {"views": statement.excluded.views, "favorites": statement.excluded.favorites}
    return statement.on_conflict_do_update(index_elements=["listing_id", "day"], set_=changed)


async def _counters(
    vendors: VendorGateway, etsy: Any, tenant_id: str, shops: set[int]
) -> dict[int, tuple[int, int]]:
    """Views and favourites of the shop's active listings; none when Etsy cannot say."""
    if etsy is None or etsy.status != "active":
        return {}
    found: dict[int, tuple[int, int]] = {}
    try:
        client = await vendors.etsy(tenant_id, str(etsy.id))
        for shop_id in shops:
            found |= await client.listing_counters(shop_id)
    except VendorError as exc:
        if exc.retryable:
            raise
        logger.warning("views and favourites of %s not read: %s", tenant_id, exc)
    return found


async def _set_performance(session: Any, tenant_id: str, performance: dict[str, Any]) -> int:
    """Each niche's performance into its signals' metrics (with what it rests on)."""
    if not performance:
        return 0
    signals = (
        await session.exec(
            select(TrendSignal).where(
                TrendSignal.tenant_id == tenant_id,
                col(TrendSignal.niche_key).in_(sorted(performance)),
            )
        )
    ).all()
    for signal in signals:
        found = performance[signal.niche_key]
        signal.metrics = {
            **(signal.metrics or {}),
            "performance": found.performance,
            "sales": {"listings": found.listings, "orders": found.orders, "norm": found.norm},
        }
        session.add(signal)
    await session.flush()
    return len(signals)
