"""Buyers and receipts in the Etsy emulator over real HTTP (issue 16): a purchase makes a
paid receipt, the seller reads it and posts tracking with the `transactions_*` scopes,
every answer checked against Etsy's published document."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from cli.main import main
from core.http_server import ThreadedServer
from core.settings import Settings
from tests.images import png
from tests.sandbox.test_etsy_emulator import (
    CONFIG,
    REDIRECT,
    SHOP,
    PatientTransport,
    api,
    connect_params,
    draft_form,
    pkce,
)

__all__ = ["api"]  # the fixture: every answer checked against Etsy's document

SIZES = ("S", "M")


def buy(emulator: ThreadedServer, **purchase: Any) -> httpx.Response:
    with httpx.Client(transport=PatientTransport()) as web:
        return web.post(f"{emulator.url}/__admin/etsy/purchases", json=purchase)


def active_listing(api: httpx.Client, stock: int = 5) -> dict[str, Any]:
    """An active listing with two sizes, SKUs `CAT-S` and `CAT-M`, `stock` of each."""
    draft = api.post(f"/application/shops/{SHOP}/listings", data=draft_form())
    assert draft.status_code == 201, draft.text
    listing_id = draft.json()["listing_id"]
    image = api.post(
        f"/application/shops/{SHOP}/listings/{listing_id}/images",
        files={"image": ("design.png", png(), "image/png")},
    )
    assert image.status_code == 201, image.text
    readiness = draft.json()["readiness_state_id"]
    products = [
        {
            "sku": f"CAT-{size}",
            "property_values": [
                {
                    "property_id": 100,
                    "property_name": "Size",
                    "value_ids": [n],
                    "values": [size],
                }
            ],
            "offerings": [
                {
                    "price": 24.99 + n,
                    "quantity": stock,
                    "is_enabled": True,
                    "readiness_state_id": readiness,
                }
            ],
        }
        for n, size in enumerate(SIZES, start=1)
    ]
    inventory = api.put(
        f"/application/listings/{listing_id}/inventory",
        content=json.dumps({"products": products, "price_on_property": [100]}),
        headers={"content-type": "application/json"},
    )
    assert inventory.status_code == 200, inventory.text
    active = api.patch(f"/application/shops/{SHOP}/listings/{listing_id}", data={"state": "active"})
    assert active.status_code == 200, active.text
    listing: dict[str, Any] = active.json()
    return listing


def test_a_purchase_is_a_paid_unshipped_receipt_the_seller_reads(
    api: httpx.Client, emulator: ThreadedServer
) -> None:
    listing = active_listing(api)
    bought = buy(emulator, listing_id=listing["listing_id"], sku="CAT-M", quantity=2)
    assert bought.status_code == 201, bought.text
    receipt_id = bought.json()["receipt_id"]

    unshipped = api.get(
        f"/application/shops/{SHOP}/receipts",
        params={"was_paid": "true", "was_shipped": "false", "limit": 100},
    )
    assert unshipped.status_code == 200, unshipped.text
    receipt = next(r for r in unshipped.json()["results"] if r["receipt_id"] == receipt_id)
    assert receipt["status"] == "paid" and receipt["is_paid"] and not receipt["is_shipped"]
    assert (receipt["name"], receipt["country_iso"], receipt["zip"]) == (
        "Alex Buyer",
        "US",
        "62701",
    )
    [item] = receipt["transactions"]
    assert (item["listing_id"], item["sku"], item["quantity"]) == (
        listing["listing_id"],
        "CAT-M",
        2,
    )
    assert item["price"] == {"amount": 2699, "divisor": 100, "currency_code": "USD"}
    assert [v["formatted_value"] for v in item["variations"]] == ["M"]
    assert receipt["subtotal"]["amount"] == 2 * 2699
    assert receipt["grandtotal"]["amount"] == 2 * 2699 + receipt["total_shipping_cost"]["amount"]
    one = api.get(f"/application/shops/{SHOP}/receipts/{receipt_id}")
    assert one.status_code == 200 and one.json() == receipt
    transactions = api.get(f"/application/shops/{SHOP}/receipts/{receipt_id}/transactions")
    assert transactions.json() == {"count": 1, "results": [item]}

    # Stock went down for the size bought, not the other.
    inventory = api.get(f"/application/listings/{listing['listing_id']}/inventory").json()
    stock = {p["sku"]: p["offerings"][0]["quantity"] for p in inventory["products"]}
    assert stock == {"CAT-S": 5, "CAT-M": 3}

    # Without a SKU a buyer gets the first variant for sale; another address is kept.
    address = {
        "name": "Sam Oddly",
        "first_line": "1 Nowhere Lane",
        "city": "Atlantis",
        "zip": "00000",
        "country_iso": "ZZ",
    }
    second = buy(emulator, listing_id=listing["listing_id"], address=address)
    assert second.status_code == 201, second.text
    assert second.json()["transactions"][0]["sku"] == "CAT-S"
    assert second.json()["country_iso"] == "ZZ" and second.json()["name"] == "Sam Oddly"


def test_tracking_ships_the_receipt_once_it_is_posted(
    api: httpx.Client, emulator: ThreadedServer
) -> None:
    listing = active_listing(api)
    receipt_id = buy(emulator, listing_id=listing["listing_id"]).json()["receipt_id"]
    path = f"/application/shops/{SHOP}/receipts/{receipt_id}/tracking"
    missing = api.post(path, json={"carrier_name": "usps"})
    assert missing.status_code == 400 and "tracking_code" in missing.text
    form = api.post(path, data={"tracking_code": "9400", "carrier_name": "usps"})
    assert form.status_code == 400

    shipped = api.post(
        path, json={"tracking_code": "9400111899560000000000", "carrier_name": "usps"}
    )
    assert shipped.status_code == 200, shipped.text
    body = shipped.json()
    assert body["is_shipped"] and body["status"] == "completed"
    assert [(s["tracking_code"], s["carrier_name"]) for s in body["shipments"]] == [
        ("9400111899560000000000", "usps")
    ]
    assert body["transactions"][0]["shipped_timestamp"] is not None
    unshipped = api.get(
        f"/application/shops/{SHOP}/receipts", params={"was_shipped": "false", "limit": 100}
    ).json()["results"]
    assert receipt_id not in [r["receipt_id"] for r in unshipped]


def test_what_a_buyer_cannot_buy(api: httpx.Client, emulator: ThreadedServer) -> None:
    listing = active_listing(api, stock=1)
    listing_id = listing["listing_id"]
    assert buy(emulator, listing_id=listing_id, sku="CAT-XL").status_code == 404
    assert buy(emulator, listing_id=listing_id, sku="CAT-S", quantity=2).status_code == 409
    assert buy(emulator, listing_id=listing_id, sku="CAT-S").status_code == 201
    sold_out = buy(emulator, listing_id=listing_id, sku="CAT-S")
    assert sold_out.status_code == 409 and "in stock" in sold_out.text
    draft = api.post(f"/application/shops/{SHOP}/listings", data=draft_form()).json()
    assert buy(emulator, listing_id=draft["listing_id"]).status_code == 409
    assert buy(emulator, listing_id=10**15).status_code == 404
    assert buy(emulator, listing_id=listing_id, quantity=0).status_code == 422


def scoped_token(emulator: ThreadedServer, user_id: int, scope: str) -> str:
    """An access token `user_id` approved for `scope` (the PKCE dance, over HTTP)."""
    base = f"{emulator.url}/etsy/v3"
    verifier, challenge = pkce()
    params = connect_params(challenge, scope=scope) | {"as_user": str(user_id)}
    with httpx.Client(transport=PatientTransport()) as web:
        response = web.get(f"{base}/oauth/connect", params=params)
        assert response.status_code == 302
        code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
        tokens = web.post(
            f"{base}/public/oauth/token",
            data={
                "client_id": CONFIG.etsy_keystring,
                "grant_type": "authorization_code",
                "redirect_uri": REDIRECT,
                "code": code,
                "code_verifier": verifier,
            },
        )
    assert tokens.status_code == 200, tokens.text
    token: str = tokens.json()["access_token"]
    return token


def test_receipts_need_the_transactions_scopes_and_the_shop(
    api: httpx.Client, emulator: ThreadedServer
) -> None:
    with httpx.Client(transport=PatientTransport()) as web:
        added = web.post(f"{emulator.url}/__admin/etsy/shops", json={"shop_name": "ReceiptScopes"})
    assert added.status_code == 201, added.text
    shop = added.json()
    user, shop_id = shop["user_id"], shop["shop_id"]
    receipts = f"/application/shops/{shop_id}/receipts"

    def as_user(scope: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token = scoped_token(emulator, user, scope)
        headers = {"authorization": f"Bearer {token}"}
        return api.request(method, path, headers=headers, **kwargs)

    refused = as_user("listings_r listings_w shops_r", "GET", receipts)
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    assert as_user("transactions_r", "GET", receipts).json() == {"count": 0, "results": []}
    # Another seller's receipts are not this user's to read.
    assert as_user("transactions_r", "GET", f"/application/shops/{SHOP}/receipts").status_code in (
        403,
        404,
    )
    listing = active_listing(api)
    receipt_id = buy(emulator, listing_id=listing["listing_id"]).json()["receipt_id"]
    tracking = f"/application/shops/{SHOP}/receipts/{receipt_id}/tracking"
    body = {"tracking_code": "1Z999", "carrier_name": "ups"}
    no_write = as_user("transactions_r", "POST", tracking, json=body)
    assert no_write.status_code == 403
    assert api.get(f"/application/shops/{shop_id}/receipts/{receipt_id}").status_code in (403, 404)
    bad = api.get(f"/application/shops/{SHOP}/receipts", params={"was_paid": "maybe"})
    assert bad.status_code == 400


def test_pod_buy_prints_the_receipt(
    api: httpx.Client,
    emulator: ThreadedServer,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    here = settings.model_copy(update={"emulator_port": emulator.port})
    listing = active_listing(api)
    args = ["buy", str(listing["listing_id"]), "--sku", "CAT-M", "--quantity", "2", "--json"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("cli.main.load_settings", lambda: here)
        assert main(args) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["listing_id"], line["sku"], line["quantity"]) == (
        listing["listing_id"],
        "CAT-M",
        2,
    )
    receipt = api.get(f"/application/shops/{SHOP}/receipts/{line['receipt_id']}").json()
    assert receipt["transactions"][0]["sku"] == "CAT-M" and line["buyer"] == receipt["name"]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("cli.main.load_settings", lambda: here)
        assert main(["buy", str(listing["listing_id"]), "--sku", "CAT-XL"]) == 1
        assert main(["buy", str(listing["listing_id"])]) == 0
    out = capsys.readouterr().out
    assert "not bought (404)" in out and "CAT-XL" in out
    assert f"x listing {listing['listing_id']} (CAT-S)" in out
