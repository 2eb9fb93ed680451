"""End to end, orders (issue 16): a listing the platform made is bought on the Etsy
emulator, one sync makes exactly one Printify order for the receipt, and after the
emulated shipment the tracking is on the Etsy receipt, once. A receipt for a listing that
is not ours is ignored; a bad address and a variant out of stock wait on hold with their
reason, and a retry after the fix submits exactly one order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text as sql_text
from temporalio.client import Client

from core.db import SessionFactory
from core.http_server import ThreadedServer
from domain.niches import niche_key, normalise_keyword
from domain.skus import sku_variant
from models import repositories
from models.orders import OrderSyncResult
from models.tables import Listing, TrendSignal, utcnow
from sandbox.app import EmulatorConfig
from tests.e2e.helpers import etsy_headers, wait_for_end
from tests.integrations.test_etsy_client import CONFIG, REDIRECT, oauth_code
from tests.sandbox.test_etsy_emulator import PatientTransport
from tests.sandbox.test_etsy_receipts import active_listing
from tests.stack import WorkerSet
from workflows.order_sync import OrderSyncWorkflow

START = "/v1/workflows/design-to-listing"


async def make_listing(api: httpx.AsyncClient, keyword: str) -> dict[str, Any]:
    started = await api.post(
        START, json={"keyword": keyword}, headers={"Idempotency-Key": keyword.replace(" ", "-")}
    )
    assert started.status_code == 202, started.text
    view = await wait_for_end(api, started.json()["workflow_id"])
    assert view["status"] == "completed", view
    result: dict[str, Any] = view["result"]
    return result


def buy(emulator: ThreadedServer, listing_id: int, **purchase: Any) -> dict[str, Any]:
    answer = httpx.post(
        f"{emulator.url}/__admin/etsy/purchases", json={"listing_id": listing_id, **purchase}
    )
    assert answer.status_code == 201, answer.text
    receipt: dict[str, Any] = answer.json()
    return receipt


async def sync(api: httpx.AsyncClient, temporal: Client) -> OrderSyncResult:
    """One order sync, to its end; its result."""
    started = await api.post("/v1/orders/sync")
    assert started.status_code == 202, started.text
    body = started.json()
    handle = temporal.get_workflow_handle_for(
        OrderSyncWorkflow.run, body["workflow_id"], run_id=body["run_id"]
    )
    return await handle.result()


async def order_of(api: httpx.AsyncClient, receipt_id: int) -> dict[str, Any] | None:
    page = (await api.get("/v1/orders", params={"limit": 100})).json()
    return next((o for o in page["data"] if o["etsy_receipt_id"] == receipt_id), None)


def printify_orders(emulator: ThreadedServer, receipt_id: int) -> list[dict[str, Any]]:
    sent = httpx.get(f"{emulator.url}/__admin/printify/orders").json()
    return [o for o in sent if o["sent"].get("external_id") == str(receipt_id)]


def etsy_receipt(
    emulator: ThreadedServer, config: EmulatorConfig, receipt_id: int
) -> dict[str, Any]:
    path = f"/etsy/v3/application/shops/{config.etsy_shop_id}/receipts/{receipt_id}"
    with httpx.Client(transport=PatientTransport()) as etsy:  # the app's shared Etsy rate
        answer = etsy.get(f"{emulator.url}{path}", headers=etsy_headers(config))
    assert answer.status_code == 200, answer.text
    receipt: dict[str, Any] = answer.json()
    return receipt


def set_stock(emulator: ThreadedServer, variant_id: int, in_stock: bool) -> None:
    answer = httpx.post(
        f"{emulator.url}/__admin/printify/stock",
        json={"variant_id": variant_id, "in_stock": in_stock},
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture
def restock(emulator: ThreadedServer) -> Iterator[list[int]]:
    """Variants a test runs out of stock, back in stock after it."""
    variants: list[int] = []
    yield variants
    for variant in variants:
        set_stock(emulator, variant, True)


async def test_a_purchase_becomes_one_printify_order_and_its_tracking_reaches_etsy_once(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    temporal_client: Client,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    listing = await make_listing(api, "order otter kayaker")
    receipt = buy(emulator, listing["etsy_listing_id"], quantity=2)
    receipt_id = receipt["receipt_id"]
    [transaction] = receipt["transactions"]

    first = await sync(api, temporal_client)
    assert first.read.recorded >= 1 and not first.failed

    [sent] = printify_orders(emulator, receipt_id)
    body = sent["sent"]
    assert body["external_id"] == str(receipt_id)
    [item] = body["line_items"]
    assert item["product_id"] == listing["printify_product_id"]
    assert item["variant_id"] == sku_variant(transaction["sku"], listing["workflow_id"])
    assert item["quantity"] == 2
    address = body["address_to"]
    assert (address["first_name"], address["last_name"]) == ("Alex", "Buyer")
    assert (address["address1"], address["city"], address["region"]) == (
        receipt["first_line"],
        receipt["city"],
        receipt["state"],
    )
    assert (address["zip"], address["country"]) == (receipt["zip"], "US")

    order = await order_of(api, receipt_id)
    assert order is not None
    assert order["status"] in ("submitted", "in_production")
    assert order["printify_order_id"] == sent["id"]
    assert order["amounts"]["subtotal_cents"] == 2 * order["items"][0]["price_cents"] > 0

    # Printify makes and ships it after a few seconds; the syncs follow it (polling here:
    # no API listens for Printify's events in this test) and post the tracking once.
    deadline = time.monotonic() + 60
    while order["status"] != "shipped" or order["tracking"]["posted_to_etsy_at"] is None:
        assert time.monotonic() < deadline, order
        await asyncio.sleep(1.0)
        await sync(api, temporal_client)
        order = await order_of(api, receipt_id)
        assert order is not None
    tracking = order["tracking"]
    assert tracking["carrier"] == "usps" and tracking["number"]

    await sync(api, temporal_client)  # nothing more happens to a shipped order
    shipped = etsy_receipt(emulator, emulator_config, receipt_id)
    assert shipped["is_shipped"] is True
    assert [s["tracking_code"] for s in shipped["shipments"]] == [tracking["number"]]
    assert len(printify_orders(emulator, receipt_id)) == 1
    assert (await api.get(f"/v1/orders/{order['id']}")).json()["status"] == "shipped"


async def test_foreign_items_are_ignored_and_held_orders_are_retried_once(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    temporal_client: Client,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    restock: list[int],
) -> None:
    # The seller's own listing in the same shop: not one we made.
    with httpx.Client(
        base_url=f"{emulator.url}/etsy/v3",
        headers=etsy_headers(emulator_config),
        transport=PatientTransport(),  # other tests share the app's Etsy rate
    ) as etsy:
        foreign = active_listing(etsy)
    foreign_receipt = buy(emulator, foreign["listing_id"])["receipt_id"]

    listing = await make_listing(api, "order heron gardener")
    no_state = {
        "name": "Sam Nowhere",
        "first_line": "1 Elm Street",
        "city": "Portland",
        "zip": "97201",
        "country_iso": "US",
    }
    bad_address = buy(emulator, listing["etsy_listing_id"], address=no_state)["receipt_id"]
    sold_out_receipt = buy(emulator, listing["etsy_listing_id"])
    sold_out = sku_variant(sold_out_receipt["transactions"][0]["sku"], listing["workflow_id"])
    assert sold_out is not None
    restock.append(sold_out)
    set_stock(emulator, sold_out, False)

    await sync(api, temporal_client)
    assert await order_of(api, foreign_receipt) is None
    held_address = await order_of(api, bad_address)
    assert held_address is not None
    assert held_address["status"] == "on_hold"
    assert held_address["hold"]["reason"] == "ADDRESS_INVALID"
    assert "state" in held_address["hold"]["message"]
    held_stock = await order_of(api, sold_out_receipt["receipt_id"])
    assert held_stock is not None
    assert held_stock["status"] == "on_hold"
    assert held_stock["hold"]["reason"] == "VARIANT_UNAVAILABLE"
    assert printify_orders(emulator, bad_address) == []
    assert printify_orders(emulator, sold_out_receipt["receipt_id"]) == []

    # A retry without the fix is held again for the same reason; with it, one order.
    retried = await api.post(f"/v1/orders/{held_address['id']}/retry", json={})
    assert retried.status_code == 200, retried.text
    await sync(api, temporal_client)
    again = await order_of(api, bad_address)
    assert again is not None and again["hold"]["reason"] == "ADDRESS_INVALID"

    fixed = await api.post(
        f"/v1/orders/{held_address['id']}/retry", json={"address": {"state": "OR"}}
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["status"] == "received"
    set_stock(emulator, sold_out, True)
    assert (await api.post(f"/v1/orders/{held_stock['id']}/retry")).status_code == 200
    await sync(api, temporal_client)
    await sync(api, temporal_client)
    for receipt_id in (bad_address, sold_out_receipt["receipt_id"]):
        order = await order_of(api, receipt_id)
        assert order is not None and order["status"] in ("submitted", "in_production", "shipped")
        assert [o["id"] for o in printify_orders(emulator, receipt_id)] == [
            order["printify_order_id"]
        ]
    [sent] = printify_orders(emulator, bad_address)
    assert sent["sent"]["address_to"]["region"] == "OR"

    # An order that is not on hold cannot be retried, and one in production not cancelled.
    refused = await api.post(f"/v1/orders/{held_stock['id']}/retry")
    assert refused.status_code == 409
    assert refused.json()["code"] == "ORDER_STATE_CONFLICT"


async def test_a_connection_without_the_order_scopes_is_told_to_reconnect(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    temporal_client: Client,
    emulator: ThreadedServer,
) -> None:
    """A shop connected before the platform asked for `transactions_r`/`_w`: its view
    says to reconnect, and a sync names the reason instead of failing on and on."""
    base = f"{emulator.url}/etsy/v3"
    code, verifier = oauth_code(base)  # a consent to `listings_w` only
    form = {
        "grant_type": "authorization_code",
        "client_id": CONFIG.etsy_keystring,
        "redirect_uri": REDIRECT,
        "code": code,
        "code_verifier": verifier,
    }
    tokens = httpx.post(f"{base}/public/oauth/token", data=form).json()
    put = await api.put(
        "/v1/integrations/etsy",
        json={"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]},
    )
    assert put.status_code == 200, put.text
    view = put.json()
    assert view["scopes"] == ["listings_w"]
    assert {"transactions_r", "transactions_w"} <= set(view["missing_scopes"])
    assert view["reconnect_required"] is True

    result = await sync(api, temporal_client)
    assert result.read.skipped is not None
    assert result.read.skipped.startswith("ETSY_RECONNECT_REQUIRED")
    [etsy] = [
        i for i in (await api.get("/v1/integrations")).json()["data"] if i["vendor"] == "etsy"
    ]
    assert etsy["reconnect_required"] is True

    full = await api.put("/v1/integrations/etsy", json={"access_token": CONFIG.etsy_access_token})
    assert full.json()["reconnect_required"] is False and full.json()["missing_scopes"] == []


async def trend_signal(sessions: SessionFactory, tenant: str, keyword: str) -> str:
    """A fresh trend signal of the tenant for `keyword`'s niche, as a scrape stores it."""
    signal = TrendSignal(
        tenant_id=tenant,
        keyword=keyword,
        normalized_keyword=normalise_keyword(keyword),
        niche_key=niche_key(keyword),
        metrics={
            "observations": 1,
            "by_source": {"google_trends": {"at": utcnow().isoformat(), "n": 1, "traffic": 5000}},
        },
        sources={"google_trends": {"count": 1}},
        observations=1,
        score=40.0,
        embedding=[1.0] + [0.0] * 383,
        embedding_model="lexical:hashed-ngrams-v1",
    )
    signal_id = str(signal.id)
    async with sessions() as session:
        session.add(signal)
        await session.commit()
        await repositories.trend_updates.rescore(session, tenant_id=tenant, now=utcnow())
        await session.commit()
    return signal_id


