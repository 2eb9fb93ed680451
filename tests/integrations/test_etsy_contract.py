"""Etsy's published contract, held to both sides: every request `EtsyClient` makes and every
answer the Etsy emulator gives is checked against `sandbox/contracts` (the structure of
Etsy's OpenAPI 3 document plus the hand-kept rules), over real HTTP."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from core.http_server import ThreadedServer
from domain.orders import PLATFORM_SCOPES
from integrations.errors import VendorError
from integrations.etsy import EtsyClient
from integrations.http import Limit, steady_rate
from sandbox.app import EmulatorConfig
from sandbox.contracts import EtsyContract
from sandbox.etsy import READINESS_STATE_ID, RETURN_POLICY_ID, SHIPPING_PROFILE_ID
from tests.conftest import emulator_of_its_own
from tests.images import png
from tests.recording import Exchange, RecordingTransport

CONFIG = EmulatorConfig()
SHOP = CONFIG.etsy_shop_id
# `POST /v3/public/oauth/token` is Etsy's OAuth endpoint, which its OpenAPI document leaves
# out (etsy-rules.yaml, outside_document); the OAuth tests hold these to it.
OAUTH_METHODS = frozenset({"exchange_code", "refresh_access_token", "request_tokens"})


@pytest.fixture(scope="module")
def emulator(emulator_config: EmulatorConfig) -> Iterator[ThreadedServer]:
    yield from emulator_of_its_own(emulator_config)


Recorded = tuple[EtsyClient, RecordingTransport]


@pytest.fixture(scope="module")
def app_limits() -> tuple[Limit, ...]:
    """The application's rate, shared by the module's clients as by a process's: a
    client of its own would start a fresh second while the emulator still counts the
    last test's calls, and (one attempt each) fail on its 429."""
    return steady_rate(10.0)


@pytest.fixture
async def recorded(
    emulator: ThreadedServer, app_limits: tuple[Limit, ...]
) -> AsyncIterator[Recorded]:
    transport = RecordingTransport()
    client = EtsyClient(
        base_url=f"{emulator.url}/etsy/v3",
        keystring=CONFIG.etsy_keystring,
        shared_secret=CONFIG.etsy_shared_secret,
        access_token=CONFIG.etsy_access_token,
        transport=transport,
        max_attempts=1,
        limits=app_limits,
    )
    yield client, transport
    await client.aclose()


def client_methods() -> set[str]:
    """The client's public coroutines that call Etsy."""
    return {
        name
        for name, member in inspect.getmembers(EtsyClient, inspect.iscoroutinefunction)
        if not name.startswith("_") and name != "aclose"
    }


async def call_every_method(client: EtsyClient, emulator_url: str) -> set[str]:
    """Each API method once, the way the pipeline calls it; returns the names called."""
    draft = await client.create_draft_listing(
        SHOP,
        title="Retro Sunset Cat Tee",
        description="A soft tee with a retro cat.",
        price_cents=2499,
        quantity=10,
        tags=["cat tee", "retro"],
        taxonomy_id=482,
        shipping_profile_id=SHIPPING_PROFILE_ID,
        return_policy_id=RETURN_POLICY_ID,
        readiness_state_id=READINESS_STATE_ID,
        materials=["cotton"],
    )
    listing_id = int(draft["listing_id"])
    calls: dict[str, Any] = {
        "ping": client.ping(),
        "token_scopes": granted_every_scope(client),
        "get_me": client.get_me(),
        "get_shop": client.get_shop(SHOP),
        "get_shipping_profiles": client.get_shipping_profiles(SHOP),
        "get_return_policies": client.get_return_policies(SHOP),
        "get_readiness_state_definitions": client.get_readiness_state_definitions(SHOP),
        "list_shop_listings": client.list_shop_listings(SHOP, state="draft"),
        "drafts_with_copy": client.drafts_with_copy(
            SHOP, title=draft["title"], description=draft["description"], created_since=0
        ),
        "upload_listing_image": client.upload_listing_image(
            SHOP, listing_id, image=png(), file_name="front.png", rank=1, alt_text="Front"
        ),
        "get_listing_images": client.get_listing_images(listing_id),
        "update_listing_inventory": client.update_listing_inventory(
            listing_id,
            [
                {
                    "sku": f"POD-{size}",
                    "property_values": [
                        {
                            "property_id": 514,
                            "property_name": "Size",
                            "value_ids": [],
                            "values": [size],
                        }
                    ],
                    "offerings": [
                        {
                            "price": 24.99,
                            "quantity": 999,
                            "is_enabled": True,
                            "readiness_state_id": READINESS_STATE_ID,
                        }
                    ],
                }
                for size in ("S", "M")
            ],
            sku_on_property=[514],
        ),
        "get_listing_inventory": client.get_listing_inventory(listing_id),
        "get_listing": client.get_listing(listing_id, includes=["Images", "Shop"]),
        "update_listing": client.update_listing(
            SHOP, listing_id, title="Retro Sunset Cat Tee II", tags=["cat", "sunset"]
        ),
        "activate_listing": client.activate_listing(SHOP, listing_id),
        "listing_counters": counted(client, listing_id),
        "receipts_to_ship": bought_and_shipped(client, emulator_url, listing_id),
        "deactivate_listing": client.deactivate_listing(SHOP, listing_id),
        "delete_listing": client.delete_listing(listing_id),
    }
    for call in calls.values():
        await call  # in order: each step needs the one before
    with pytest.raises(VendorError):  # and an error answer, checked like the others
        await client.get_listing(listing_id)
    return {"create_draft_listing", "get_receipt", "create_receipt_shipment", *calls}


