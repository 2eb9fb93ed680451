"""Contract tests of `PrintifyClient` against the Printify emulator over HTTP, incl. retries.

Over 400 lines on purpose: one contract test per client method, against the emulator
over HTTP."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

import integrations.printify as printify_module
from core.http_server import ThreadedServer
from integrations.errors import VendorError
from integrations.http import redact
from integrations.printify import (
    PrintifyClient,
    external_listing,
    parse_printify_error,
    placeholder_size,
)
from sandbox.app import EmulatorConfig
from tests.conftest import emulator_of_its_own
from tests.images import png

USER_AGENT = "pod-automator-tests/1.0"


class RecordingTransport(httpx.AsyncHTTPTransport):
    """A real transport that remembers every request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await super().handle_async_request(request)


@pytest.fixture(scope="module")
def emulator(emulator_config: EmulatorConfig) -> Iterator[ThreadedServer]:
    """This module's own: it counts the requests in the emulators' log."""
    yield from emulator_of_its_own(emulator_config)


def make_client(emulator: ThreadedServer, config: EmulatorConfig, **kwargs: Any) -> PrintifyClient:
    options: dict[str, Any] = {"rate_per_second": 100.0, "backoff_base": 0.01}
    options.update(kwargs)
    return PrintifyClient(
        base_url=f"{emulator.url}/printify/v1",
        token=options.pop("token", config.printify_token),
        user_agent=USER_AGENT,
        **options,
    )


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
async def client(
    emulator: ThreadedServer, emulator_config: EmulatorConfig, transport: RecordingTransport
) -> AsyncIterator[PrintifyClient]:
    made = make_client(emulator, emulator_config, transport=transport)
    yield made
    await made.aclose()


def add_fault(emulator: ThreadedServer, **rule: Any) -> None:
    response = httpx.post(f"{emulator.url}/__admin/faults", json=rule)
    assert response.status_code == 204, response.text


def requests_to(emulator: ThreadedServer, method: str, path: str) -> list[int]:
    log = httpx.get(f"{emulator.url}/__admin/requests").json()
    return [r["status"] for r in log if r["method"] == method and r["path"] == path]


def product_body(image_id: str, sku: str) -> dict[str, Any]:
    return {
        "title": "Contract tee",
        "description": "A tee",
        "blueprint_id": 6,
        "print_provider_id": 99,
        "variants": [{"id": vid, "price": 2499, "sku": f"{sku}-{vid}"} for vid in (12100, 12101)],
        "print_areas": [
            {
                "variant_ids": [12100, 12101],
                "placeholders": [
                    {
                        "position": "front",
                        "images": [{"id": image_id, "x": 0.5, "y": 0.5, "scale": 1, "angle": 0}],
                    }
                ],
            }
        ],
    }


async def new_product(client: PrintifyClient, shop_id: int) -> tuple[dict[str, Any], str]:
    sku = f"T-{uuid.uuid4().hex[:10]}"
    image = await client.upload_image(f"{sku}.png", png())
    return await client.create_product(shop_id, product_body(image["id"], sku)), sku


# --- contract: every method -------------------------------------------------------------


async def test_headers_sent(client: PrintifyClient, transport: RecordingTransport) -> None:
    shops = await client.list_shops()
    assert shops[0]["sales_channel"] == "custom_integration"
    sent = transport.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {EmulatorConfig().printify_token}"
    assert sent.headers["user-agent"] == USER_AGENT
    assert sent.headers["content-type"] == "application/json;charset=utf-8"
    assert sent.url.path == "/printify/v1/shops.json"


async def test_catalog_methods(client: PrintifyClient) -> None:
    blueprints = await client.list_blueprints()
    assert 6 in {bp["id"] for bp in blueprints}
    providers = await client.list_blueprint_providers(6)
    assert 99 in {provider["id"] for provider in providers}
    variants = await client.get_variants(6, 99)
    assert {12100, 12101, 12102, 12103} <= {v["id"] for v in variants["variants"]}
    assert placeholder_size(variants, [12100, 12101, 12102, 12103], "front") == (4500, 5400)
    shipping = await client.get_shipping(6, 99)
    assert shipping["handling_time"]["unit"] == "day"
    assert shipping["profiles"][0]["first_item"]["cost"] > 0


