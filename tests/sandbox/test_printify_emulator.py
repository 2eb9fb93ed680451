"""The Printify emulator over real HTTP: auth, catalog, uploads, products, locking, paging.

Over 400 lines on purpose: what the emulator accepts and refuses, resource by resource,
as Printify does."""

from __future__ import annotations

import base64
import io
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from core.http_server import ThreadedServer
from sandbox.app import EmulatorConfig, create_emulator_app
from sandbox.printify import _RateLimiter, garments

TOKEN = EmulatorConfig().printify_token
SHOP = EmulatorConfig().printify_shop_id
HEADERS = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "pod-automator-tests/1.0"}
HEX24 = re.compile(r"^[0-9a-f]{24}$")
ENVELOPE_KEYS = {
    "current_page",
    "data",
    "first_page_url",
    "prev_page_url",
    "next_page_url",
    "last_page_url",
    "last_page",
    "total",
    "per_page",
    "from",
    "to",
    "path",
}


def image_bytes(width: int = 60, height: int = 40, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["errors"]["code"] == code
    assert isinstance(body["errors"]["reason"], str)
    return body


@contextmanager
def serve(state_dir: Path | None) -> Iterator[httpx.Client]:
    """A private emulator (own state and rate budget) and a client for its Printify API."""
    server = ThreadedServer(create_emulator_app(state_dir, EmulatorConfig())).start()
    try:
        with httpx.Client(base_url=f"{server.url}/printify/v1", headers=HEADERS) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture
def api(emulator: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{emulator.url}/printify/v1", headers=HEADERS) as client:
        yield client


def upload(
    api: httpx.Client, name: str = "design.png", width: int = 60, height: int = 40
) -> dict[str, Any]:
    contents = b64(image_bytes(width, height))
    response = api.post("/uploads/images.json", json={"file_name": name, "contents": contents})
    assert response.status_code == 200, response.text
    return dict(response.json())


def product_body(image_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Retro Cat Tee",
        "description": "<p>Soft tee</p>",
        "blueprint_id": 6,
        "print_provider_id": 99,
        "tags": ["cat", "retro"],
        "variants": [
            {"id": 12100, "price": 2499, "sku": "SKU-TEST-S"},
            {"id": 12101, "price": 2599},
        ],
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
    body.update(overrides)
    return body


def create_product(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    image = upload(api)
    response = api.post(f"/shops/{SHOP}/products.json", json=product_body(image["id"], **overrides))
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- auth, headers, routing -------------------------------------------------------------


def test_missing_or_wrong_token_is_401(emulator: ThreadedServer) -> None:
    base = f"{emulator.url}/printify/v1/shops.json"
    assert_error(httpx.get(base, headers={"User-Agent": "x"}), 401, 401)
    assert_error(
        httpx.get(base, headers={"User-Agent": "x", "Authorization": "Bearer no"}), 401, 401
    )
    assert_error(httpx.get(base, headers={"User-Agent": "x", "Authorization": TOKEN}), 401, 401)


def test_missing_user_agent_is_400(emulator: ThreadedServer) -> None:
    response = httpx.get(
        f"{emulator.url}/printify/v1/shops.json",
        headers={"Authorization": f"Bearer {TOKEN}", "User-Agent": ""},
    )
    body = assert_error(response, 400, 400)
    assert "User-Agent" in body["errors"]["reason"]


def test_unknown_route_and_bad_path_params_use_vendor_shape(api: httpx.Client) -> None:
    assert_error(api.get("/no/such/thing.json"), 404, 404)
    assert_error(api.delete("/shops.json"), 404, 404)
    body = assert_error(api.get("/catalog/blueprints/abc.json"), 400, 8150)
    assert "blueprint_id" in body["errors"]["reason"]


def test_shops(api: httpx.Client) -> None:
    first = {"id": SHOP, "title": "POD Automator (local)", "sales_channel": "custom_integration"}
    assert api.get("/shops.json").json()[0] == first  # the account's first shop is a custom one


def test_rate_limit_over_600_per_minute_is_429() -> None:
    with serve(None) as client:
        statuses = [client.get("/shops.json").status_code for _ in range(600)]
        assert set(statuses) == {200}
        limited = client.get("/shops.json")
        assert_error(limited, 429, 429)
        assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_rate_window_rolls_over() -> None:
    limiter = _RateLimiter(2, 0.05)
    assert limiter.retry_after("t") is None and limiter.retry_after("t") is None
    wait = limiter.retry_after("t")
    assert wait is not None and 0 < wait <= 0.05
    assert limiter.retry_after("other") is None  # budgets are per token
    time.sleep(0.06)
    assert limiter.retry_after("t") is None


# --- catalog ----------------------------------------------------------------------------


def test_catalog_blueprints_and_providers(api: httpx.Client) -> None:
    blueprints = {bp["id"]: bp for bp in api.get("/catalog/blueprints.json").json()}
    assert {6, 384} <= set(blueprints)
    tee = api.get("/catalog/blueprints/6.json").json()
    assert (tee["title"], tee["brand"], tee["model"]) == (
        "Unisex Heavy Cotton Tee",
        "Gildan",
        "5000",
    )
    providers = api.get("/catalog/blueprints/6/print_providers.json").json()
    assert {p["id"]: p["title"] for p in providers} == {
        99: "Printify Choice",
        29: "Monster Digital",
    }
    all_providers = {p["id"] for p in api.get("/catalog/print_providers.json").json()}
    assert {1, 29, 99} <= all_providers
    assert_error(api.get("/catalog/blueprints/999.json"), 404, 404)
    assert_error(api.get("/catalog/blueprints/999/print_providers.json"), 404, 404)


def test_catalog_variants_and_placeholders(api: httpx.Client) -> None:
    doc = api.get("/catalog/blueprints/6/print_providers/99/variants.json").json()
    assert (doc["id"], doc["title"]) == (99, "Printify Choice")
    by_id = {v["id"]: v for v in doc["variants"]}
    for vid, size in zip((12100, 12101, 12102, 12103), ("S", "M", "L", "XL"), strict=True):
        assert by_id[vid]["options"] == {"color": "Black", "size": size}
        assert by_id[vid]["title"] == f"Black / {size}"
        assert by_id[vid]["placeholders"] == [
            {"position": "front", "height": 5400, "width": 4500},
            {"position": "back", "height": 5400, "width": 4500},
        ]
        assert isinstance(by_id[vid]["cost"], int) and by_id[vid]["cost"] > 0
    assert any(v["options"]["color"] == "White" for v in doc["variants"])
    other = api.get("/catalog/blueprints/6/print_providers/29/variants.json").json()
    assert not {v["id"] for v in other["variants"]} & set(by_id)
    assert other["variants"][0]["placeholders"] == [
        {"position": "front", "height": 4800, "width": 4200}
    ]
    poster = api.get("/catalog/blueprints/384/print_providers/1/variants.json").json()
    assert poster["variants"][0]["placeholders"][0]["width"] == 5400
    assert_error(api.get("/catalog/blueprints/6/print_providers/1/variants.json"), 404, 404)


def test_out_of_stock_variants_only_on_request(api: httpx.Client) -> None:
    path = "/catalog/blueprints/6/print_providers/29/variants.json"
    in_stock = {v["id"] for v in api.get(path).json()["variants"]}
    everything = {
        v["id"] for v in api.get(path, params={"show-out-of-stock": 1}).json()["variants"]
    }
    assert everything - in_stock == {18112}
    assert {v["id"] for v in api.get(path, params={"show-out-of-stock": 0}).json()["variants"]} == (
        in_stock
    )
    assert_error(api.get(path, params={"show-out-of-stock": "true"}), 400, 8150)
    image = upload(api)
    body = product_body(
        image["id"],
        print_provider_id=29,
        variants=[{"id": 18110, "price": 2500}, {"id": 18112, "price": 2500}],
    )
    body["print_areas"][0]["variant_ids"] = [18110, 18112]
    made = api.post(f"/shops/{SHOP}/products.json", json=body).json()
    available = {v["id"]: v["is_available"] for v in made["variants"]}
    assert available[18110] is True and available[18112] is False


def test_mockups_show_the_artwork_on_each_colour(api: httpx.Client) -> None:
    image = upload(api, width=300, height=300)  # red artwork
    body = product_body(
        image["id"], variants=[{"id": 12100, "price": 2500}, {"id": 12110, "price": 2500}]
    )
    body["print_areas"][0]["variant_ids"] = [12100, 12110]
    made = api.post(f"/shops/{SHOP}/products.json", json=body).json()
    images = made["images"]
    assert [(i["variant_ids"], i["is_default"]) for i in images] == [
        ([12100], True),
        ([12110], False),
    ]
    garment = {}
    for mockup in images:
        served = httpx.get(mockup["src"])  # public, as Printify's CDN is: no token
        assert served.status_code == 200 and served.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(served.content)) as picture:
            rgb = picture.convert("RGB")
            garment[mockup["variant_ids"][0]] = rgb.getpixel((230, 650))  # the tee's body
            assert rgb.getpixel((400, 350)) == (200, 30, 30)  # the artwork on the chest
    assert garment[12100] == (0, 0, 0) and garment[12110] == (255, 255, 255)


def test_catalog_shipping(api: httpx.Client) -> None:
    doc = api.get("/catalog/blueprints/6/print_providers/99/shipping.json").json()
    assert doc["handling_time"]["unit"] == "day"
    countries = [profile["countries"] for profile in doc["profiles"]]
    assert ["US"] in countries and ["REST_OF_THE_WORLD"] in countries
    assert 12100 in doc["profiles"][0]["variant_ids"]
    assert doc["profiles"][0]["first_item"]["currency"] == "USD"
    assert_error(api.get("/catalog/blueprints/6/print_providers/5/shipping.json"), 404, 404)


# --- uploads ----------------------------------------------------------------------------


def test_upload_png_and_jpeg(api: httpx.Client) -> None:
    png = upload(api, "art.png", width=64, height=32)
    assert HEX24.match(png["id"])
    assert (png["file_name"], png["width"], png["height"]) == ("art.png", 64, 32)
    assert png["mime_type"] == "image/png"
    assert png["size"] == len(image_bytes(64, 32))
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", png["upload_time"])
    assert png["preview_url"]
    data = image_bytes(30, 20, "JPEG")
    jpeg = api.post("/uploads/images.json", json={"file_name": "a.jpg", "contents": b64(data)})
    assert jpeg.json()["mime_type"] == "image/jpeg"
    assert api.get(f"/uploads/{png['id']}.json").json() == png


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"file_name": "x.gif", "contents": b64(image_bytes(fmt="GIF"))}, "PNG and JPEG"),
        ({"file_name": "x.png", "contents": b64(b"not an image")}, "PNG and JPEG"),
        ({"file_name": "x.png", "contents": "%%%not base64%%%"}, "base64"),
        ({"file_name": "x.png"}, "Exactly one"),
        ({"file_name": "x.png", "contents": "aGk=", "url": "http://127.0.0.1/x"}, "Exactly one"),
        ({"file_name": "x.png", "url": "https://example.com/x.png"}, "127.0.0.1"),
        ({"contents": "aGk="}, "file_name"),
    ],
)
def test_upload_validation(api: httpx.Client, body: dict[str, Any], reason: str) -> None:
    response = api.post("/uploads/images.json", json=body)
    assert reason in assert_error(response, 400, 8150)["errors"]["reason"]


