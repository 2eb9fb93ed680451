"""Printify's order events on `POST /v1/webhooks/printify` over real Postgres and
Temporal (issue 16): an event about one of our orders is kept on it once, and tells the
tenant's event sync; an event naming another shop or an unknown order changes nothing,
and a late event never moves an order back."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from core.db import SessionFactory
from core.settings import Settings
from models import repositories
from models.tables import Order, OrderStatus
from tests.api.test_printify_webhooks import post, recorded, signed, webhook_client
from workflows.contract import order_sync_id

__all__ = ["webhook_client"]  # the fixture: no API key, the signature is the proof

PRINTIFY_SHOP = 12345678


def order_event(order_id: str, topic: str, shop_id: int = PRINTIFY_SHOP, **data: Any) -> dict:
    """A Printify order event as documented (PFY-DOC payload examples)."""
    return {
        "id": str(uuid.uuid4()),
        "type": topic,
        "created_at": "2026-12-03 12:00:00+00:00",
        "resource": {"id": order_id, "type": "order", "data": {"shop_id": shop_id, **data}},
    }


def shipment(order_id: str, **changes: Any) -> dict:
    return order_event(
        order_id,
        "order:shipment:created",
        shipped_at="2026-12-03 12:00:00+00:00",
        carrier={
            "code": "usps",
            "tracking_number": "9400111899560000000009",
            "tracking_url": "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400",
        },
        skus=["POD-x-1"],
        **changes,
    )


@pytest.fixture
async def order(
    sessions: SessionFactory, temporal_client: Client, tenant: str
) -> AsyncIterator[Order]:
    """One of the tenant's orders, submitted to Printify."""
    row = Order(
        tenant_id=tenant,
        etsy_shop_id=55501234,
        etsy_receipt_id=secrets.randbelow(10**9) + 1,
        status=OrderStatus.IN_PRODUCTION,
        printify_shop_id=PRINTIFY_SHOP,
        printify_order_id=secrets.token_hex(12),
        items=[],
        address={"name": "Alex Buyer"},
        amounts={"currency": "USD"},
        receipt_updated_at=datetime.now(UTC),
    )
    async with sessions() as session:
        assert await repositories.orders.insert_order(session, tenant_id=tenant, order=row)
        await session.commit()
    yield row
    sync = temporal_client.get_workflow_handle(order_sync_id(tenant, "events"))
    try:
        if (await sync.describe()).status == WorkflowExecutionStatus.RUNNING:
            await sync.terminate(reason="test over")
    except RPCError:
        pass  # never started


async def stored(sessions: SessionFactory, row: Order) -> Order:
    async with sessions() as session:
        return await repositories.orders.get_order(
            session, tenant_id=row.tenant_id, order_id=row.id
        )


async def signalled(temporal: Client, tenant: str) -> list[str]:
    history = await temporal.get_workflow_handle(order_sync_id(tenant, "events")).fetch_history()
    return [
        e.workflow_execution_signaled_event_attributes.input.payloads[0].data.decode()
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]


async def test_a_shipment_event_is_kept_once_and_tells_the_sync(
    webhook_client: Any,
    settings: Settings,
    sessions: SessionFactory,
    temporal_client: Client,
    order: Order,
) -> None:
    assert order.printify_order_id is not None
    payload = shipment(order.printify_order_id)
    body, signature = signed(settings, payload)
    first = await post(webhook_client, body, signature)
    assert first.status_code == 200, first.text
    assert first.json() == {"status": "processed"}
    shipped = await stored(sessions, order)
    assert shipped.status == "shipped"
    assert shipped.tracking is not None
    assert (shipped.tracking["carrier"], shipped.tracking["number"]) == (
        "usps",
        "9400111899560000000009",
    )
    assert shipped.etsy_shipment_at is None  # the sync posts it to Etsy
    assert await signalled(temporal_client, order.tenant_id) == [f'"{order.id}"']
    [event] = await recorded(sessions, payload["id"])
    assert (event.tenant_id, event.topic) == (order.tenant_id, "order:shipment:created")

    again = await post(webhook_client, body, signature)
    assert again.json() == {"status": "duplicate"}
    assert await signalled(temporal_client, order.tenant_id) == [f'"{order.id}"']

    late = order_event(order.printify_order_id, "order:updated", status="in-production")
    body, signature = signed(settings, late)
    assert (await post(webhook_client, body, signature)).json() == {"status": "processed"}
    assert (await stored(sessions, order)).status == "shipped"  # never moved back


@pytest.mark.parametrize("case", ["another shop", "unknown order"])
async def test_an_event_about_no_order_of_ours_changes_nothing(
    case: str,
    webhook_client: Any,
    settings: Settings,
    sessions: SessionFactory,
    order: Order,
) -> None:
    assert order.printify_order_id is not None
    payload = (
        shipment(order.printify_order_id, shop_id=999)
        if case == "another shop"
        else shipment(secrets.token_hex(12))
    )
    body, signature = signed(settings, payload)
    answer = await post(webhook_client, body, signature)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ignored"}
    assert (await stored(sessions, order)).status == "in_production"
    assert await recorded(sessions, payload["id"]) == []
