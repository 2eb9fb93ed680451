"""Starting order syncs on the session's Temporal (issue 16): the tenant's schedule is
made once, and a second request while a sync runs joins it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.client import Client, ScheduleActionStartWorkflow

from core.settings import Settings
from services import order_sync
from tests.conftest import ISOLATED_NAMESPACE
from workflows.contract import TENANT_ATTRIBUTE, order_schedule_id


async def test_the_schedule_is_made_once_with_the_interval(
    temporal_client: Client, settings: Settings
) -> None:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    try:
        assert await order_sync.ensure_schedule(temporal_client, settings, tenant_id=tenant)
        assert not await order_sync.ensure_schedule(temporal_client, settings, tenant_id=tenant)
        described = await temporal_client.get_schedule_handle(order_schedule_id(tenant)).describe()
        [interval] = described.schedule.spec.intervals
        assert interval.every == timedelta(seconds=settings.order_sync_interval_seconds)
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "OrderSyncWorkflow"
        assert described.typed_search_attributes[TENANT_ATTRIBUTE] == tenant
    finally:
        await temporal_client.get_schedule_handle(order_schedule_id(tenant)).delete()


async def test_a_request_while_a_sync_runs_joins_it(settings: Settings) -> None:
    # A namespace no worker serves while this test runs: the first sync stays running.
    temporal_client = await Client.connect(settings.temporal_target, namespace=ISOLATED_NAMESPACE)
    tenant = f"t{uuid.uuid4().hex[:10]}"
    first = await order_sync.sync_now(temporal_client, tenant_id=tenant)
    try:
        second = await order_sync.sync_now(temporal_client, tenant_id=tenant)
        assert (second.workflow_id, second.run_id) == (first.workflow_id, first.run_id)
        await order_sync.order_changed(temporal_client, tenant_id=tenant, order_id="o-1")
        events = temporal_client.get_workflow_handle(f"ord-{tenant}-events")
        history = await events.fetch_history()
        assert any(
            e.workflow_execution_signaled_event_attributes.signal_name == "order_changed"
            for e in history.events
        )
        await events.terminate(reason="test over")
    finally:
        await temporal_client.get_workflow_handle(first.workflow_id).terminate(reason="test over")
