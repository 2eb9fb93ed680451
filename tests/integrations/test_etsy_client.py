"""Contract tests for `EtsyClient` over HTTP against the Etsy emulator, plus retry rules.

Over 400 lines on purpose: one contract test per client method, against the emulator
over HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.http_server import ThreadedServer
from domain.orders import PLATFORM_SCOPES
from integrations import etsy as etsy_module
from integrations.errors import VendorError
from integrations.etsy import (
    EtsyClient,
    listing_url,
    parse_etsy_error,
    price_cents,
    price_string,
)
from integrations.http import redact
from sandbox.app import EmulatorConfig
from sandbox.etsy import READINESS_STATE_ID, RETURN_POLICY_ID, SHIPPING_PROFILE_ID
from tests.conftest import emulator_of_its_own
from tests.images import png
from tests.sandbox.test_etsy_receipts import active_listing

CONFIG = EmulatorConfig()
SHOP = CONFIG.etsy_shop_id


@pytest.fixture(scope="module")
def emulator(emulator_config: EmulatorConfig) -> Iterator[ThreadedServer]:
    """This module's own: it counts the requests in the emulators' log."""
    yield from emulator_of_its_own(emulator_config)


def make_client(emulator: ThreadedServer, **overrides: Any) -> EtsyClient:
    options: dict[str, Any] = {
        "base_url": f"{emulator.url}/etsy/v3",
        "keystring": CONFIG.etsy_keystring,
        "shared_secret": CONFIG.etsy_shared_secret,
        "access_token": CONFIG.etsy_access_token,
        "backoff_base": 0.01,
    }
    return EtsyClient(**(options | overrides))


@pytest.fixture
async def client(emulator: ThreadedServer) -> AsyncIterator[EtsyClient]:
    etsy = make_client(emulator)
    yield etsy
    await etsy.aclose()


async def new_draft(client: EtsyClient, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": "Retro Cat Tee",
        "description": "Soft cotton tee.",
        "price_cents": 2450,
        "quantity": 25,
        "tags": ["cat tee", "retro", "gift"],
        "taxonomy_id": 482,
        "shipping_profile_id": SHIPPING_PROFILE_ID,
        "readiness_state_id": READINESS_STATE_ID,
        "return_policy_id": RETURN_POLICY_ID,
    }
    return await client.create_draft_listing(SHOP, **(fields | changes))


def admin_requests(emulator: ThreadedServer, method: str, path: str) -> list[int]:
    log = httpx.get(f"{emulator.url}/__admin/requests").json()
    return [row["status"] for row in log if row["method"] == method and row["path"] == path]


def add_fault(emulator: ThreadedServer, **rule: Any) -> None:
    response = httpx.post(f"{emulator.url}/__admin/faults", json=rule)
    assert response.status_code == 204


# --- every method --------------------------------------------------------------------------


async def test_ping_me_and_shop(client: EtsyClient) -> None:
    assert isinstance((await client.ping())["application_id"], int)
    assert await client.get_me() == {"user_id": CONFIG.etsy_user_id, "shop_id": SHOP}
    shop = await client.get_shop(SHOP)
    assert shop["shop_id"] == SHOP and shop["currency_code"] == "USD"


async def test_shop_setup_reads(client: EtsyClient, emulator: ThreadedServer) -> None:
    profiles = await client.get_shipping_profiles(SHOP)
    assert [p["shipping_profile_id"] for p in profiles] == [SHIPPING_PROFILE_ID]
    policies = await client.get_return_policies(SHOP)
    assert [(p["return_policy_id"], p["shop_id"]) for p in policies] == [(RETURN_POLICY_ID, SHOP)]
    states = await client.get_readiness_state_definitions(SHOP)
    assert [s["readiness_state_id"] for s in states] == [READINESS_STATE_ID]

    shop = httpx.post(f"{emulator.url}/__admin/etsy/shops", json={"readiness_states": 3}).json()
    with pytest.raises(VendorError) as foreign:
        await client.get_readiness_state_definitions(shop["shop_id"])
    assert foreign.value.status == 403  # another user's shop

    base = f"{emulator.url}/etsy/v3"
    code, verifier = oauth_code(base, as_user=shop["user_id"])
    owner = make_client(emulator)
    try:
        owner.use_token((await owner.exchange_code(code, REDIRECT, verifier))["access_token"])
        etsy_module_page = etsy_module.PAGE_SIZE
        etsy_module.PAGE_SIZE = 2  # the definitions come in pages
        try:
            states = await owner.get_readiness_state_definitions(shop["shop_id"])
        finally:
            etsy_module.PAGE_SIZE = etsy_module_page
    finally:
        await owner.aclose()
    assert [s["readiness_state_id"] for s in states] == [
        s["readiness_state_id"] for s in shop["readiness_states"]
    ]
    assert len(states) == 3


async def test_create_draft_listing_sends_etsy_form(client: EtsyClient) -> None:
    listing = await new_draft(
        client,
        price_cents=1999,
        materials=["cotton", "ink"],
        return_policy_id=RETURN_POLICY_ID,
        when_made="2020_2026",
        who_made="collective",
    )
    assert listing["state"] == "draft"
    assert listing["price"] == {"amount": 1999, "divisor": 100, "currency_code": "USD"}
    assert listing["tags"] == ["cat tee", "retro", "gift"]
    assert listing["materials"] == ["cotton", "ink"]
    assert listing["return_policy_id"] == RETURN_POLICY_ID
    assert (listing["who_made"], listing["when_made"]) == ("collective", "2020_2026")


async def test_list_and_get_listing_and_images(client: EtsyClient) -> None:
    listing = await new_draft(client)
    listing_id = listing["listing_id"]
    drafts = await client.list_shop_listings(SHOP, state="draft", limit=5)
    assert drafts["results"][0]["listing_id"] == listing_id and drafts["count"] >= 1

    image = await client.upload_listing_image(
        SHOP, listing_id, image=png(), file_name="front.png", rank=1, alt_text="Front"
    )
    assert image["listing_id"] == listing_id and image["alt_text"] == "Front"
    images = await client.get_listing_images(listing_id)
    assert [i["listing_image_id"] for i in images["results"]] == [image["listing_image_id"]]

    fetched = await client.get_listing(listing_id, includes=["Images"])
    assert fetched["images"][0]["listing_image_id"] == image["listing_image_id"]
    plain = await client.get_listing(listing_id)
    assert plain["title"] == listing["title"] and "images" not in plain


def variation(color: str, size: str, price: float, readiness: int = READINESS_STATE_ID) -> Any:
    return {
        "sku": f"POD-{color[:2]}-{size}",
        "property_values": [
            {"property_id": 513, "property_name": "Color", "value_ids": [], "values": [color]},
            {"property_id": 514, "property_name": "Size", "value_ids": [], "values": [size]},
        ],
        "offerings": [
            {"price": price, "quantity": 999, "is_enabled": True, "readiness_state_id": readiness}
        ],
    }


async def test_inventory_with_variations(client: EtsyClient) -> None:
    listing_id = (await new_draft(client, price_cents=2500))["listing_id"]
    plain = await client.get_listing_inventory(listing_id)
    assert len(plain["products"]) == 1 and plain["products"][0]["property_values"] == []
    assert plain["products"][0]["offerings"][0]["price"]["amount"] == 2500

    products = [
        variation(color, size, price)
        for color in ("Black", "White")
        for size, price in (("S", 24.99), ("XL", 27.99))
    ]
    made = await client.update_listing_inventory(
        listing_id, products, price_on_property=[514], sku_on_property=[513, 514]
    )
    assert [p["sku"] for p in made["products"]] == [p["sku"] for p in products]
    assert made["price_on_property"] == [514] and made["sku_on_property"] == [513, 514]
    assert all(isinstance(p["product_id"], int) for p in made["products"])
    assert await client.get_listing_inventory(listing_id) == made  # read back as written
    listing = await client.get_listing(listing_id)
    assert listing["has_variations"] is True and price_cents(listing) == 2499

    bad = [
        [variation("Black", "S", 20), variation("Black", "S", 21)],  # one combination twice
        [variation("Black", "S", 20, readiness=9999)],  # not the shop's processing profile
        [{**variation("Black", "S", 20), "property_values": []}] * 2,  # several, no variation
        [variation("Black", "S", 0)],  # no price
    ]
    for products in bad:
        with pytest.raises(VendorError) as refused:
            await client.update_listing_inventory(listing_id, products)
        assert refused.value.status == 400 and not refused.value.retryable
    assert await client.get_listing_inventory(listing_id) == made  # refusals change nothing


async def test_update_activate_deactivate_delete(client: EtsyClient) -> None:
    listing_id = (await new_draft(client))["listing_id"]
    updated = await client.update_listing(
        SHOP,
        listing_id,
        title="Updated Tee",
        tags=["a", "b"],
        quantity=3,
        who_made="i_did",
        when_made="made_to_order",
        is_supply=False,
        note=None,
    )
    assert updated["title"] == "Updated Tee" and updated["tags"] == ["a", "b"]
    assert updated["quantity"] == 3 and updated["is_supply"] is False

    with pytest.raises(VendorError) as no_image:
        await client.activate_listing(SHOP, listing_id)
    assert no_image.value.status == 400 and "image" in no_image.value.details["error"]

    await client.upload_listing_image(SHOP, listing_id, image=png(), file_name="x.png")
    assert (await client.activate_listing(SHOP, listing_id))["state"] == "active"
    active = await client.list_shop_listings(SHOP)
    assert listing_id in [item["listing_id"] for item in active["results"]]
    assert (await client.deactivate_listing(SHOP, listing_id))["state"] == "inactive"

    await client.delete_listing(listing_id)
    with pytest.raises(VendorError) as gone:
        await client.get_listing(listing_id)
    assert gone.value.status == 404 and gone.value.code == "ETSY_NOT_FOUND"
    assert not gone.value.retryable


async def test_drafts_with_copy(
    client: EtsyClient,
    emulator: ThreadedServer,
    clear_faults: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = secrets.token_hex(4)
    title, description = f"Find Me {marker}", f"Exactly this {marker}"
    older = await new_draft(client, title=title, description=description)
    newer = await new_draft(client, title=title, description=description)
    await new_draft(client, title=title, description="something else")
    live = await new_draft(client, title=title, description=description)
    await client.upload_listing_image(SHOP, live["listing_id"], image=png(), file_name="a.png")
    await client.activate_listing(SHOP, live["listing_id"])
    monkeypatch.setattr(etsy_module, "PAGE_SIZE", 2)  # force several pages

    found = await client.drafts_with_copy(
        SHOP, title=title, description=description, created_since=0
    )
    assert [item["listing_id"] for item in found] == [newer["listing_id"], older["listing_id"]]
    assert {item["state"] for item in found} == {"draft"}  # newest first, drafts only

    since = await client.drafts_with_copy(
        SHOP, title=title, description=description, created_since=older["created_timestamp"]
    )
    assert since == found  # made at or after the given second
    later = await client.drafts_with_copy(
        SHOP, title=title, description=description, created_since=newer["created_timestamp"] + 1
    )
    assert later == []
    path = f"/etsy/v3/application/shops/{SHOP}/listings"
    assert len(admin_requests(emulator, "GET", path)) >= 3  # the full scan paged
    httpx.delete(f"{emulator.url}/__admin/faults")  # and forgot the requests
    await client.drafts_with_copy(
        SHOP, title=title, description=description, created_since=newer["created_timestamp"] + 1
    )
    assert admin_requests(emulator, "GET", path) == [200]  # newest first: one page was enough
    missing = await client.drafts_with_copy(
        SHOP, title=f"Nope {marker}", description=description, created_since=0
    )
    assert missing == []


async def test_refresh_access_token_rotates_and_is_used(emulator: ThreadedServer) -> None:
    refresh_token = oauth_refresh_token(f"{emulator.url}/etsy/v3")
    etsy = make_client(emulator, access_token=f"{CONFIG.etsy_user_id}.stale")
    try:
        with pytest.raises(VendorError) as stale:
            await etsy.get_me()
        assert stale.value.status == 401 and stale.value.code == "ETSY_AUTH"
        assert stale.value.details["error"] == "invalid_token"
        tokens = await etsy.refresh_access_token(refresh_token)
        assert tokens["expires_in"] == 3600 and tokens["refresh_token"] != refresh_token
        assert (await etsy.get_me())["user_id"] == CONFIG.etsy_user_id
        with pytest.raises(VendorError) as revoked:
            await etsy.refresh_access_token(refresh_token)
        assert revoked.value.status == 400 and not revoked.value.retryable
        assert revoked.value.details == {
            "error": "invalid_grant",
            "error_description": "refresh_token is revoked",
        }
    finally:
        await etsy.aclose()


REDIRECT = "https://example.test/cb"


def oauth_code(base: str, as_user: int | None = None) -> tuple[str, str]:
    """An authorization code from the emulator's consent step (the configured user's, or
    `as_user`'s), and its PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    params = {
        "response_type": "code",
        "client_id": CONFIG.etsy_keystring,
        "redirect_uri": REDIRECT,
        "scope": "listings_w",
        "state": "s",
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
    } | ({"as_user": str(as_user)} if as_user is not None else {})
    location = httpx.get(f"{base}/oauth/connect", params=params).headers["location"]
    return parse_qs(urlsplit(location).query)["code"][0], verifier


