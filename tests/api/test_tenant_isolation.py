"""A second tenant walks every `/v1` route with its own key and finds nothing of the first.

The walk is driven by the app's own route list: a new route without an entry in
`WALK` fails `test_the_walk_covers_every_route`, so it joins the walk when it is added.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from core.db import SessionFactory
from core.settings import Settings
from models import repositories
from models.tables import Campaign, Design, Listing, Order, OrderStatus, TrendSignal, utcnow
from sandbox.app import EmulatorConfig
from tests.accounts import Account, create_account
from tests.api.routes import Route, v1_routes
from tests.conftest import api_client
from tests.stack import WorkerSet


@dataclass
class Victim:
    """Tenant A and the ids of everything it owns."""

    account: Account
    workflow_id: str
    design_id: str
    listing_id: str
    member_id: str
    key_id: str
    owner_email: str
    template_id: str
    brief_id: str
    schedule_id: str = ""
    signal_id: str = ""
    campaign_id: str = ""
    name_id: str = ""
    order_id: str = ""
    ids: set[str] = field(default_factory=set)


async def _seed(app: FastAPI, sessions: SessionFactory, account: Account) -> Victim:
    async with api_client(app, account.headers) as a:
        started = await a.post(
            "/v1/workflows/design-to-listing",
            json={"keyword": "isolated cat mom", "require_approval": True},
            headers={"Idempotency-Key": "victim-key"},
        )
        assert started.status_code == 202, started.text
        workflow_id = started.json()["workflow_id"]
        keys = (await a.get("/v1/api-keys")).json()["data"]
        members = (await a.get("/v1/members")).json()["data"]
        template = await a.post("/v1/templates", json={**TEMPLATE, "is_default": True})
        assert template.status_code == 201, template.text
        schedule = await a.post("/v1/schedules", json=SCHEDULE)
        assert schedule.status_code == 201, schedule.text
        name = await a.post("/v1/protected-names", json={"name": "Isolated Brand Co"})
        assert name.status_code == 201, name.text
    tenant = account.tenant_id
    async with sessions() as session:
        brief = await repositories.briefs.save_brief(
            session,
            tenant_id=tenant,
            workflow_id=f"{workflow_id}-seed",
            keyword="isolated cat mom",
            data={"title": "Isolated Cat Mom Shirt"},
        )
        design = await repositories.designs.save_design(
            session,
            tenant_id=tenant,
            design=Design(
                tenant_id=tenant,
                workflow_id=f"{workflow_id}-seed",
                brief_id=brief.id,
                storage_key=f"{tenant}/designs/x.png",
                preview_key=f"{tenant}/designs/x.jpg",
                sha256="0" * 64,
                width=4500,
                height=5400,
                dpi=300,
                size_bytes=1,
            ),
        )
        listing = await repositories.listings.upsert_listing(
            session,
            tenant_id=tenant,
            listing=Listing(
                tenant_id=tenant,
                workflow_id=f"{workflow_id}-seed",
                design_id=design.id,
                title="Isolated Cat Mom Shirt",
                printify_shop_id=1,
                printify_product_id="p-isolated",
                printify_image_id="i-isolated",
                etsy_shop_id=2,
                etsy_listing_id=int(uuid.uuid4().int % 10**12),
                url="https://etsy.test/listing/isolated",
                state="active",
            ),
        )
        signal = TrendSignal(
            tenant_id=tenant,
            keyword="isolated cat mom",
            normalized_keyword="isolated cat mom",
            niche_key="cat isolated mom",
            embedding=[1.0] + [0.0] * 383,
            embedding_model="lexical:hashed-ngrams-v1",
        )
        session.add(signal)
        campaign = Campaign(
            id=f"cmp-{tenant}-victim",
            tenant_id=tenant,
            request_key="victim-campaign",
            request_hash="0" * 64,
            options={},
            status="completed",
            outcomes=[],
        )
        session.add(campaign)
        # On hold: a retry or cancel that reached it would change it.
        order = Order(
            tenant_id=tenant,
            etsy_shop_id=2,
            etsy_receipt_id=int(uuid.uuid4().int % 10**12),
            status=OrderStatus.ON_HOLD,
            hold_reason="ADDRESS_INVALID",
            hold_message="the buyer's address has no usable state",
            items=[],
            address={"name": "Isolated Buyer"},
            amounts={
                "currency": "USD",
                **dict.fromkeys(
                    ("subtotal_cents", "shipping_cents", "tax_cents", "discount_cents"), 0
                ),
                "total_cents": 0,
            },
            receipt_updated_at=utcnow(),
        )
        session.add(order)
        await session.commit()
    victim = Victim(
        account=account,
        workflow_id=workflow_id,
        design_id=str(design.id),
        listing_id=str(listing.id),
        member_id=members[0]["id"],
        key_id=keys[0]["id"],
        owner_email=members[0]["email"],
        template_id=template.json()["id"],
        brief_id=str(brief.id),
        schedule_id=schedule.json()["id"],
        signal_id=str(signal.id),
        campaign_id=campaign.id,
        name_id=name.json()["id"],
        order_id=str(order.id),
    )
    victim.ids = {
        victim.order_id,
        victim.name_id,
        victim.template_id,
        victim.brief_id,
        victim.schedule_id,
        victim.signal_id,
        victim.campaign_id,
        workflow_id,
        victim.design_id,
        victim.listing_id,
        victim.member_id,
        victim.key_id,
        *account.integrations.values(),
        keys[0]["prefix"],
    }
    return victim


Check = Callable[[httpx.AsyncClient, Victim], Awaitable[None]]
TEMPLATE = {
    "name": "Victim's tee",
    "blueprint_id": 6,
    "print_provider_id": 99,
    "variant_ids": [12100, 12101],
    "pricing": {"mode": "margin", "percent": 40},
}
# Paused: it never fires during the tests.
SCHEDULE = {"name": "victim-scrape", "interval_minutes": 60, "paused": True, "note": "A's"}


def not_found(path: str, method: str = "GET", body: Any = None, code: str = "NOT_FOUND") -> Check:
    """Addressing one of A's records by id answers 404 with the error shape."""

    async def check(b: httpx.AsyncClient, victim: Victim) -> None:
        url = path.format(**vars(victim), **victim.account.integrations)
        response = await b.request(method, url, json=body)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["code"] == code

    return check


