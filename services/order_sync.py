"""Starting a tenant's order sync: on its schedule, on request, and on Printify's events
(ADR 0031). Temporal holds the schedule (`orders-<tenant>`), like the scrape schedules."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from core.settings import Settings
from domain.errors import DomainError
from models.orders import OrderSyncInput
from services.runs import temporal_unavailable
from workflows.contract import (
    WORKFLOW_QUEUE,
    order_schedule_id,
    order_sync_id,
    tenant_attributes,
)
from workflows.order_sync import OrderSyncWorkflow

logger = logging.getLogger(__name__)

# A sync never overlaps the tenant's previous scheduled one; a missed firing is dropped,
# as the next comes anyway.
POLICY = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(minutes=10))
SYNC_TIMEOUT = timedelta(hours=6)


@dataclass(frozen=True)
class StartedSync:
    workflow_id: str
    run_id: str | None


async def ensure_schedule(temporal: Client, settings: Settings, *, tenant_id: str) -> bool:
    """The tenant's order sync schedule, made if missing; whether it was made now."""
    every = timedelta(seconds=settings.order_sync_interval_seconds)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            OrderSyncWorkflow.run,
            OrderSyncInput(tenant_id=tenant_id, reason="schedule"),
            id=order_sync_id(tenant_id, "scheduled"),
            task_queue=WORKFLOW_QUEUE,
            execution_timeout=SYNC_TIMEOUT,
            typed_search_attributes=tenant_attributes(tenant_id),
            static_summary=f"order sync (scheduled), tenant {tenant_id}",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=POLICY,
    )
    try:
        await temporal.create_schedule(
            order_schedule_id(tenant_id),
            schedule,
            memo={"tenant_id": tenant_id, "kind": "orders"},
            search_attributes=tenant_attributes(tenant_id),
        )
    except ScheduleAlreadyRunningError:
        return False
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNAVAILABLE:
            raise
        raise temporal_unavailable("the order sync was not scheduled") from None
    logger.info("order sync of %s scheduled every %s", tenant_id, every)
    return True


async def schedule_quietly(temporal: Client, settings: Settings, *, tenant_id: str) -> None:
    """`ensure_schedule` when a shop is connected: should Temporal be down, the schedule
    is made by the tenant's next `POST /v1/orders/sync` (the connection itself stands)."""
    try:
        await ensure_schedule(temporal, settings, tenant_id=tenant_id)
    except (DomainError, RPCError) as exc:
        logger.warning("order sync of %s not scheduled: %s", tenant_id, exc)


async def sync_now(temporal: Client, *, tenant_id: str) -> StartedSync:
    """Run the tenant's order sync now, or join the one a request already started."""
    workflow_id = order_sync_id(tenant_id, "now")
    try:
        handle = await temporal.start_workflow(
            OrderSyncWorkflow.run,
            OrderSyncInput(tenant_id=tenant_id, reason="request"),
            id=workflow_id,
            task_queue=WORKFLOW_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            execution_timeout=SYNC_TIMEOUT,
            search_attributes=tenant_attributes(tenant_id),
            static_summary=f"order sync (asked for), tenant {tenant_id}",
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNAVAILABLE:
            raise
        raise temporal_unavailable() from None
    return StartedSync(workflow_id, handle.result_run_id)


async def order_changed(temporal: Client, *, tenant_id: str, order_id: str) -> None:
    """Tell the tenant's event sync that Printify changed an order (started if none runs)."""
    await temporal.start_workflow(
        OrderSyncWorkflow.run,
        OrderSyncInput(tenant_id=tenant_id, reason="event", read_receipts=False),
        id=order_sync_id(tenant_id, "events"),
        task_queue=WORKFLOW_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        execution_timeout=SYNC_TIMEOUT,
        search_attributes=tenant_attributes(tenant_id),
        static_summary=f"order sync (Printify order events), tenant {tenant_id}",
        start_signal=OrderSyncWorkflow.order_changed.__name__,
        start_signal_args=[order_id],
    )