def test_upload_from_local_url(api: httpx.Client, emulator: ThreadedServer) -> None:
    product = create_product(api)
    src = product["images"][0]["src"]
    made = api.post("/uploads/images.json", json={"file_name": "mock.png", "url": src})
    assert made.status_code == 200, made.text
    assert (made.json()["width"], made.json()["height"]) == (garments.SIZE, garments.SIZE)
    missing = f"{emulator.url}/printify/v1/mockups/{'0' * 24}/12100/front.png"
    body = assert_error(
        api.post("/uploads/images.json", json={"file_name": "m", "url": missing}), 400, 8150
    )
    assert "404" in body["errors"]["reason"]
    closed = "http://127.0.0.1:9/nothing.png"
    body = assert_error(
        api.post("/uploads/images.json", json={"file_name": "m", "url": closed}), 400, 8150
    )
    assert "could not be fetched" in body["errors"]["reason"]


def test_archive_hides_upload_from_listing(api: httpx.Client) -> None:
    made = upload(api, "to-archive.png")
    listed = api.get("/uploads.json", params={"limit": 100}).json()
    assert made["id"] in {u["id"] for u in listed["data"]}
    assert api.post(f"/uploads/{made['id']}/archive.json").json() == {}
    listed = api.get("/uploads.json", params={"limit": 100}).json()
    assert made["id"] not in {u["id"] for u in listed["data"]}
    assert api.get(f"/uploads/{made['id']}.json").status_code == 200
    assert_error(api.post(f"/uploads/{'f' * 24}/archive.json"), 404, 404)
    assert_error(api.get(f"/uploads/{'f' * 24}.json"), 404, 404)