async def test_upload_find_and_get(
    client: PrintifyClient, transport: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"upload-{uuid.uuid4().hex}.png"
    made = await client.upload_image(name, png(80, 40))
    assert (made["width"], made["height"], made["mime_type"]) == (80, 40, "image/png")
    sent = json.loads(transport.requests[-1].content)
    assert sent["file_name"] == name and isinstance(sent["contents"], str)
    assert await client.get_upload(made["id"]) == made
    assert await client.find_upload(name) == made
    assert transport.requests[-1].url.params["limit"] == "100"
    assert await client.find_upload(f"missing-{uuid.uuid4().hex}.png") is None
    # Force several pages: the match is then found past page 1.
    for i in range(3):
        await client.upload_image(f"filler-{i}-{uuid.uuid4().hex}.png", png(8, 8))
    monkeypatch.setattr(printify_module, "UPLOADS_PAGE_LIMIT", 1)
    before = len(transport.requests)
    assert (await client.find_upload(name)) == made
    pages = [r.url.params["page"] for r in transport.requests[before:]]
    assert pages == [str(n) for n in range(1, len(pages) + 1)] and len(pages) >= 4


async def test_upload_by_url_is_fetched_by_printify(
    client: PrintifyClient, emulator: ThreadedServer, transport: RecordingTransport
) -> None:
    made = await client.upload_image("source.png", png(120, 90))
    missing = f"{emulator.url}/etsy/images/0"
    with pytest.raises(VendorError) as unreachable:
        await client.upload_image_url("missing.png", missing)
    assert unreachable.value.status == 400 and missing not in str(unreachable.value)
    assert made["width"] == 120
    products = await client.create_product(
        EmulatorConfig().printify_shop_id,
        {
            "title": "Fetched",
            "description": "<p>x</p>",
            "blueprint_id": 6,
            "print_provider_id": 99,
            "variants": [{"id": 12100, "price": 2000}],
            "print_areas": [
                {
                    "variant_ids": [12100],
                    "placeholders": [
                        {
                            "position": "front",
                            "images": [{"id": made["id"], "x": 0.5, "y": 0.5, "scale": 1}],
                        }
                    ],
                }
            ],
        },
    )
    served = products["images"][0]["src"]
    fetched = await client.upload_image_url("by-url.png", served)
    sent = json.loads(transport.requests[-1].content)
    assert sent == {"file_name": "by-url.png", "url": served}
    assert fetched["file_name"] == "by-url.png" and fetched["mime_type"] == "image/png"


async def test_product_crud_and_sku_lookup(
    client: PrintifyClient, emulator_config: EmulatorConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = emulator_config.printify_shop_id
    product, sku = await new_product(client, shop)
    assert len(product["id"]) == 24
    assert (await client.get_product(shop, product["id"]))["title"] == "Contract tee"
    updated = await client.update_product(shop, product["id"], {"title": "Renamed"})
    assert updated["title"] == "Renamed"
    found = await client.find_product_by_sku(shop, f"{sku}-12101")
    assert found is not None and found["id"] == product["id"]
    assert await client.find_product_by_sku(shop, f"{sku}-nope") is None
    older, older_sku = product, sku
    await new_product(client, shop)
    monkeypatch.setattr(printify_module, "PRODUCTS_PAGE_LIMIT", 1)
    deep = await client.find_product_by_sku(shop, f"{older_sku}-12100")
    assert deep is not None and deep["id"] == older["id"]
    assert await client.delete_product(shop, product["id"]) == {}
    with pytest.raises(VendorError) as missing:
        await client.get_product(shop, product["id"])
    assert (missing.value.status, missing.value.code) == (404, "PRINTIFY_NOT_FOUND")
    assert not missing.value.retryable


async def test_publishing_flow(
    client: PrintifyClient, transport: RecordingTransport, emulator_config: EmulatorConfig
) -> None:
    shop = emulator_config.printify_shop_id
    product, _ = await new_product(client, shop)
    assert await client.publish(shop, product["id"]) == {}
    assert json.loads(transport.requests[-1].content) == {
        "title": True,
        "description": True,
        "images": True,
        "variants": True,
        "tags": True,
        "keyFeatures": True,
        "shipping_template": True,
    }
    assert (await client.get_product(shop, product["id"]))["is_locked"] is True
    with pytest.raises(VendorError) as locked:
        await client.update_product(shop, product["id"], {"title": "x"})
    assert locked.value.details == {"reason": "Product is locked", "vendor_code": 8252}
    assert not locked.value.retryable
    assert await client.publish(shop, product["id"], {"images": False}) == {}
    assert json.loads(transport.requests[-1].content)["images"] is False
    handle = "https://www.etsy.com/listing/424242"
    assert await client.publishing_succeeded(shop, product["id"], "424242", handle) == {}
    live = await client.get_product(shop, product["id"])
    assert (live["is_locked"], live["visible"]) == (False, True)
    assert live["external"] == {"id": "424242", "handle": handle}
    await client.publish(shop, product["id"])
    assert await client.publishing_failed(shop, product["id"], "listing rejected") == {}
    assert (await client.get_product(shop, product["id"]))["is_locked"] is False
    assert await client.unpublish(shop, product["id"]) == {}
    assert "external" not in await client.get_product(shop, product["id"])


async def test_default_rate_limit_allows_calls(
    emulator: ThreadedServer, emulator_config: EmulatorConfig
) -> None:
    slow = make_client(emulator, emulator_config, rate_per_second=5.0)
    try:
        started = time.monotonic()
        for _ in range(3):
            assert await slow.list_shops()
        assert time.monotonic() - started >= 0.3  # 3 calls at 5/s need >= 2 intervals
    finally:
        await slow.aclose()


# --- errors and retries -----------------------------------------------------------------


async def test_validation_error_is_permanent_with_reason(
    client: PrintifyClient,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    clear_faults: None,
) -> None:
    shop = emulator_config.printify_shop_id
    body = product_body("f" * 24, "BAD")
    body["variants"][0]["price"] = 0
    with pytest.raises(VendorError) as caught:
        await client.create_product(shop, body)
    error = caught.value
    assert (error.status, error.code, error.retryable) == (400, "PRINTIFY_VALIDATION", False)
    assert error.details["vendor_code"] == 8150
    assert "variants.0.price" in error.details["reason"]
    assert "Validation failed." in error.message
    assert requests_to(emulator, "POST", f"/printify/v1/shops/{shop}/products.json") == [400]


async def test_get_is_retried_after_503(
    client: PrintifyClient, emulator: ThreadedServer, clear_faults: None
) -> None:
    add_fault(emulator, method="GET", path_regex=r"/printify/v1/shops\.json$", status=503)
    shops = await client.list_shops()
    assert shops[0]["id"] == EmulatorConfig().printify_shop_id
    assert requests_to(emulator, "GET", "/printify/v1/shops.json") == [503, 200]


async def test_get_gives_up_after_max_attempts(
    emulator: ThreadedServer, emulator_config: EmulatorConfig, clear_faults: None
) -> None:
    add_fault(emulator, method="GET", path_regex=r"blueprints\.json$", status=502, times=5)
    limited = make_client(emulator, emulator_config, max_attempts=3)
    try:
        with pytest.raises(VendorError) as caught:
            await limited.list_blueprints()
    finally:
        await limited.aclose()
    assert (caught.value.status, caught.value.retryable) == (502, True)
    assert caught.value.message.endswith("injected fault")
    path = "/printify/v1/catalog/blueprints.json"
    assert requests_to(emulator, "GET", path) == [502, 502, 502]


async def test_post_503_is_not_retried(
    client: PrintifyClient,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    clear_faults: None,
) -> None:
    shop = emulator_config.printify_shop_id
    image = await client.upload_image("post-503.png", png())
    sku = f"P503-{uuid.uuid4().hex[:8]}"
    add_fault(emulator, method="POST", path_regex=r"/products\.json$", status=503, mode="after")
    with pytest.raises(VendorError) as caught:
        await client.create_product(shop, product_body(image["id"], sku))
    error = caught.value
    assert (error.status, error.code, error.retryable) == (503, "PRINTIFY_UNAVAILABLE", True)
    assert requests_to(emulator, "POST", f"/printify/v1/shops/{shop}/products.json") == [503]
    # The vendor acted before the answer was lost: the lookup finds the product.
    found = await client.find_product_by_sku(shop, f"{sku}-12100")
    assert found is not None and found["title"] == "Contract tee"


async def test_429_with_retry_after_is_retried(
    client: PrintifyClient, emulator: ThreadedServer, clear_faults: None
) -> None:
    add_fault(
        emulator,
        method="POST",
        path_regex=r"/uploads/images\.json$",
        status=429,
        retry_after=1,
    )
    started = time.monotonic()
    made = await client.upload_image("after-429.png", png(20, 10))
    assert time.monotonic() - started >= 0.9
    assert (made["width"], made["height"]) == (20, 10)
    assert requests_to(emulator, "POST", "/printify/v1/uploads/images.json") == [429, 200]


async def test_bad_token_is_auth_error_without_leaking(
    emulator: ThreadedServer, emulator_config: EmulatorConfig
) -> None:
    secret = "super-secret-token-value"
    wrong = make_client(emulator, emulator_config, token=secret)
    try:
        with pytest.raises(VendorError) as caught:
            await wrong.list_shops()
    finally:
        await wrong.aclose()
    error = caught.value
    assert (error.status, error.code, error.retryable) == (401, "PRINTIFY_AUTH", False)
    assert secret not in str(error) and secret not in repr(error.details)


# --- pure helpers -----------------------------------------------------------------------


def test_placeholder_size_takes_largest_and_names_missing() -> None:
    doc = {
        "variants": [
            {"id": 1, "placeholders": [{"position": "front", "width": 100, "height": 300}]},
            {
                "id": 2,
                "placeholders": [
                    {"position": "front", "width": 200, "height": 250},
                    {"position": "back", "width": 10, "height": 10},
                ],
            },
        ]
    }
    assert placeholder_size(doc, [1, 2], "front") == (200, 300)
    assert placeholder_size(doc, [2], "back") == (10, 10)
    with pytest.raises(ValueError, match=r"\[3\]"):
        placeholder_size(doc, [1, 3], "front")
    with pytest.raises(ValueError, match=r"'back'.*\[1\]"):
        placeholder_size(doc, [1, 2], "back")
    with pytest.raises(ValueError, match="front"):
        placeholder_size(doc, [], "front")


def _response(
    status: int, content: bytes, content_type: str = "application/json"
) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"content-type": content_type})