async def test_sales_feed_the_listings_the_trend_scores_and_the_campaigns(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    temporal_client: Client,
    emulator: ThreadedServer,
    sessions: SessionFactory,
    tenant: str,
) -> None:
    sold_keyword, unsold_keyword = "sales walrus baker", "sales puffin welder"
    sold_signal = await trend_signal(sessions, tenant, sold_keyword)
    unsold_signal = await trend_signal(sessions, tenant, unsold_keyword)
    sold = await make_listing(api, sold_keyword)
    unsold = await make_listing(api, unsold_keyword)
    # The unsold listing has been up for days: it had its chance.
    async with sessions() as session:
        await session.execute(
            sql_text("UPDATE listings SET created_at = now() - interval '5 days' WHERE id = :id"),
            {"id": (await listing_row(session, tenant, unsold["etsy_listing_id"])).id},
        )
        await session.commit()
    for listing, views, favorites in ((sold, 12, 3), (unsold, 7, 1)):
        looked = httpx.post(
            f"{emulator.url}/__admin/etsy/visits",
            json={"listing_id": listing["etsy_listing_id"], "views": views, "favorites": favorites},
        )
        assert looked.status_code == 200, looked.text
    buy(emulator, sold["etsy_listing_id"], quantity=2)

    result = await sync(api, temporal_client)
    assert result.stats is not None and result.stats.listings == 2, result.stats

    listings = {
        row["etsy_listing_id"]: row for row in (await api.get("/v1/listings")).json()["data"]
    }
    up, down = listings[sold["etsy_listing_id"]], listings[unsold["etsy_listing_id"]]
    assert (up["views"], up["favorites"], up["orders"], up["units"]) == (
        13,
        3,
        1,
        2,
    )  # +1: the buyer
    assert (down["views"], down["favorites"], down["orders"], down["revenue_cents"]) == (7, 1, 0, 0)
    [order] = (await api.get("/v1/orders")).json()["data"]
    amounts = order["amounts"]
    assert (
        up["revenue_cents"]
        == amounts["revenue_cents"]
        == amounts["subtotal_cents"] + amounts["shipping_cents"]
    )
    assert amounts["margin_cents"] == (
        amounts["revenue_cents"]
        - amounts["printify_cost_cents"]
        - amounts["printify_shipping_cents"]
        - amounts["etsy_fees_cents"]
    )
    assert up["margin_cents"] == amounts["margin_cents"] - up["model_cost_cents"]

    rising = (await api.get(f"/v1/trends/{sold_signal}")).json()
    sinking = (await api.get(f"/v1/trends/{unsold_signal}")).json()
    assert rising["components"]["performance"] > 0 > sinking["components"]["performance"]
    assert rising["score"] > sinking["score"]

    campaign = await api.post("/v1/campaigns", json={"top_k": 5, "concurrency": 1})
    assert campaign.status_code == 202, campaign.text
    view = await wait_for_campaign(api, campaign.json()["id"])
    assert view["status"] == "completed", view
    outcome = next(o for o in view["outcomes"] if o["signal_id"] == unsold_signal)
    assert outcome["status"] == "skipped"
    assert outcome["reason"].startswith("POOR_SALES: the niche's 1 listing(s) sold 0 order(s)")


