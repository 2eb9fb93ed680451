"""The order routes over real Postgres (issue 16): the setting, a page by status, and what
a seller may do to an order in each state: retry one on hold (with a corrected address),
cancel one not yet at Printify, and nothing while a sync holds it."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from core.db import SessionFactory
from models import repositories
from models.tables import Order, OrderStatus

AMOUNTS = {
    "currency": "USD",
    "subtotal_cents": 2499,
    "shipping_cents": 499,
    "tax_cents": 0,
    "discount_cents": 0,
    "total_cents": 2998,
}
NO_STATE = {
    "name": "Sam Nowhere",
    "first_line": "1 Elm Street",
    "city": "Portland",
    "zip": "97201",
    "country_iso": "US",
}


async def an_order(sessions: SessionFactory, tenant: str, status: str, **fields: Any) -> str:
    row = Order(
        tenant_id=tenant,
        etsy_shop_id=55501234,
        etsy_receipt_id=secrets.randbelow(10**9) + 1,
        status=status,
        items=[],
        address=dict(NO_STATE),
        amounts=dict(AMOUNTS),
        receipt_updated_at=datetime.now(UTC),
        **fields,
    )
    async with sessions() as session:
        assert await repositories.orders.insert_order(session, tenant_id=tenant, order=row)
        await session.commit()
    return str(row.id)


async def test_the_production_setting_is_read_and_changed(api: httpx.AsyncClient) -> None:
    first = (await api.get("/v1/orders/settings")).json()
    assert first["auto_production"] is True and first["last_synced_at"] is None
    assert first["sync_interval_seconds"] == 600
    changed = await api.put("/v1/orders/settings", json={"auto_production": False})
    assert changed.status_code == 200, changed.text
    assert (await api.get("/v1/orders/settings")).json()["auto_production"] is False
    refused = await api.put("/v1/orders/settings", json={"auto_production": "no"})
    assert refused.status_code == 422


async def test_orders_are_paged_newest_first_and_filtered_by_status(
    api: httpx.AsyncClient, sessions: SessionFactory, tenant: str
) -> None:
    held = await an_order(sessions, tenant, OrderStatus.ON_HOLD, hold_reason="ADDRESS_INVALID")
    made = await an_order(sessions, tenant, OrderStatus.SHIPPED)
    page = (await api.get("/v1/orders")).json()
    assert page["count"] == 2 and [o["id"] for o in page["data"]] == [made, held]
    only = (await api.get("/v1/orders", params={"status": "on_hold"})).json()
    assert [o["id"] for o in only["data"]] == [held] and only["count"] == 1
    assert only["data"][0]["hold"]["reason"] == "ADDRESS_INVALID"
    assert (await api.get("/v1/orders", params={"status": "lost"})).status_code == 422
    missing = await api.get(f"/v1/orders/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["code"] == "ORDER_NOT_FOUND"


async def test_a_held_order_is_retried_with_its_address_corrected(
    api: httpx.AsyncClient, sessions: SessionFactory, tenant: str
) -> None:
    order_id = await an_order(
        sessions, tenant, OrderStatus.ON_HOLD, hold_reason="ADDRESS_INVALID", hold_message="x"
    )
    still_bad = await api.post(f"/v1/orders/{order_id}/retry", json={"address": {"zip": "9"}})
    assert still_bad.status_code == 422, still_bad.text
    assert still_bad.json()["code"] == "ORDER_ADDRESS_INVALID"
    assert "state" in still_bad.json()["message"]
    unknown = await api.post(f"/v1/orders/{order_id}/retry", json={"address": {"planet": "X"}})
    assert unknown.status_code == 422

    fixed = await api.post(f"/v1/orders/{order_id}/retry", json={"address": {"state": "OR"}})
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert (body["status"], body["hold"], body["address"]["state"]) == ("received", None, "OR")
    again = await api.post(f"/v1/orders/{order_id}/retry")
    assert again.status_code == 409 and again.json()["code"] == "ORDER_STATE_CONFLICT"


async def test_a_shipped_order_whose_tracking_etsy_refused_is_posted_again(
    api: httpx.AsyncClient, sessions: SessionFactory, tenant: str
) -> None:
    order_id = await an_order(
        sessions,
        tenant,
        OrderStatus.SHIPPED,
        hold_reason="ETSY_RECONNECT_REQUIRED",
        hold_message="connect the shop again",
    )
    retried = await api.post(f"/v1/orders/{order_id}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["hold"]) == ("shipped", None)


@pytest.mark.parametrize(
    ("status", "answer", "after"),
    [
        (OrderStatus.ON_HOLD, 200, "cancelled"),
        (OrderStatus.RECEIVED, 200, "cancelled"),
        (OrderStatus.IN_PRODUCTION, 409, "in_production"),
        (OrderStatus.SHIPPED, 409, "shipped"),
    ],
)
async def test_only_an_order_not_yet_in_production_is_cancelled(
    status: str,
    answer: int,
    after: str,
    api: httpx.AsyncClient,
    sessions: SessionFactory,
    tenant: str,
) -> None:
    order_id = await an_order(sessions, tenant, status)
    cancelled = await api.post(f"/v1/orders/{order_id}/cancel")
    assert cancelled.status_code == answer, cancelled.text
    assert (await api.get(f"/v1/orders/{order_id}")).json()["status"] == after


async def test_an_order_a_sync_holds_is_left_alone(
    api: httpx.AsyncClient, sessions: SessionFactory, tenant: str
) -> None:
    order_id = await an_order(
        sessions,
        tenant,
        OrderStatus.ON_HOLD,
        lease_owner="ord-x-now/3",
        lease_until=datetime.now(UTC) + timedelta(minutes=2),
    )
    for action in ("retry", "cancel"):
        busy = await api.post(f"/v1/orders/{order_id}/{action}")
        assert busy.status_code == 409 and busy.json()["code"] == "ORDER_BUSY", busy.text
    async with sessions() as session:  # another owner may not take the lease either
        taken = await repositories.orders.take_lease(
            session, tenant_id=tenant, order_id=uuid.UUID(order_id), owner="other", seconds=60
        )
        again = await repositories.orders.take_lease(
            session, tenant_id=tenant, order_id=uuid.UUID(order_id), owner="ord-x-now/3", seconds=60
        )
    assert taken is None and again is not None