def oauth_refresh_token(base: str) -> str:
    code, verifier = oauth_code(base)
    form = {
        "grant_type": "authorization_code",
        "client_id": CONFIG.etsy_keystring,
        "redirect_uri": REDIRECT,
        "code": code,
        "code_verifier": verifier,
    }
    return str(httpx.post(f"{base}/public/oauth/token", data=form).json()["refresh_token"])


async def test_exchange_code_and_request_tokens_then_use_the_token(
    emulator: ThreadedServer,
) -> None:
    base = f"{emulator.url}/etsy/v3"
    etsy = make_client(emulator, access_token=f"{CONFIG.etsy_user_id}.stale")
    try:
        code, verifier = oauth_code(base)
        with pytest.raises(VendorError) as wrong_verifier:
            await etsy.exchange_code(code, REDIRECT, verifier + "x")
        assert wrong_verifier.value.status == 400 and not wrong_verifier.value.retryable
        code, verifier = oauth_code(base)
        tokens = await etsy.exchange_code(code, REDIRECT, verifier)
        assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
        assert tokens["access_token"].startswith(f"{CONFIG.etsy_user_id}.")
        with pytest.raises(VendorError):
            await etsy.get_me()  # exchanging does not switch the client's token
        etsy.use_token(tokens["access_token"])
        assert (await etsy.get_me())["user_id"] == CONFIG.etsy_user_id

        rotated = await etsy.request_tokens(
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        assert rotated["refresh_token"] != tokens["refresh_token"]
        with pytest.raises(VendorError) as revoked:
            await etsy.request_tokens(
                {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
            )
        assert revoked.value.details["error"] == "invalid_grant"
    finally:
        await etsy.aclose()


def test_listing_url() -> None:
    assert (
        listing_url({"listing_id": 5, "url": "http://x/etsy/listing/5"})
        == "http://x/etsy/listing/5"
    )
    assert listing_url({"listing_id": 5}) == "https://www.etsy.com/listing/5"
    assert price_string(1999) == "19.99" and price_string(500) == "5.00"


# --- errors and retries -------------------------------------------------------------------


async def test_validation_error_is_permanent_with_message(client: EtsyClient) -> None:
    with pytest.raises(VendorError) as refused:
        await new_draft(client, tags=[f"tag{i}" for i in range(14)])
    error = refused.value
    assert error.status == 400 and not error.retryable and error.code == "ETSY_VALIDATION"
    assert error.details["error"].startswith("There was a problem with /tags : ")
    assert "/tags" in str(error)


async def test_bad_credentials_are_never_echoed(emulator: ThreadedServer) -> None:
    etsy = make_client(emulator, shared_secret="very-secret-value")
    try:
        with pytest.raises(VendorError) as denied:
            await etsy.get_shop(SHOP)
    finally:
        await etsy.aclose()
    assert denied.value.status == 403 and denied.value.code == "ETSY_AUTH"
    text = f"{denied.value} {denied.value.details}"
    assert "very-secret-value" not in text and CONFIG.etsy_access_token not in text


async def test_get_is_retried_after_503(
    client: EtsyClient, emulator: ThreadedServer, clear_faults: None
) -> None:
    path = f"/etsy/v3/application/shops/{SHOP}"
    add_fault(emulator, method="GET", path_regex=f"{path}$", status=503, mode="before", times=2)
    assert (await client.get_shop(SHOP))["shop_id"] == SHOP
    assert admin_requests(emulator, "GET", path) == [503, 503, 200]


async def test_post_503_is_not_retried(
    client: EtsyClient, emulator: ThreadedServer, clear_faults: None
) -> None:
    path = f"/etsy/v3/application/shops/{SHOP}/listings"
    add_fault(emulator, method="POST", path_regex=f"{path}$", status=503, mode="after", times=1)
    title = f"Lost Answer Tee {secrets.token_hex(3)}"
    started = int(time.time())
    with pytest.raises(VendorError) as lost:
        await new_draft(client, title=title, description="made once")
    assert lost.value.retryable and lost.value.status == 503
    assert lost.value.details == {"error": "injected fault"}
    assert admin_requests(emulator, "POST", path) == [503]
    # The emulator made it anyway; the lookup finds it instead of creating a second one.
    found = await client.drafts_with_copy(
        SHOP, title=title, description="made once", created_since=started
    )
    assert len(found) == 1


async def test_429_with_retry_after_is_retried(
    client: EtsyClient, emulator: ThreadedServer, clear_faults: None
) -> None:
    path = f"/etsy/v3/application/shops/{SHOP}/listings"
    add_fault(emulator, method="POST", path_regex=f"{path}$", status=429, times=1, retry_after=1)
    started = time.monotonic()
    listing = await new_draft(client)
    assert time.monotonic() - started >= 1.0
    assert listing["state"] == "draft"
    assert admin_requests(emulator, "POST", path) == [429, 201]


async def test_retries_stop_at_max_attempts(emulator: ThreadedServer, clear_faults: None) -> None:
    etsy = make_client(emulator, max_attempts=2)
    path = "/etsy/v3/application/openapi-ping"
    add_fault(emulator, method="GET", path_regex=path, status=500, times=5)
    try:
        with pytest.raises(VendorError) as failed:
            await etsy.ping()
    finally:
        await etsy.aclose()
    assert failed.value.retryable and failed.value.status == 500
    assert admin_requests(emulator, "GET", path) == [500, 500]


# --- the error parser on Etsy's other shapes ---------------------------------------------


def test_parse_etsy_error_shapes() -> None:
    array = httpx.Response(
        400,
        json=[
            {"path": "/title/1", "type": "invalid_characters", "message": "bad char"},
            {"path": "/tags", "type": "too_many"},
        ],
    )
    message, details = parse_etsy_error(array)
    assert message == "/title/1 : bad char; /tags : too_many"
    assert details["errors"][0] == {
        "path": "/title/1",
        "type": "invalid_characters",
        "message": "bad char",
    }
    assert parse_etsy_error(httpx.Response(502, text="<html>Bad gateway</html>")) == (
        "<html>Bad gateway</html>",
        {},
    )
    assert parse_etsy_error(httpx.Response(500, content=b"")) == ("Internal Server Error", {})
    assert parse_etsy_error(httpx.Response(400, json={"detail": "x"})) == ("{'detail': 'x'}", {})


async def test_secrets_in_an_error_body_are_scrubbed() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        key = request.headers["x-api-key"]
        token = request.headers["authorization"]
        body = [{"path": "/x", "type": "t", "message": f"{key} {token}"}, {"path": "/n", "type": 7}]
        return httpx.Response(400, json=body)

    etsy = EtsyClient(
        base_url="https://api.etsy.test/v3",
        keystring="ks-123",
        shared_secret="ss-456",
        access_token="1.tok-789",
        transport=httpx.MockTransport(echo),
    )
    try:
        with pytest.raises(VendorError) as refused:
            await etsy.ping()
    finally:
        await etsy.aclose()
    text = f"{refused.value} {refused.value.details}"
    for secret in ("ks-123", "ss-456", "tok-789"):
        assert secret not in text
    assert "***" in text
    assert redact({"a": ["xbx", 1]}, ["", "b"]) == {"a": ["x***x", 1]}


async def test_receipts_to_ship_and_their_tracking(
    client: EtsyClient, emulator: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing_id = (await new_draft(client))["listing_id"]
    await client.upload_listing_image(SHOP, listing_id, image=png(), file_name="x.png")
    await client.activate_listing(SHOP, listing_id)
    bought = []
    for _ in range(3):
        receipt = httpx.post(
            f"{emulator.url}/__admin/etsy/purchases", json={"listing_id": listing_id}
        )
        assert receipt.status_code == 201, receipt.text
        bought.append(receipt.json()["receipt_id"])
    monkeypatch.setattr(etsy_module, "PAGE_SIZE", 2)  # force several pages

    waiting = await client.receipts_to_ship(SHOP, modified_since=0)
    assert set(bought) <= {r["receipt_id"] for r in waiting}
    changed = [(r["updated_timestamp"], r["receipt_id"]) for r in waiting]
    assert changed == sorted(changed)  # oldest change first
    assert await client.receipts_to_ship(SHOP, modified_since=int(time.time()) + 3600) == []

    first = await client.get_receipt(SHOP, bought[0])
    assert first["transactions"][0]["listing_id"] == listing_id and first["is_paid"]
    shipped = await client.create_receipt_shipment(
        SHOP, bought[0], tracking_code="9400111899560000000002", carrier_name="usps"
    )
    assert shipped["is_shipped"] and shipped["shipments"][0]["tracking_code"].endswith("0002")
    left = {r["receipt_id"] for r in await client.receipts_to_ship(SHOP)}
    assert bought[0] not in left and set(bought[1:]) <= left


async def test_a_connection_without_the_transactions_scopes_is_told_apart(
    client: EtsyClient, emulator: ThreadedServer
) -> None:
    """A seller who connected before the order scopes: reading receipts is refused in a
    way the order sync can name (reconnect), not as any other 403."""
    base = f"{emulator.url}/etsy/v3"
    code, verifier = oauth_code(base)  # asks for listings_w only
    tokens = await client.exchange_code(code, REDIRECT, verifier)
    narrow = make_client(emulator, access_token=tokens["access_token"])
    try:
        with pytest.raises(VendorError) as refused:
            await narrow.receipts_to_ship(SHOP)
        granted = await narrow.token_scopes()  # what tells the seller to reconnect
    finally:
        await narrow.aclose()
    assert refused.value.status == 403 and etsy_module.is_insufficient_scope(refused.value)
    assert granted == ["listings_w"]
    assert set(PLATFORM_SCOPES) <= set(await client.token_scopes())  # the configured token
    gone = make_client(emulator, access_token="1.not-a-token")
    try:
        assert await gone.token_scopes() == []  # an unknown token was granted nothing
    finally:
        await gone.aclose()
    with pytest.raises(VendorError) as foreign:  # another user's shop: not a scope problem
        await client.get_readiness_state_definitions(
            httpx.post(f"{emulator.url}/__admin/etsy/shops", json={}).json()["shop_id"]
        )
    assert foreign.value.status == 403 and not etsy_module.is_insufficient_scope(foreign.value)


async def test_listing_counters_read_views_and_favourites(
    client: EtsyClient, emulator: ThreadedServer
) -> None:
    """Buyers look (the listing page, or the emulator's visits) and favourite; the order
    sync reads both from getListingsByShop."""
    with httpx.Client(base_url=f"{emulator.url}/etsy/v3", headers=receipts_auth()) as etsy:
        listing_id = active_listing(etsy)["listing_id"]
    looked = httpx.post(
        f"{emulator.url}/__admin/etsy/visits",
        json={"listing_id": listing_id, "views": 4, "favorites": 2},
    )
    assert looked.status_code == 200, looked.text
    assert (await client.listing_counters(SHOP))[listing_id] == (4, 2)
    assert httpx.get(f"{emulator.url}/etsy/listing/{listing_id}").status_code == 200
    assert (await client.listing_counters(SHOP))[listing_id] == (5, 2)


def receipts_auth() -> dict[str, str]:
    return {
        "x-api-key": f"{CONFIG.etsy_keystring}:{CONFIG.etsy_shared_secret}",
        "authorization": f"Bearer {CONFIG.etsy_access_token}",
    }