async def listing_row(session: Any, tenant: str, etsy_listing_id: int) -> Listing:
    found = await repositories.orders.listings_by_etsy_id(
        session, tenant_id=tenant, etsy_listing_ids=[etsy_listing_id]
    )
    return found[etsy_listing_id]


async def wait_for_campaign(api: httpx.AsyncClient, campaign_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while (view := (await api.get(f"/v1/campaigns/{campaign_id}")).json())["status"] not in (
        "completed",
        "failed",
    ):
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.5)
    return view


async def test_a_campaigns_money_is_what_its_listings_sold_less_what_its_runs_cost(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    temporal_client: Client,
    emulator: ThreadedServer,
    sessions: SessionFactory,
    tenant: str,
) -> None:
    signal_id = await trend_signal(sessions, tenant, "campaign narwhal gardener")
    started = await api.post("/v1/campaigns", json={"top_k": 1, "concurrency": 1})
    assert started.status_code == 202, started.text
    view = await wait_for_campaign(api, started.json()["id"])
    [outcome] = [o for o in view["outcomes"] if o["signal_id"] == signal_id]
    assert outcome["status"] == "completed", view
    assert view["money"]["orders"] == 0 and view["money"]["revenue_cents"] == 0

    buy(emulator, outcome["etsy_listing_id"], quantity=3)
    await sync(api, temporal_client)
    money = (await api.get(f"/v1/campaigns/{view['id']}")).json()["money"]
    [order] = (await api.get("/v1/orders")).json()["data"]
    assert (money["orders"], money["units"]) == (1, 3)
    assert money["revenue_cents"] == order["amounts"]["revenue_cents"] > 0
    assert money["margin_cents"] == order["amounts"]["margin_cents"] - money["model_cost_cents"]