def test_pagination_envelope() -> None:
    with serve(None) as api:
        ids = [upload(api, f"p{i}.png")["id"] for i in range(5)]
        first = api.get("/uploads.json", params={"limit": 2}).json()
        assert set(first) == ENVELOPE_KEYS
        assert first == {
            "current_page": 1,
            "data": first["data"],
            "first_page_url": "/?page=1",
            "prev_page_url": None,
            "next_page_url": "/?page=2",
            "last_page_url": "/?page=3",
            "last_page": 3,
            "total": 5,
            "per_page": 2,
            "from": 1,
            "to": 2,
            "path": "/",
        }
        assert [u["id"] for u in first["data"]] == ids[::-1][:2]  # newest first
        last = api.get("/uploads.json", params={"limit": 2, "page": 3}).json()
        assert (last["from"], last["to"], len(last["data"])) == (5, 5, 1)
        assert (last["prev_page_url"], last["next_page_url"]) == ("/?page=2", None)
        beyond = api.get("/uploads.json", params={"limit": 2, "page": 4}).json()
        assert (beyond["data"], beyond["from"], beyond["to"]) == ([], None, None)
        default = api.get("/uploads.json").json()
        assert (default["per_page"], default["last_page"]) == (10, 1)
        assert_error(api.get("/uploads.json", params={"limit": 101}), 400, 8150)
        assert_error(api.get("/uploads.json", params={"page": 0}), 400, 8150)
        empty = api.get(f"/shops/{SHOP}/products.json").json()
        assert (empty["total"], empty["last_page"], empty["data"]) == (0, 1, [])


