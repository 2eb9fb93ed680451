"""Order activities (`pod-integration` queue): read the shop's receipts, move one order on.

Thin: the work is `services.orders.OrderService`. An order is acted on under a lease
named after this activity (workflow, activity id), so a retried attempt takes it again
and another sync's attempt does not.
"""

from __future__ import annotations

from temporalio import activity

from core.db import SessionFactory
from domain.orders import EtsyFees
from models.orders import (
    AdvanceOrderInput,
    OrderStep,
    OrderSyncInput,
    ReceiptsRead,
    StatsPulled,
)
from services import listing_stats
from services.orders import OrderService
from services.vendors import VendorGateway
from workflows.contract import (
    ADVANCE_ORDER,
    INTEGRATION,
    OPEN_ORDERS,
    PULL_LISTING_STATS,
    READ_RECEIPTS,
)

# A lease outlives an attempt (its start-to-close), so a dead worker's lease lapses
# before another sync's attempt may act.
LEASE_SECONDS = INTEGRATION.start_to_close.total_seconds() + 30


class OrderActivities:
    def __init__(
        self,
        sessions: SessionFactory,
        vendors: VendorGateway,
        fees: EtsyFees | None = None,
        min_age_hours: float = 72.0,
    ) -> None:
        self._sessions = sessions
        self._vendors = vendors
        self._orders = OrderService(sessions, vendors, fees)
        self._min_age_hours = min_age_hours

    @activity.defn(name=READ_RECEIPTS.name)
    async def read_receipts(self, data: OrderSyncInput) -> ReceiptsRead:
        """Record the orders of the receipts changed since the checkpoint."""
        return await self._orders.read_receipts(data.tenant_id)

    @activity.defn(name=OPEN_ORDERS.name)
    async def open_orders(self, data: OrderSyncInput) -> list[str]:
        """The tenant's orders a sync still has work on."""
        return await self._orders.open_orders(data.tenant_id)

    @activity.defn(name=ADVANCE_ORDER.name)
    async def advance(self, data: AdvanceOrderInput) -> OrderStep:
        """Take one order as far as it can go now."""
        info = activity.info()
        return await self._orders.advance(
            data.tenant_id,
            data.order_id,
            owner=f"{info.workflow_id}/{info.activity_id}",
            attempt=info.attempt,
            lease_seconds=LEASE_SECONDS,
        )

    @activity.defn(name=PULL_LISTING_STATS.name)
    async def pull_listing_stats(self, data: OrderSyncInput) -> StatsPulled:
        """Today's views, favourites and sales of each listing; its niche's performance."""
        return await listing_stats.pull(
            self._sessions, self._vendors, data.tenant_id, min_age_hours=self._min_age_hours
        )
