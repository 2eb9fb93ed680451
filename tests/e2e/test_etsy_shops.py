"""End to end: every tenant lists in its own Etsy shop with that shop's own shipping
profile, return policy and processing profile — read from Etsy when the shop is
connected, chosen per template or integration default, never one platform-wide id."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from PIL import Image

from core.db import SessionFactory
from core.http_server import ThreadedServer
from core.settings import Settings
from sandbox.app import EmulatorConfig
from tests.accounts import create_account
from tests.conftest import api_client
from tests.e2e.helpers import wait_for_end
from tests.stack import WorkerSet

REDIRECT = "https://seller.example/cb"


def new_etsy_shop(emulator: ThreadedServer, **fields: Any) -> dict[str, Any]:
    """A new Etsy user with a shop of its own in the emulator."""
    response = httpx.post(f"{emulator.url}/__admin/etsy/shops", json=fields)
    assert response.status_code == 201, response.text
    shop: dict[str, Any] = response.json()
    return shop


def tokens_of(emulator: ThreadedServer, config: EmulatorConfig, user_id: int) -> dict[str, Any]:
    """OAuth tokens the user `user_id` approved in the emulator (PKCE)."""
    base = f"{emulator.url}/etsy/v3"
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    params = {
        "response_type": "code",
        "client_id": config.etsy_keystring,
        "redirect_uri": REDIRECT,
        "scope": "listings_w listings_r shops_r",
        "state": "s",
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "as_user": str(user_id),
    }
    location = httpx.get(f"{base}/oauth/connect", params=params).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "client_id": config.etsy_keystring,
        "redirect_uri": REDIRECT,
        "code": code,
        "code_verifier": verifier,
    }
    answer = httpx.post(f"{base}/public/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


async def connect_shop(
    api: httpx.AsyncClient, emulator: ThreadedServer, config: EmulatorConfig, shop: dict[str, Any]
) -> dict[str, Any]:
    tokens = tokens_of(emulator, config, shop["user_id"])
    response = await api.put(
        "/v1/integrations/etsy",
        json={"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]},
    )
    assert response.status_code == 200, response.text
    integration: dict[str, Any] = response.json()
    return integration


async def listing_of(emulator: ThreadedServer, config: EmulatorConfig, listing_id: int) -> Any:
    headers = {"x-api-key": f"{config.etsy_keystring}:{config.etsy_shared_secret}"}
    async with httpx.AsyncClient(base_url=f"{emulator.url}/etsy/v3") as etsy:
        answer = await etsy.get(f"/application/listings/{listing_id}", headers=headers)
    assert answer.status_code == 200
    return answer.json()


def ids_of(shop: dict[str, Any], n: int = 0) -> dict[str, int]:
    return {
        "shipping_profile_id": shop["shipping_profiles"][n]["shipping_profile_id"],
        "return_policy_id": shop["return_policies"][0]["return_policy_id"],
        "readiness_state_id": shop["readiness_states"][n]["readiness_state_id"],
    }


async def test_two_tenants_list_in_their_own_shops_with_their_own_profiles(
    workers: WorkerSet,
    sessions: SessionFactory,
    settings: Settings,
    app: Any,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    shops = [new_etsy_shop(emulator), new_etsy_shop(emulator, country_iso="GB")]
    views = []
    for shop in shops:
        account = await create_account(sessions, settings.cipher, emulator_config)
        async with api_client(app, account.headers) as api:
            integration = await connect_shop(api, emulator, emulator_config, shop)
            setup = integration["shop_setup"]
            assert setup["shop_id"] == shop["shop_id"] and integration["shop_id"] == shop["shop_id"]
            assert [p["id"] for p in setup["readiness_states"]] == [
                ids_of(shop)["readiness_state_id"]
            ]
            started = await api.post(
                "/v1/workflows/design-to-listing", json={"keyword": "lighthouse keeper"}
            )
            assert started.status_code == 202, started.text
            views.append(await wait_for_end(api, started.json()["workflow_id"]))

    for shop, view in zip(shops, views, strict=True):
        assert view["status"] == "completed", view
        listing = await listing_of(emulator, emulator_config, view["result"]["etsy_listing_id"])
        assert listing["state"] == "active" and listing["shop_id"] == shop["shop_id"]
        assert {name: listing[name] for name in ids_of(shop)} == ids_of(shop)
        assert listing["is_supply"] is False and listing["when_made"] == "made_to_order"
    # The default template's listing is complete: variations, mock-ups first, its page.
    await assert_complete_listing(
        emulator, emulator_config, views[0]["result"], ids_of(shops[0])["readiness_state_id"]
    )


async def test_a_shop_with_several_profiles_needs_a_choice(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    shop = new_etsy_shop(emulator, shipping_profiles=2, readiness_states=2)
    await connect_shop(api, emulator, emulator_config, shop)
    refused = await api.post("/v1/workflows/design-to-listing", json={"keyword": "owl mug"})
    assert refused.status_code == 409, refused.text
    error = refused.json()
    assert error["code"] == "ETSY_SETUP_CHOICE_REQUIRED"
    options = error["details"]["options"]
    assert set(options) == {"shipping_profile_id", "readiness_state_id"}
    assert [o["id"] for o in options["shipping_profile_id"]] == [
        p["shipping_profile_id"] for p in shop["shipping_profiles"]
    ]
    assert (await api.get("/v1/workflows")).json()["count"] == 0  # nothing was recorded

    other = new_etsy_shop(emulator)
    unknown = await api.put(
        "/v1/integrations/etsy/listing-defaults",
        json={"shipping_profile_id": other["shipping_profiles"][0]["shipping_profile_id"]},
    )
    assert unknown.status_code == 409 and unknown.json()["code"] == "ETSY_SETUP_UNKNOWN"

    # The integration's default shipping profile, the template's processing profile.
    chosen = ids_of(shop, 1)
    defaults = await api.put(
        "/v1/integrations/etsy/listing-defaults",
        json={"shipping_profile_id": chosen["shipping_profile_id"]},
    )
    assert defaults.status_code == 200, defaults.text
    assert (
        defaults.json()["listing_defaults"]["shipping_profile_id"] == chosen["shipping_profile_id"]
    )
    template = {
        "name": "Tee in the second processing profile",
        "blueprint_id": 6,
        "print_provider_id": 99,
        "variant_ids": [12100, 12101],
        "etsy_readiness_state_id": chosen["readiness_state_id"],
        "is_default": True,
    }
    assert (await api.post("/v1/templates", json=template)).status_code == 201
    started = await api.post("/v1/workflows/design-to-listing", json={"keyword": "owl mug"})
    assert started.status_code == 202, started.text
    view = await wait_for_end(api, started.json()["workflow_id"])
    assert view["status"] == "completed", view
    listing = await listing_of(emulator, emulator_config, view["result"]["etsy_listing_id"])
    assert {name: listing[name] for name in chosen} == chosen

    refreshed = await api.post("/v1/integrations/etsy/shop-setup/refresh")
    assert refreshed.status_code == 200
    assert refreshed.json()["shop_setup"]["shop_id"] == shop["shop_id"]


async def assert_complete_listing(
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    result: dict[str, Any],
    readiness: int,
) -> None:
    """A custom shop's listing: one Etsy product per enabled variant (colour, size, price,
    SKU, processing profile), Printify's mock-ups first, and a page with both choices."""
    printify_headers = {
        "authorization": f"Bearer {emulator_config.printify_token}",
        "user-agent": "pod-automator-tests",
    }
    etsy_headers = {
        "x-api-key": f"{emulator_config.etsy_keystring}:{emulator_config.etsy_shared_secret}",
        "authorization": f"Bearer {emulator_config.etsy_access_token}",
    }
    listing_id = result["etsy_listing_id"]
    async with httpx.AsyncClient(base_url=emulator.url) as vendor:
        product = (
            await vendor.get(
                f"/printify/v1/shops/{result['printify_shop_id']}/products/"
                f"{result['printify_product_id']}.json",
                headers=printify_headers,
            )
        ).json()
        inventory = (
            await vendor.get(
                f"/etsy/v3/application/listings/{listing_id}/inventory", headers=etsy_headers
            )
        ).json()
        images = (
            await vendor.get(
                f"/etsy/v3/application/listings/{listing_id}/images", headers=etsy_headers
            )
        ).json()["results"]
        page = (await vendor.get(f"/etsy/listing/{listing_id}")).text
        # The emulator names its public URL in links; the file is on this test's port.
        first = (await vendor.get(httpx.URL(images[0]["url_fullxfull"]).path)).content

    enabled = {v["sku"]: v for v in product["variants"] if v["is_enabled"]}
    titles = {v["id"]: v["title"] for v in product["variants"]}
    assert len(enabled) == 6  # the default template: Black and White, S to L
    offered = {}
    for item in inventory["products"]:
        values = {p["property_name"]: p["values"][0] for p in item["property_values"]}
        offering = item["offerings"][0]
        offered[item["sku"]] = (values["Color"], values["Size"], offering["price"]["amount"])
        assert offering["readiness_state_id"] == readiness and offering["is_enabled"] is True
    assert set(offered) == set(enabled)
    for sku, (color, size, price) in offered.items():
        assert titles[enabled[sku]["id"]] == f"{color} / {size}"
        assert price == enabled[sku]["price"]

    assert len(images) >= 3
    assert [i["rank"] for i in images] == list(range(1, len(images) + 1))
    assert "Black" in images[0]["alt_text"] and all(i["alt_text"] for i in images)
    with Image.open(io.BytesIO(first)) as picture:  # Printify's mock-up, not the artwork
        assert picture.size == (800, 800)
    assert page.count("<img ") == len(images)
    assert '<select name="Color">' in page and '<select name="Size">' in page
    for choice in ("Black", "White", "S", "M", "L"):
        assert f"<option>{choice}</option>" in page


