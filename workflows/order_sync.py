"""OrderSyncWorkflow: a tenant's paid Etsy receipts become Printify orders, and Printify's
shipments go back to Etsy (issue 16, ADR 0031).

A run reads the receipts changed since the checkpoint (recording their orders), then
moves each open order on, one activity per order, a few at a time: a failing order is
reported and the others go on. Last it keeps each listing's numbers of the day and its
niche's performance (`services.listing_stats`). Printify's events reach a running sync as the
`order_changed` signal (the API signals with start, `order_sync_id(tenant, "events")`),
and the run moves those orders on before it ends.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.orders import (
        AdvanceOrderInput,
        OrderStep,
        OrderSyncInput,
        OrderSyncResult,
        ReceiptsRead,
        StatsPulled,
    )
    from workflows.contract import (
        ADVANCE_ORDER,
        OPEN_ORDERS,
        PULL_LISTING_STATS,
        READ_RECEIPTS,
        call,
    )
    from workflows.failures import failure_text

# Orders moved on at once: each is a few vendor calls under the vendors' rate limits.
CONCURRENT_ORDERS = 4


@workflow.defn
class OrderSyncWorkflow:
    def __init__(self) -> None:
        self._changed: list[str] = []

    @workflow.signal
    def order_changed(self, order_id: str) -> None:
        """Printify said something of this order: move it on in this run."""
        if order_id not in self._changed:
            self._changed.append(order_id)

    @workflow.run
    async def run(self, request: OrderSyncInput) -> OrderSyncResult:
        result = OrderSyncResult(tenant_id=request.tenant_id)
        orders: list[str] = []
        if request.read_receipts:
            try:
                result.read = await call(READ_RECEIPTS, request)
                orders = result.read.open_orders
            except ActivityError as exc:
                # Etsy down or the connection lacking a scope: the orders already
                # recorded still move on.
                workflow.logger.warning("receipts not read: %s", failure_text(exc))
                result.read = ReceiptsRead(skipped=failure_text(exc))
                orders = await call(OPEN_ORDERS, request)
        await self._advance(request.tenant_id, orders, result)
        if request.read_receipts:
            try:
                result.stats = await call(PULL_LISTING_STATS, request)
            except ActivityError as exc:  # the numbers wait for the next sync
                workflow.logger.warning("listing stats not pulled: %s", failure_text(exc))
                result.stats = StatsPulled(skipped=failure_text(exc))
        while self._changed:
            changed, self._changed = self._changed, []
            await self._advance(request.tenant_id, changed, result)
        return result

    async def _advance(self, tenant_id: str, orders: list[str], result: OrderSyncResult) -> None:
        for start in range(0, len(orders), CONCURRENT_ORDERS):
            batch = orders[start : start + CONCURRENT_ORDERS]
            steps = await asyncio.gather(
                *(call(ADVANCE_ORDER, AdvanceOrderInput(tenant_id, order)) for order in batch),
                return_exceptions=True,
            )
            for order, step in zip(batch, steps, strict=True):
                if isinstance(step, OrderStep):
                    result.actions[step.action] = result.actions.get(step.action, 0) + 1
                elif isinstance(step, ActivityError):
                    workflow.logger.warning("order %s: %s", order, failure_text(step))
                    result.failed.append(order)
                elif isinstance(step, BaseException):  # a cancellation: not the order's
                    raise step