# --- products ---------------------------------------------------------------------------


def test_create_product_response(api: httpx.Client) -> None:
    product = create_product(api)
    assert HEX24.match(product["id"])
    assert (product["blueprint_id"], product["print_provider_id"]) == (6, 99)
    assert (product["shop_id"], product["visible"], product["is_locked"]) == (SHOP, False, False)
    assert isinstance(product["user_id"], int)
    assert product["tags"] == ["cat", "retro"]
    assert "external" not in product
    assert product["sales_channel_properties"] == []
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00$", product["created_at"])
    variants = {v["id"]: v for v in product["variants"]}
    assert variants[12100]["sku"] == "SKU-TEST-S"
    assert variants[12101]["sku"] and variants[12101]["sku"] != "SKU-TEST-S"
    assert (variants[12100]["price"], variants[12101]["price"]) == (2499, 2599)
    assert variants[12100]["is_enabled"] and variants[12100]["is_default"]
    assert not variants[12102]["is_enabled"]
    assert variants[12100]["cost"] > 0 and variants[12100]["title"] == "Black / S"
    assert {o["name"] for o in product["options"]} == {"Colors", "Sizes"}
    area = product["print_areas"][0]
    assert area["background"] == "#ffffff"
    image = area["placeholders"][0]["images"][0]
    assert (image["name"], image["type"], image["width"], image["height"]) == (
        "design.png",
        "image/png",
        60,
        40,
    )
    assert product["images"][0]["is_default"] is True
    assert set(product["images"][0]["variant_ids"]) == {12100, 12101}
    mock = httpx.get(product["images"][0]["src"])  # public, no auth
    assert mock.status_code == 200 and mock.headers["content-type"] == "image/png"
    assert api.get(f"/shops/{SHOP}/products/{product['id']}.json").json() == product