async def test_on_printifys_etsy_channel_printify_makes_the_one_listing(
    workers: WorkerSet,
    sessions: SessionFactory,
    settings: Settings,
    app: Any,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    etsy_shop = new_etsy_shop(emulator)
    printify_shop = httpx.post(
        f"{emulator.url}/__admin/printify/shops",
        json={"sales_channel": "etsy", "etsy_shop_id": etsy_shop["shop_id"]},
    ).json()
    # The answer to publish.json is lost once: Printify acted, the run did not hear it.
    publish_path = f"/printify/v1/shops/{printify_shop['id']}/products/[0-9a-f]+/publish.json"
    fault = {"method": "POST", "path_regex": publish_path, "status": 503, "mode": "after"}
    assert httpx.post(f"{emulator.url}/__admin/faults", json=fault).status_code == 204
    account = await create_account(sessions, settings.cipher, emulator_config, connect=False)
    async with api_client(app, account.headers) as api:  # no Etsy integration at all
        connected = await api.put(
            "/v1/integrations/printify",
            json={"access_token": emulator_config.printify_token, "shop_id": printify_shop["id"]},
        )
        assert connected.status_code == 200, connected.text
        channels = {s["id"]: s["sales_channel"] for s in connected.json()["shop_setup"]["shops"]}
        assert channels[printify_shop["id"]] == "etsy"
        started = await api.post("/v1/workflows/design-to-listing", json={"keyword": "sea glass"})
        assert started.status_code == 202, started.text
        view = await wait_for_end(api, started.json()["workflow_id"])

    assert view["status"] == "completed", view
    result = view["result"]
    log = httpx.get(f"{emulator.url}/__admin/requests").json()
    publishes = [r["status"] for r in log if re.fullmatch(publish_path, r["path"])]
    assert publishes[0] == 503  # the lost answer (the retry saw the product publishing)
    in_shop = f"/etsy/v3/application/shops/{etsy_shop['shop_id']}/"
    made_by_us = [r for r in log if r["method"] == "POST" and r["path"].startswith(in_shop)]
    assert made_by_us == []  # no createDraftListing, no image upload: Printify listed it
    headers = {
        "x-api-key": f"{emulator_config.etsy_keystring}:{emulator_config.etsy_shared_secret}",
        "authorization": f"Bearer {emulator_config.etsy_access_token}",
    }
    shop_listings = f"/application/shops/{etsy_shop['shop_id']}/listings"
    async with httpx.AsyncClient(base_url=f"{emulator.url}/etsy/v3", headers=headers) as etsy:
        active = (await etsy.get(shop_listings, params={"state": "active"})).json()
        drafts = (await etsy.get(shop_listings, params={"state": "draft"})).json()
        listing = active["results"][0]
        inventory = (
            await etsy.get(f"/application/listings/{listing['listing_id']}/inventory")
        ).json()
        images = (await etsy.get(f"/application/listings/{listing['listing_id']}/images")).json()
    assert (active["count"], drafts["count"]) == (1, 0)  # exactly one listing
    assert result["etsy_listing_id"] == listing["listing_id"]  # the run names it
    assert result["listing_url"] == listing["url"]
    assert listing["has_variations"] is True and len(inventory["products"]) == 6
    assert images["count"] == 2 and "Black" in images["results"][0]["alt_text"]  # mock-ups