def error_parser(secret: str) -> Callable[[httpx.Response], tuple[str, dict[str, Any]]]:
    """Parsing as VendorHttp does it: the Printify parser, then redaction of the token."""

    def parse(response: httpx.Response) -> tuple[str, dict[str, Any]]:
        message, details = parse_printify_error(response)
        return redact(message, [secret]), redact(details, [secret])

    return parse


def test_error_parser_shapes_and_redaction() -> None:
    parse = error_parser("tok-123")
    vendor = json.dumps(
        {
            "status": "error",
            "code": 8203,
            "message": "Validation failed.",
            "errors": {"reason": "Image has low quality", "code": 8203},
        }
    ).encode()
    assert parse(_response(400, vendor)) == (
        "Validation failed. (Image has low quality)",
        {"reason": "Image has low quality", "vendor_code": 8203},
    )
    assert parse(_response(500, b"<html>boom tok-123</html>", "text/html")) == (
        "<html>boom ***</html>",
        {},
    )
    assert parse(_response(502, b"")) == ("Bad Gateway", {})
    listed = json.dumps({"message": "bad tok-123", "code": 8502, "errors": ["tok-123"]}).encode()
    assert parse(_response(400, listed)) == (
        "bad ***",
        {"errors": "['***']", "vendor_code": 8502},
    )
    assert parse(_response(503, b'{"error": "injected fault", "status": 503}')) == (
        "injected fault",
        {},
    )
    assert error_parser("")(_response(400, b'{"message": "plain"}')) == ("plain", {})