def test_poster_product_and_default_flag(api: httpx.Client) -> None:
    image = upload(api)
    area = {
        "variant_ids": [45740, 45741],
        "placeholders": [
            {"position": "front", "images": [{"id": image["id"], "x": 0.5, "y": 0.5, "scale": 0.8}]}
        ],
    }
    body = product_body(
        image["id"],
        blueprint_id=384,
        print_provider_id=1,
        variants=[{"id": 45740, "price": 1999}, {"id": 45741, "price": 2999, "is_default": True}],
        print_areas=[area],
    )
    product = api.post(f"/shops/{SHOP}/products.json", json=body).json()
    defaults = [v["id"] for v in product["variants"] if v["is_default"]]
    assert defaults == [45741]
    assert [o["name"] for o in product["options"]] == ["Sizes"]


def _bad(image_id: str, path: str, value: Any) -> dict[str, Any]:
    body = product_body(image_id)
    target: Any = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is ...:
        del target[keys[-1]]
    else:
        target[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("title", ..., "title"),
        ("print_areas", ..., "print_areas"),
        ("blueprint_id", 999, "blueprint_id"),
        ("print_provider_id", 1, "print_provider_id"),
        ("variants.0.id", 18100, "variants.0.id"),
        ("variants.1.id", 12100, "listed twice"),
        ("variants.0.price", 0, "variants.0.price"),
        ("variants.0.price", 24.99, "variants.0.price"),
        ("variants", [], "variants"),
        ("print_areas.0.variant_ids", [18100], "print_areas.0.variant_ids"),
        ("print_areas.0.placeholders.0.position", "sleeve", "position"),
        ("print_areas.0.placeholders.0.images.0.id", "f" * 24, "unknown image"),
        ("print_areas.0.placeholders.0.images.0.x", 1.5, "images.0.x"),
        ("print_areas.0.placeholders.0.images.0.y", -0.1, "images.0.y"),
        ("print_areas.0.placeholders.0.images.0.scale", 0, "images.0.scale"),
    ],
)
def test_create_product_validation(api: httpx.Client, path: str, value: Any, reason: str) -> None:
    image = upload(api)
    response = api.post(f"/shops/{SHOP}/products.json", json=_bad(image["id"], path, value))
    assert reason in assert_error(response, 400, 8150)["errors"]["reason"]