async def counted(client: EtsyClient, listing_id: int) -> None:
    """The active listing's views and favourites, as the order sync reads them."""
    assert listing_id in await client.listing_counters(SHOP)


async def granted_every_scope(client: EtsyClient) -> None:
    """The configured token has every scope the platform asks for (tokenScopes)."""
    assert set(PLATFORM_SCOPES) <= set(await client.token_scopes())


async def bought_and_shipped(client: EtsyClient, emulator_url: str, listing_id: int) -> None:
    """A buyer buys the active listing; its receipt is read and shipped as the sync does."""
    async with httpx.AsyncClient() as web:
        bought = await web.post(
            f"{emulator_url}/__admin/etsy/purchases", json={"listing_id": listing_id}
        )
    assert bought.status_code == 201, bought.text
    receipt_id = int(bought.json()["receipt_id"])
    waiting = await client.receipts_to_ship(SHOP, modified_since=0)
    assert receipt_id in [r["receipt_id"] for r in waiting]
    await client.get_receipt(SHOP, receipt_id)
    await client.create_receipt_shipment(
        SHOP, receipt_id, tracking_code="9400111899560000000001", carrier_name="usps"
    )


async def test_every_client_call_and_emulator_answer_keeps_to_the_contract(
    recorded: tuple[EtsyClient, RecordingTransport], emulator: ThreadedServer
) -> None:
    client, transport = recorded
    called = await call_every_method(client, emulator.url)
    assert called == client_methods() - OAUTH_METHODS, "a client method has no contract check"

    contract = EtsyContract.load()
    operations = set()
    for exchange in transport.exchanges:
        found = contract.operation(exchange.method, exchange.url)
        assert found is not None, f"{exchange.method} {exchange.url}"
        operations.add(found[0].operation_id)
        request = contract.check_request(
            exchange.method, exchange.url, exchange.headers, exchange.body
        )
        answer = contract.check_response(
            exchange.method, exchange.url, exchange.status, exchange.answer
        )
        assert request == [] and answer == [], (exchange.method, exchange.url)
    assert operations >= {
        "createDraftListing",
        "getListingsByShop",
        "getListing",
        "getListingImages",
        "uploadListingImage",
        "updateListing",
        "deleteListing",
        "getShopShippingProfiles",
        "getShopReturnPolicies",
        "getShopReadinessStateDefinitions",
        "getListingInventory",
        "updateListingInventory",
        "getShopReceipts",
        "getShopReceipt",
        "createReceiptShipment",
    }


def _with_form(exchange: Exchange, **changes: str | None) -> bytes:
    fields = dict(parse_qsl(exchange.body.decode(), keep_blank_values=True))
    for name, value in changes.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return urlencode(fields).encode()


async def test_the_contract_refuses_what_etsy_refuses(
    recorded: tuple[EtsyClient, RecordingTransport], emulator: ThreadedServer
) -> None:
    client, transport = recorded
    await call_every_method(client, emulator.url)
    contract = EtsyContract.load()
    create = next(e for e in transport.exchanges if e.method == "POST" and e.status == 201)

    def problems(**changes: str | None) -> list[str]:
        body = _with_form(create, **changes)
        return contract.check_request(create.method, create.url, create.headers, body)

    assert problems() == []
    assert any("is_supply" in p for p in problems(is_supply=None))
    assert any("when_made" in p for p in problems(when_made="2020_2025"))  # retired bucket
    assert any("readiness_state_id" in p for p in problems(readiness_state_id=None))
    assert any("legacy" in p for p in problems(legacy="true"))
    assert any("tag" in p for p in problems(tags=",".join(f"t{i}" for i in range(14))))
    assert any("quantity" in p for p in problems(quantity="ten"))
    assert problems(type="download", readiness_state_id=None, shipping_profile_id=None) == []

    listing_url = create.url.replace(f"shops/{SHOP}/listings", "listings/1")
    inventory = {
        "products": [
            {
                "sku": "A",
                "property_values": [],
                "offerings": [
                    {"price": 20.0, "quantity": 5, "is_enabled": True, "readiness_state_id": None}
                ],
            }
        ]
    }
    headers = {"content-type": "application/json"}
    put = contract.check_request(
        "PUT", f"{listing_url}/inventory", headers, json.dumps(inventory).encode()
    )
    assert any("offering-needs-processing-profile" in p for p in put)
    assert contract.check_request("GET", f"{listing_url}?bogus=1", {}, b"")  # unknown query
    assert contract.check_request("GET", create.url.replace("/listings", "/nowhere"), {}, b"")

    listing = json.loads(next(e.answer for e in transport.exchanges if e.status == 201))
    broken = json.dumps(listing | {"ending_timestamp": None, "tags": "a,b"}).encode()
    answer = contract.check_response("POST", create.url, 201, broken)
    assert any("ending_timestamp" in p for p in answer) and any("tags" in p for p in answer)
    assert contract.check_response("POST", create.url, 418, b"{}")  # a status it never answers

    # Malformed requests and answers: a body where none is taken, the wrong content type,
    # a body or an answer that is not JSON, a tag over 20 characters.
    as_json = {"content-type": "application/json"}

    def any_says(problems: list[str], words: str) -> bool:
        return any(words in problem for problem in problems)

    assert any_says(contract.check_request("GET", listing_url, {}, b"x"), "does not take")
    wrong_type = contract.check_request(create.method, create.url, as_json, b"{}")
    assert any_says(wrong_type, "not ['application/x-www-form-urlencoded']")
    not_json = contract.check_request("PUT", f"{listing_url}/inventory", as_json, b"{oops")
    assert any_says(not_json, "not JSON")
    assert any_says(problems(tags="a" * 21), "tag-length")
    assert any_says(contract.check_response("POST", create.url, 201, b"<html>"), "not JSON")