def reveals_nothing(path: str, method: str = "GET", body: Any = None, ok: int = 200) -> Check:
    """A's ids appear nowhere in what B gets back (lists, or B's own new records)."""

    async def check(b: httpx.AsyncClient, victim: Victim) -> None:
        payload = body(victim) if callable(body) else body
        response = await b.request(
            method, path, json=payload, headers={"Idempotency-Key": "victim-key"}
        )
        assert response.status_code == ok, (method, path, response.text)
        leaked = [value for value in victim.ids if value in response.text]
        assert leaked == [], (method, path, leaked)

    return check


def refused_callback() -> Check:
    """The public OAuth callback with a state B never got: nothing connects or leaks."""

    async def check(b: httpx.AsyncClient, victim: Victim) -> None:
        response = await b.get(
            "/v1/integrations/etsy/callback", params={"state": "not-yours", "code": "x"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "OAUTH_STATE_INVALID"
        assert [value for value in victim.ids if value in response.text] == []

    return check


def refused_file_link() -> Check:
    """A stored file without a link this service signed: nothing is served or named."""

    async def check(b: httpx.AsyncClient, victim: Victim) -> None:
        params: dict[str, str | int] = {"expires": 2**40, "signature": "0" * 64}
        response = await b.get(f"/v1/files/designs/{victim.design_id}.png", params=params)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "FILE_LINK_INVALID"
        assert [value for value in victim.ids if value in response.text] == []

    return check


def refused_webhook() -> Check:
    """The public Printify webhook without Printify's signature: B cannot tell A's run
    anything, whatever product or tenant the body names."""

    async def check(b: httpx.AsyncClient, victim: Victim) -> None:
        body = {
            "id": str(uuid.uuid4()),
            "type": "product:publish:started",
            "resource": {"id": "p-isolated", "type": "product", "data": {"action": "create"}},
            "tenant_id": victim.account.tenant_id,
        }
        response = await b.post(
            "/v1/webhooks/printify", json=body, headers={"X-Pfy-Signature": "sha256=" + "0" * 64}
        )
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "WEBHOOK_SIGNATURE_INVALID"
        assert [value for value in victim.ids if value in response.text] == []

    return check


WALK: dict[tuple[str, str], Check] = {
    ("GET", "/v1/integrations/etsy/connect"): reveals_nothing("/v1/integrations/etsy/connect"),
    ("GET", "/v1/integrations/etsy/callback"): refused_callback(),
    ("POST", "/v1/webhooks/printify"): refused_webhook(),
    ("GET", "/v1/files/{key}"): refused_file_link(),
    ("GET", "/v1/me"): reveals_nothing("/v1/me"),
    ("GET", "/v1/workflows"): reveals_nothing("/v1/workflows"),
    ("POST", "/v1/workflows/design-to-listing"): reveals_nothing(
        "/v1/workflows/design-to-listing",
        "POST",
        {"keyword": "isolated cat mom", "require_approval": True},
        ok=202,
    ),
    ("GET", "/v1/workflows/{workflow_id}"): not_found("/v1/workflows/{workflow_id}"),
    ("POST", "/v1/workflows/{workflow_id}/approve"): not_found(
        "/v1/workflows/{workflow_id}/approve", "POST"
    ),
    ("POST", "/v1/workflows/{workflow_id}/reject"): not_found(
        "/v1/workflows/{workflow_id}/reject", "POST", {"reason": "mine now"}
    ),
    ("POST", "/v1/workflows/{workflow_id}/cancel"): not_found(
        "/v1/workflows/{workflow_id}/cancel", "POST"
    ),
    ("GET", "/v1/listings"): reveals_nothing("/v1/listings"),
    ("GET", "/v1/designs/{design_id}"): not_found("/v1/designs/{design_id}"),
    ("GET", "/v1/designs/{design_id}/file"): not_found("/v1/designs/{design_id}/file"),
    # The catalog is Printify's, the same for everyone: nothing of A's is in it.
    ("GET", "/v1/catalog/blueprints"): reveals_nothing("/v1/catalog/blueprints"),
    ("GET", "/v1/catalog/blueprints/{blueprint_id}/providers"): reveals_nothing(
        "/v1/catalog/blueprints/6/providers"
    ),
    ("GET", "/v1/catalog/blueprints/{blueprint_id}/providers/{provider_id}/variants"): (
        reveals_nothing("/v1/catalog/blueprints/6/providers/99/variants")
    ),
    ("GET", "/v1/members"): reveals_nothing("/v1/members"),
    ("POST", "/v1/members"): reveals_nothing(
        "/v1/members", "POST", lambda v: {"email": f"b-{uuid.uuid4().hex[:6]}@x.test"}, ok=201
    ),
    ("PATCH", "/v1/members/{member_id}"): not_found(
        "/v1/members/{member_id}", "PATCH", {"role": "viewer"}
    ),
    ("DELETE", "/v1/members/{member_id}"): not_found("/v1/members/{member_id}", "DELETE"),
    ("GET", "/v1/api-keys"): reveals_nothing("/v1/api-keys"),
    ("POST", "/v1/api-keys"): not_found(
        "/v1/api-keys", "POST", None
    ),  # replaced below: needs A's member id in the body
    ("DELETE", "/v1/api-keys/{key_id}"): not_found("/v1/api-keys/{key_id}", "DELETE"),
    ("GET", "/v1/integrations"): reveals_nothing("/v1/integrations"),
    ("POST", "/v1/integrations/etsy/shop-setup/refresh"): reveals_nothing(
        "/v1/integrations/etsy/shop-setup/refresh", "POST"
    ),
    ("PUT", "/v1/integrations/etsy/listing-defaults"): reveals_nothing(
        "/v1/integrations/etsy/listing-defaults", "PUT", {"shipping_profile_id": 7001}
    ),
    ("PUT", "/v1/integrations/{vendor}"): reveals_nothing(
        # B's own (valid) token and shop: B's later starts still read its shops.
        "/v1/integrations/printify",
        "PUT",
        {
            "access_token": EmulatorConfig().printify_token,
            "shop_id": EmulatorConfig().printify_shop_id,
        },
    ),
    ("DELETE", "/v1/integrations/{integration_id}"): not_found(
        "/v1/integrations/{printify}", "DELETE"
    ),
    ("GET", "/v1/billing/usage"): reveals_nothing("/v1/billing/usage"),
    ("POST", "/v1/briefs"): reveals_nothing(
        "/v1/briefs", "POST", {"keyword": "isolated cat mom"}, ok=202
    ),
    ("GET", "/v1/briefs"): reveals_nothing("/v1/briefs"),
    ("GET", "/v1/briefs/{brief_id}"): not_found("/v1/briefs/{brief_id}"),
    ("POST", "/v1/briefs/{brief_id}/designs"): not_found(
        "/v1/briefs/{brief_id}/designs", "POST", {}
    ),
    ("POST", "/v1/designs/{design_id}/listings"): not_found(
        "/v1/designs/{design_id}/listings", "POST", {}
    ),
    ("GET", "/v1/templates"): reveals_nothing("/v1/templates"),
    ("POST", "/v1/templates"): reveals_nothing("/v1/templates", "POST", TEMPLATE, ok=201),
    ("GET", "/v1/templates/{template_id}"): not_found("/v1/templates/{template_id}"),
    ("PUT", "/v1/templates/{template_id}"): not_found(
        "/v1/templates/{template_id}", "PUT", TEMPLATE
    ),
    ("DELETE", "/v1/templates/{template_id}"): not_found("/v1/templates/{template_id}", "DELETE"),
    ("GET", "/v1/protected-names"): reveals_nothing("/v1/protected-names"),
    ("POST", "/v1/protected-names"): reveals_nothing(
        "/v1/protected-names", "POST", {"name": "Isolated Brand Co"}, ok=201
    ),
    ("DELETE", "/v1/protected-names/{name_id}"): not_found(
        "/v1/protected-names/{name_id}", "DELETE"
    ),
    ("GET", "/v1/schedules"): reveals_nothing("/v1/schedules"),
    # B may use the same name: schedule ids are per tenant.
    ("POST", "/v1/schedules"): reveals_nothing("/v1/schedules", "POST", SCHEDULE, ok=201),
    ("GET", "/v1/schedules/{schedule_id}"): not_found(
        "/v1/schedules/{schedule_id}", code="SCHEDULE_NOT_FOUND"
    ),
    ("PATCH", "/v1/schedules/{schedule_id}"): not_found(
        "/v1/schedules/{schedule_id}",
        "PATCH",
        {"interval_minutes": 15, "note": "mine now"},
        code="SCHEDULE_NOT_FOUND",
    ),
    ("DELETE", "/v1/schedules/{schedule_id}"): not_found(
        "/v1/schedules/{schedule_id}", "DELETE", code="SCHEDULE_NOT_FOUND"
    ),
    ("POST", "/v1/schedules/{schedule_id}/pause"): not_found(
        "/v1/schedules/{schedule_id}/pause", "POST", {"note": "mine"}, code="SCHEDULE_NOT_FOUND"
    ),
    ("POST", "/v1/schedules/{schedule_id}/unpause"): not_found(
        "/v1/schedules/{schedule_id}/unpause", "POST", code="SCHEDULE_NOT_FOUND"
    ),
    ("POST", "/v1/schedules/{schedule_id}/trigger"): not_found(
        "/v1/schedules/{schedule_id}/trigger", "POST", code="SCHEDULE_NOT_FOUND"
    ),
    ("GET", "/v1/trends"): reveals_nothing("/v1/trends"),
    ("GET", "/v1/trends/{signal_id}"): not_found("/v1/trends/{signal_id}"),
    ("GET", "/v1/trends/{signal_id}/similar"): not_found("/v1/trends/{signal_id}/similar"),
    # B's own scrape and campaign: they see B's signals only.
    # A's run id as a scrape id: another tenant's workflow, and not a scrape.
    ("GET", "/v1/trends/scrapes/{workflow_id}"): not_found(
        "/v1/trends/scrapes/{workflow_id}", code="SCRAPE_NOT_FOUND"
    ),
    ("POST", "/v1/trends/scrape"): reveals_nothing(
        "/v1/trends/scrape", "POST", {"sources": ["google_trends"]}, ok=202
    ),
    ("GET", "/v1/campaigns"): reveals_nothing("/v1/campaigns"),
    ("POST", "/v1/campaigns"): reveals_nothing("/v1/campaigns", "POST", {"top_k": 1}, ok=202),
    ("GET", "/v1/campaigns/{campaign_id}"): not_found(
        "/v1/campaigns/{campaign_id}", code="CAMPAIGN_NOT_FOUND"
    ),
    ("GET", "/v1/orders"): reveals_nothing("/v1/orders"),
    # B's own sync and setting: they read and change B's orders only.
    ("POST", "/v1/orders/sync"): reveals_nothing("/v1/orders/sync", "POST", ok=202),
    ("GET", "/v1/orders/settings"): reveals_nothing("/v1/orders/settings"),
    ("PUT", "/v1/orders/settings"): reveals_nothing(
        "/v1/orders/settings", "PUT", {"auto_production": False}
    ),
    ("GET", "/v1/orders/{order_id}"): not_found("/v1/orders/{order_id}", code="ORDER_NOT_FOUND"),
    ("POST", "/v1/orders/{order_id}/retry"): not_found(
        "/v1/orders/{order_id}/retry",
        "POST",
        {"address": {"state": "OR"}},
        code="ORDER_NOT_FOUND",
    ),
    ("POST", "/v1/orders/{order_id}/cancel"): not_found(
        "/v1/orders/{order_id}/cancel", "POST", code="ORDER_NOT_FOUND"
    ),
}


async def _key_for_victims_member(b: httpx.AsyncClient, victim: Victim) -> None:
    response = await b.post("/v1/api-keys", json={"name": "x", "member_id": victim.member_id})
    assert response.status_code == 404, response.text


WALK[("POST", "/v1/api-keys")] = _key_for_victims_member


def test_the_walk_covers_every_route(app: FastAPI) -> None:
    routes = {(route.method, route.path) for route in v1_routes(app, include_public=True)}
    assert sorted(routes - set(WALK)) == [], "add the new route to the cross-tenant walk"
    assert sorted(set(WALK) - routes) == []


@pytest.fixture
async def victim(
    app: FastAPI, sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> Victim:
    account = await create_account(sessions, settings.cipher, emulator_config, plan="pro")
    return await _seed(app, sessions, account)


async def test_another_tenant_finds_nothing_anywhere(
    app: FastAPI, sessions: SessionFactory, victim: Victim, account: Account, workers: WorkerSet
) -> None:
    walked: list[Route] = []
    async with api_client(app, account.headers) as b:
        for route in v1_routes(app, include_public=True):
            await WALK[(route.method, route.path)](b, victim)
            walked.append(route)
    assert len(walked) == len(WALK)

    # And A is untouched: its run still waits, its key works, its records are all there.
    async with api_client(app, victim.account.headers) as a:
        run = (await a.get(f"/v1/workflows/{victim.workflow_id}")).json()
        assert run["status"] in ("running", "awaiting_approval")
        assert (await a.get(f"/v1/designs/{victim.design_id}")).status_code == 200
        integrations = (await a.get("/v1/integrations")).json()
        assert {i["id"] for i in integrations["data"]} == set(victim.account.integrations.values())
        usage = (await a.get("/v1/billing/usage")).json()
        assert usage["plan"] == "pro" and usage["used"]["seats"] == 1
        keys = (await a.get("/v1/api-keys")).json()["data"]
        assert [k["revoked_at"] for k in keys] == [None]
        template = (await a.get(f"/v1/templates/{victim.template_id}")).json()
        assert template["name"] == TEMPLATE["name"] and template["is_default"] is True
        order = (await a.get(f"/v1/orders/{victim.order_id}")).json()
        assert (order["status"], order["hold"]["reason"]) == ("on_hold", "ADDRESS_INVALID")
        assert (await a.get("/v1/orders/settings")).json()["auto_production"] is True
        schedule = (await a.get(f"/v1/schedules/{victim.schedule_id}")).json()
        assert (schedule["paused"], schedule["note"]) == (True, SCHEDULE["note"])
        assert (schedule["interval_minutes"], schedule["recent_runs"]) == (60, [])
        assert (await a.delete(f"/v1/schedules/{victim.schedule_id}")).status_code == 204
        cancel = await a.post(f"/v1/workflows/{victim.workflow_id}/cancel")
        assert cancel.status_code == 202, cancel.text
    async with sessions() as session:
        assert (
            await repositories.accounts.count_members(session, tenant_id=victim.account.tenant_id)
            == 1
        )