async def test_the_token_never_leaves_in_an_error() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"]
        body = {"message": f"bad {token}", "errors": {"reason": token, "code": 8150}}
        return httpx.Response(400, json=body)

    client = PrintifyClient(
        base_url="https://api.printify.test/v1",
        token="tok-secret-1",
        user_agent="tests",
        transport=httpx.MockTransport(echo),
    )
    try:
        with pytest.raises(VendorError) as refused:
            await client.list_shops()
    finally:
        await client.aclose()
    text = f"{refused.value} {refused.value.details}"
    assert "tok-secret-1" not in text
    assert "***" in text


def test_external_is_read_as_an_object_or_a_list() -> None:
    listing = {"id": "424242", "handle": "https://www.etsy.com/listing/424242"}
    assert external_listing({"external": listing}) == listing
    assert external_listing({"external": [{"id": ""}, listing]}) == listing
    assert external_listing({"external": []}) is None
    assert external_listing({"external": None}) is None
    assert external_listing({}) is None


async def test_orders_once_per_external_id(
    client: PrintifyClient, emulator_config: EmulatorConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = emulator_config.printify_shop_id
    product, sku = await new_product(client, shop)
    receipt = f"etsy-{uuid.uuid4().hex[:8]}"
    body = {
        "external_id": receipt,
        "label": receipt,
        "line_items": [{"product_id": product["id"], "variant_id": 12101, "quantity": 1}],
        "shipping_method": 1,
        "send_shipping_notification": False,
        "address_to": {
            "first_name": "Alex",
            "last_name": "Buyer",
            "country": "US",
            "region": "IL",
            "address1": "123 Main Street",
            "city": "Springfield",
            "zip": "62701",
        },
    }
    created = await client.create_order(shop, body)
    order = await client.get_order(shop, created["id"])
    assert order["status"] == "on-hold" and order["line_items"][0]["metadata"]["sku"].startswith(
        sku
    )

    # The answer was lost and the order sent again: Printify says it exists, and the
    # order is found by its external id, several pages down.
    with pytest.raises(VendorError) as again:
        await client.create_order(shop, body)
    assert printify_module.is_order_exists(again.value) and not again.value.retryable
    for n in range(2):
        await client.create_order(shop, body | {"external_id": f"{receipt}-later-{n}"})
    monkeypatch.setattr(printify_module, "ORDERS_PAGE_LIMIT", 1)
    found = await client.find_order_by_external_id(shop, receipt)
    assert found is not None and found["id"] == created["id"]
    assert await client.find_order_by_external_id(shop, f"{receipt}-never") is None

    sent = await client.send_order_to_production(shop, created["id"])
    assert sent["status"] == "sending-to-production"
    with pytest.raises(VendorError) as late:  # in production: too late to cancel
        await client.cancel_order(shop, created["id"])
    assert late.value.status == 400 and not printify_module.is_order_exists(late.value)
    held = await client.find_order_by_external_id(shop, f"{receipt}-later-0")
    assert held is not None
    assert (await client.cancel_order(shop, held["id"]))["status"] == "canceled"