def test_invalid_json_body_and_unknown_shop(api: httpx.Client) -> None:
    response = api.post(
        f"/shops/{SHOP}/products.json",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert "JSON" in assert_error(response, 400, 8150)["errors"]["reason"]
    assert_error(api.post(f"/shops/{SHOP}/products.json", json=[1, 2]), 400, 8150)
    assert_error(api.get("/shops/1/products.json"), 404, 404)
    assert_error(api.post("/shops/1/products.json", json={}), 404, 404)
    assert_error(api.get(f"/shops/{SHOP}/products/{'a' * 24}.json"), 404, 404)


def test_update_product(api: httpx.Client) -> None:
    product = create_product(api)
    url = f"/shops/{SHOP}/products/{product['id']}.json"
    changed = api.put(
        url,
        json={
            "title": "New title",
            "tags": ["new"],
            "variants": [
                {"id": 12101, "price": 3000, "is_default": True},
                {"id": 12102, "is_enabled": True},
            ],
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    variants = {v["id"]: v for v in body["variants"]}
    assert (body["title"], body["tags"], body["description"]) == (
        "New title",
        ["new"],
        "<p>Soft tee</p>",
    )
    assert variants[12101]["price"] == 3000 and variants[12101]["is_default"]
    assert not variants[12100]["is_default"] and variants[12102]["is_enabled"]
    assert variants[12100]["sku"] == "SKU-TEST-S"
    new_image = upload(api, "back.png")
    areas = product_body(new_image["id"])["print_areas"]
    areas[0]["placeholders"][0]["position"] = "back"
    moved = api.put(url, json={"print_areas": areas}).json()
    assert moved["print_areas"][0]["placeholders"][0]["position"] == "back"
    assert {img["position"] for img in moved["images"]} == {"back"}
    disabled = [{"id": vid, "is_enabled": False} for vid in (12100, 12101, 12102)]
    assert api.put(url, json={"variants": disabled}).json()["images"] == []
    reason = assert_error(api.put(url, json={"blueprint_id": 384}), 400, 8150)["errors"]["reason"]
    assert "blueprint_id" in reason
    assert api.put(url, json={"blueprint_id": 6}).status_code == 200
    assert_error(api.put(url, json={"variants": [{"id": 45740, "price": 10}]}), 400, 8150)
    assert_error(api.put(url, json={"variants": [{"id": 12100, "price": -1}]}), 400, 8150)


def test_delete_product(api: httpx.Client) -> None:
    product = create_product(api)
    url = f"/shops/{SHOP}/products/{product['id']}.json"
    assert api.delete(url).json() == {}
    assert_error(api.get(url), 404, 404)
    assert_error(api.delete(url), 404, 404)


def test_lock_and_publishing_flow(api: httpx.Client) -> None:
    product = create_product(api)
    base = f"/shops/{SHOP}/products/{product['id']}"
    assert api.post(f"{base}/publish.json", json={"title": True, "images": False}).json() == {}
    assert api.get(f"{base}.json").json()["is_locked"] is True
    locked = assert_error(api.put(f"{base}.json", json={"title": "x"}), 400, 8252)
    assert locked["errors"]["reason"] == "Product is locked"
    assert api.post(f"{base}/publish.json", json={}).json() == {}  # idempotent while locked
    assert_error(api.post(f"{base}/publish.json", json={"title": "yes"}), 400, 8150)
    bad = api.post(f"{base}/publishing_succeeded.json", json={"external": {"id": "1"}})
    assert "handle" in assert_error(bad, 400, 8150)["errors"]["reason"]
    assert api.get(f"{base}.json").json()["is_locked"] is True
    external = {"id": "12345", "handle": "https://www.etsy.com/listing/12345"}
    ok = api.post(f"{base}/publishing_succeeded.json", json={"external": external})
    assert ok.json() == {}
    after = api.get(f"{base}.json").json()
    assert (after["is_locked"], after["visible"], after["external"]) == (False, True, external)
    assert api.put(f"{base}.json", json={"title": "Editable again"}).status_code == 200
    assert api.post(f"{base}/publish.json").json() == {}  # no body at all: all flags default
    assert_error(api.post(f"{base}/publishing_failed.json", json={}), 400, 8150)
    assert api.post(f"{base}/publishing_failed.json", json={"reason": "etsy down"}).json() == {}
    assert api.get(f"{base}.json").json()["is_locked"] is False
    assert api.post(f"{base}/unpublish.json").json() == {}
    gone = api.get(f"{base}.json").json()
    assert (gone["visible"], "external" in gone) == (False, False)
    assert_error(api.post(f"/shops/{SHOP}/products/{'0' * 24}/publish.json"), 404, 404)


def test_products_list_is_paginated(api: httpx.Client) -> None:
    made = create_product(api)
    page = api.get(f"/shops/{SHOP}/products.json", params={"limit": 1}).json()
    assert set(page) == ENVELOPE_KEYS
    assert page["data"][0]["id"] == made["id"]  # newest first
    assert page["per_page"] == 1 and page["last_page"] == page["total"] >= 1


def test_state_survives_restart(tmp_path: Path) -> None:
    with serve(tmp_path) as first:
        product = create_product(first)
        first.post(f"/shops/{SHOP}/products/{product['id']}/publish.json", json={})
        image_id = product["print_areas"][0]["placeholders"][0]["images"][0]["id"]
    assert (tmp_path / "emulators" / "printify.json").exists()
    with serve(tmp_path) as second:
        again = second.get(f"/shops/{SHOP}/products/{product['id']}.json").json()
        assert again == {**product, "is_locked": True}
        assert second.get(f"/uploads/{image_id}.json").status_code == 200
        newer = create_product(second)
        listed = second.get(f"/shops/{SHOP}/products.json").json()
        assert [p["id"] for p in listed["data"]] == [newer["id"], product["id"]]
