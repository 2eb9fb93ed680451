"""The Etsy v3 emulator over real HTTP: auth, validation, images, OAuth, limits, persistence.

Over 400 lines on purpose: what the emulator accepts and refuses, endpoint by endpoint,
against Etsy's own OpenAPI document."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from core.http_server import ThreadedServer, free_port
from sandbox import etsy as sandbox_etsy
from sandbox import etsy_oauth
from sandbox.app import EmulatorConfig, create_emulator_app
from sandbox.contracts import EtsyContract
from sandbox.etsy import READINESS_STATE_ID, RETURN_POLICY_ID, SHIPPING_PROFILE_ID
from sandbox.etsy_oauth import RateLimiter
from sandbox.etsy_rules import EtsyError
from tests.images import png

CONFIG = EmulatorConfig()
KEY = f"{CONFIG.etsy_keystring}:{CONFIG.etsy_shared_secret}"
AUTH = {"x-api-key": KEY, "authorization": f"Bearer {CONFIG.etsy_access_token}"}
SHOP = CONFIG.etsy_shop_id


def draft_form(**changes: str | None) -> dict[str, str]:
    form = {
        "quantity": "10",
        "title": "Retro Sunset Cat T-Shirt",
        "description": "A soft tee with a retro sunset cat.",
        "price": "24.99",
        "who_made": "i_did",
        "when_made": "made_to_order",
        "is_supply": "false",
        "taxonomy_id": "482",
        "shipping_profile_id": str(SHIPPING_PROFILE_ID),
        "readiness_state_id": str(READINESS_STATE_ID),
        "return_policy_id": str(RETURN_POLICY_ID),
        "tags": "cat shirt, retro sunset, gift for her",
    }
    for name, value in changes.items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    return form


class PatientTransport(httpx.HTTPTransport):
    """Waits out 429s, so the shared emulator's 10 QPS cannot make these tests flaky."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        while True:
            response = super().handle_request(request)
            if response.status_code != 429:
                return response
            response.close()
            time.sleep(float(response.headers.get("retry-after", "1")))


WEB = httpx.Client(transport=PatientTransport())


@pytest.fixture(scope="module", autouse=True)
def _close_web() -> Iterator[None]:
    yield
    WEB.close()


@pytest.fixture
def api(emulator: ThreadedServer) -> Iterator[httpx.Client]:
    """The emulator's API; every answer it gives to an operation of Etsy's published
    document is checked against that document (tests send bad requests on purpose, so
    only the answers are)."""
    contract = EtsyContract.load()
    problems: list[str] = []

    def check(response: httpx.Response) -> None:
        request = response.request
        if contract.operation(request.method, str(request.url)) is None:
            return
        response.read()
        found = contract.check_response(
            request.method, str(request.url), response.status_code, response.content
        )
        problems.extend(found)

    with httpx.Client(
        base_url=f"{emulator.url}/etsy/v3",
        headers=AUTH,
        transport=PatientTransport(),
        event_hooks={"response": [check]},
    ) as client:
        yield client
    assert problems == []


@pytest.fixture
def draft(api: httpx.Client) -> dict[str, Any]:
    response = api.post(f"/application/shops/{SHOP}/listings", data=draft_form())
    assert response.status_code == 201, response.text
    return response.json()


def upload(
    api: httpx.Client, listing_id: int, image: bytes | None = None, **form: str
) -> httpx.Response:
    files = {"image": ("design.png", image or png(), "image/png")}
    path = f"/application/shops/{SHOP}/listings/{listing_id}/images"
    return api.post(path, files=files, data=form)


# --- keys and tokens --------------------------------------------------------------------


def test_missing_api_key_is_401(api: httpx.Client) -> None:
    response = api.get("/application/openapi-ping", headers={"x-api-key": ""})
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("key", [CONFIG.etsy_keystring, f"{CONFIG.etsy_keystring}:wrong"])
def test_keystring_only_or_wrong_secret_is_403(api: httpx.Client, key: str) -> None:
    response = api.get(f"/application/shops/{SHOP}", headers={"x-api-key": key})
    assert response.status_code == 403
    assert "keystring:shared_secret" in response.json()["error"]


def test_bad_or_missing_bearer_is_401_in_oauth_shape(api: httpx.Client) -> None:
    bad = api.get("/application/users/me", headers={"authorization": "Bearer 1000.nope"})
    assert bad.status_code == 401
    assert bad.json() == {"error": "invalid_token", "error_description": "access token is invalid"}
    missing = api.get("/application/users/me", headers={"authorization": ""})
    assert missing.status_code == 401
    assert missing.json()["error"] == "invalid_token"
    create = api.post(
        f"/application/shops/{SHOP}/listings",
        data=draft_form(),
        headers={"authorization": "Basic abc"},
    )
    assert create.status_code == 401


def test_api_key_routes_need_no_token(api: httpx.Client, draft: dict[str, Any]) -> None:
    headers = {"authorization": ""}
    assert api.get(f"/application/shops/{SHOP}", headers=headers).status_code == 200
    listing = api.get(f"/application/listings/{draft['listing_id']}", headers=headers)
    assert listing.status_code == 200


def test_ping_me_and_shop(api: httpx.Client) -> None:
    assert isinstance(api.get("/application/openapi-ping").json()["application_id"], int)
    assert api.get("/application/users/me").json() == {
        "user_id": CONFIG.etsy_user_id,
        "shop_id": SHOP,
    }
    shop = api.get(f"/application/shops/{SHOP}").json()
    assert shop["shop_id"] == SHOP and shop["user_id"] == CONFIG.etsy_user_id
    assert shop["currency_code"] == "USD"
    assert isinstance(shop["listing_active_count"], int)
    assert {"shop_name", "title", "url", "num_favorers", "is_vacation"} <= set(shop)
    missing = api.get("/application/shops/1")
    assert missing.status_code == 404 and "shop_id" in missing.json()["error"]


def test_path_validation_errors_use_the_etsy_shape(api: httpx.Client) -> None:
    response = api.get("/application/listings/not-a-number")
    assert response.status_code == 400
    assert response.json()["error"].startswith("There was a problem with /listing_id")


# --- createDraftListing -----------------------------------------------------------------


def test_new_draft_has_the_shop_listing_fields(
    draft: dict[str, Any], emulator: ThreadedServer
) -> None:
    assert draft["state"] == "draft"
    assert isinstance(draft["listing_id"], int)
    assert draft["price"] == {"amount": 2499, "divisor": 100, "currency_code": "USD"}
    assert draft["tags"] == ["cat shirt", "retro sunset", "gift for her"]
    assert draft["shop_id"] == SHOP and draft["user_id"] == CONFIG.etsy_user_id
    assert draft["quantity"] == 10 and draft["taxonomy_id"] == 482
    assert draft["shipping_profile_id"] == SHIPPING_PROFILE_ID
    assert draft["listing_type"] == "physical"
    for stamp in (
        "created_timestamp",
        "creation_timestamp",
        "updated_timestamp",
        "state_timestamp",
    ):
        assert isinstance(draft[stamp], int) and abs(draft[stamp] - time.time()) < 60
    assert draft["url"] == f"{CONFIG.public_url}/etsy/listing/{draft['listing_id']}"


def test_draft_accepts_every_allowed_character(api: httpx.Client) -> None:
    title = "Cat™ Tee© Brand® 100% cotton: sun & fun + more, (ÉTÉ) <3"
    tags = ", ".join(f"tag number {i:02d} -'x" for i in range(13))
    form = draft_form(
        title=title,
        tags=tags,
        materials="cotton, polyester blend",
        return_policy_id=str(RETURN_POLICY_ID),
        processing_min="1",
        processing_max="5",
        is_supply="false",
        should_auto_renew="1",
    )
    response = api.post(f"/application/shops/{SHOP}/listings", data=form)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["title"] == title and len(body["tags"]) == 13
    assert body["materials"] == ["cotton", "polyester blend"]
    assert body["should_auto_renew"] is True and body["return_policy_id"] == RETURN_POLICY_ID


def test_repeated_tags_field_keeps_the_last_value(api: httpx.Client) -> None:
    form: list[tuple[str, str | int | float | bool | None]] = [
        *draft_form(tags=None).items(),
        ("tags[]", "first"),
        ("tags[]", "second, third"),
    ]
    response = api.post(
        f"/application/shops/{SHOP}/listings",
        content=str(httpx.QueryParams(form)),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201
    assert response.json()["tags"] == ["second", "third"]


def test_download_listing_needs_no_shipping_profile(api: httpx.Client) -> None:
    form = draft_form(type="download", shipping_profile_id=None, readiness_state_id=None)
    response = api.post(f"/application/shops/{SHOP}/listings", data=form)
    assert response.status_code == 201
    assert response.json()["listing_type"] == "download"


INVALID_DRAFTS = [
    *[({name: None}, name) for name in ("quantity", "title", "description", "price")],
    *[({name: None}, name) for name in ("who_made", "when_made", "taxonomy_id")],
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "1000"}, "quantity"),
    ({"quantity": "two"}, "quantity"),
    ({"price": "0"}, "price"),
    ({"price": "-3.50"}, "price"),
    ({"price": "cheap"}, "price"),
    ({"price": "nan"}, "price"),
    ({"who_made": "a_robot"}, "who_made"),
    ({"when_made": "2030_2039"}, "when_made"),
    ({"when_made": "2020_2025"}, "when_made"),  # retired in Etsy's 2026 document
    ({"when_made": "before_2006"}, "when_made"),
    ({"is_supply": None}, "is_supply"),  # who_made, when_made and is_supply go together
    ({"legacy": "true"}, "legacy"),
    ({"readiness_state_id": None}, "readiness_state_id"),
    ({"readiness_state_id": "9999"}, "readiness_state_id"),
    ({"taxonomy_id": "0"}, "taxonomy_id"),
    ({"description": "   "}, "description"),
    ({"shipping_profile_id": None}, "shipping_profile_id"),
    ({"shipping_profile_id": "9999"}, "shipping_profile_id"),
    ({"return_policy_id": "9999"}, "return_policy_id"),
    ({"type": "digital"}, "type"),
    ({"is_supply": "maybe"}, "is_supply"),
    ({"title": "x" * 141}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "100% cotton, 50% off"}, "title"),
    ({"title": "Cats: the tee: again"}, "title"),
    ({"title": "Salt & pepper & more"}, "title"),
    ({"title": "One + two + three"}, "title"),
    ({"title": "Cat tee 😺"}, "title"),
    ({"title": "Price $20"}, "title"),
    ({"tags": ", ".join(f"tag{i}" for i in range(14))}, "tags"),
    ({"tags": "a" * 21}, "tags"),
    ({"tags": "Cat Shirt, cat shirt"}, "tags"),
    ({"tags": "cats!"}, "tags"),
    ({"tags": "cat & dog"}, "tags"),
    ({"materials": "cotton-blend"}, "materials"),
]


@pytest.mark.parametrize(("changes", "field"), INVALID_DRAFTS)
def test_invalid_draft_is_refused(
    api: httpx.Client, changes: dict[str, str | None], field: str
) -> None:
    response = api.post(f"/application/shops/{SHOP}/listings", data=draft_form(**changes))
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"].startswith(f"There was a problem with /{field} : ")


def test_title_rule_messages_name_the_problem(api: httpx.Client) -> None:
    twice = api.post(
        f"/application/shops/{SHOP}/listings", data=draft_form(title="50% off 100% fun")
    )
    assert "only once" in twice.json()["error"]
    many = api.post(
        f"/application/shops/{SHOP}/listings",
        data=draft_form(tags=",".join(f"t{i}" for i in range(14))),
    )
    assert "at most 13 tags" in many.json()["error"]
    shouting = api.post(
        f"/application/shops/{SHOP}/listings", data=draft_form(title="BEST CAT MOM EVER Shirt")
    )
    assert shouting.status_code == 400
    assert "at most 3 words in all capital letters" in shouting.json()["error"]
    three = api.post(
        f"/application/shops/{SHOP}/listings", data=draft_form(title="BEST CAT MOM Ever, 2XL")
    )
    assert three.status_code == 400  # "2XL" is a word in capitals too
    assert "found 4: BEST, CAT, MOM, XL" in three.json()["error"]
    allowed = api.post(
        f"/application/shops/{SHOP}/listings", data=draft_form(title="BEST CAT MOM Ever, I")
    )
    assert allowed.status_code == 201, allowed.text


def test_json_body_is_refused(api: httpx.Client) -> None:
    response = api.post(f"/application/shops/{SHOP}/listings", json=draft_form())
    assert response.status_code == 400
    assert "x-www-form-urlencoded" in response.json()["error"]


def test_draft_for_another_shop_is_404(api: httpx.Client) -> None:
    response = api.post("/application/shops/42/listings", data=draft_form())
    assert response.status_code == 404


# --- images, activation, updates --------------------------------------------------------


def test_activation_needs_an_image(api: httpx.Client, draft: dict[str, Any]) -> None:
    listing_id = draft["listing_id"]
    path = f"/application/shops/{SHOP}/listings/{listing_id}"
    refused = api.patch(path, data={"state": "active"})
    assert refused.status_code == 400
    assert "image" in refused.json()["error"]
    before = api.get(f"/application/shops/{SHOP}").json()["listing_active_count"]

    image = upload(api, listing_id, png(80, 60, (0, 128, 255)), alt_text="Blue design")
    assert image.status_code == 201, image.text
    body = image.json()
    assert body["listing_id"] == listing_id and body["rank"] == 1
    assert (body["full_width"], body["full_height"], body["hex_code"]) == (80, 60, "0080FF")
    assert body["alt_text"] == "Blue design" and isinstance(body["listing_image_id"], int)
    for size in ("url_75x75", "url_170x135", "url_570xN", "url_fullxfull"):
        assert body[size].endswith(f"/etsy/images/{body['listing_image_id']}")

    active = api.patch(path, data={"state": "active"})
    assert active.status_code == 200
    assert active.json()["state"] == "active"
    assert active.json()["ending_timestamp"] > time.time()
    assert api.get(f"/application/shops/{SHOP}").json()["listing_active_count"] == before + 1
    listed = api.get(f"/application/shops/{SHOP}/listings", params={"state": "active"}).json()
    assert listing_id in [item["listing_id"] for item in listed["results"]]

    inactive = api.patch(path, data={"state": "inactive"})
    assert inactive.json()["state"] == "inactive" and isinstance(
        inactive.json()["ending_timestamp"], int
    )


def test_update_validates_and_changes_fields(api: httpx.Client, draft: dict[str, Any]) -> None:
    path = f"/application/shops/{SHOP}/listings/{draft['listing_id']}"
    for form, field in [
        ({"tags": "a, A"}, "tags"),
        ({"state": "draft"}, "state"),
        ({"title": "a %% b"}, "title"),
        ({"price": "0"}, "price"),
        ({"shipping_profile_id": "1"}, "shipping_profile_id"),
    ]:
        response = api.patch(path, data=form)
        assert response.status_code == 400
        assert response.json()["error"].startswith(f"There was a problem with /{field}")
    assert api.patch(path, json={"title": "x"}).status_code == 400
    changed = api.patch(
        path,
        data={
            "title": "New Title",
            "tags": "one,two",
            "price": "9.5",
            "quantity": "3",
            "type": "both",
        },
    ).json()
    assert changed["title"] == "New Title" and changed["tags"] == ["one", "two"]
    assert changed["price"]["amount"] == 950 and changed["quantity"] == 3
    assert changed["listing_type"] == "both"
    assert (
        api.patch(f"/application/shops/{SHOP}/listings/1", data={"title": "x"}).status_code == 404
    )


def test_image_upload_rules(api: httpx.Client, draft: dict[str, Any]) -> None:
    listing_id = draft["listing_id"]
    path = f"/application/shops/{SHOP}/listings/{listing_id}/images"
    not_image = api.post(path, files={"image": ("x.png", b"not an image", "image/png")})
    assert not_image.status_code == 400 and "/image" in not_image.json()["error"]
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "BMP")
    bmp = api.post(path, files={"image": ("x.bmp", buffer.getvalue(), "image/bmp")})
    assert bmp.status_code == 400
    assert api.post(path, data={"image": "text"}, files={"x": ("a", b"a")}).status_code == 400
    assert api.post(path, data={"rank": "1"}, files={"x": ("a", b"a")}).status_code == 400
    assert api.post(path, json={"image": "x"}).status_code == 400
    assert upload(api, listing_id, rank="zero").status_code == 400
    assert upload(api, listing_id, alt_text="a" * 501).status_code == 400
    assert api.get(f"/application/listings/{listing_id}/images").json()["count"] == 0


def test_image_ranks_overwrite_and_limit(api: httpx.Client, draft: dict[str, Any]) -> None:
    listing_id = draft["listing_id"]
    first = upload(api, listing_id, png(color=(1, 1, 1))).json()
    second = upload(api, listing_id, png(color=(2, 2, 2)), rank="1").json()
    third = upload(api, listing_id, png(color=(3, 3, 3)), rank="9").json()
    assert (second["rank"], third["rank"]) == (1, 3)
    images = api.get(f"/application/listings/{listing_id}/images").json()
    ids = [image["listing_image_id"] for image in images["results"]]
    assert images["count"] == 3
    assert ids == [second["listing_image_id"], first["listing_image_id"], third["listing_image_id"]]

    replaced = upload(api, listing_id, png(color=(4, 4, 4)), rank="2", overwrite="true").json()
    images = api.get(f"/application/listings/{listing_id}/images").json()["results"]
    assert [image["listing_image_id"] for image in images][1] == replaced["listing_image_id"]
    assert len(images) == 3

    copied = upload_existing(api, listing_id, second["listing_image_id"])
    assert copied.status_code == 201 and copied.json()["hex_code"] == second["hex_code"]
    assert upload_existing(api, listing_id, 1).status_code == 400
    for _ in range(16):  # Etsy's limit: 20 images
        assert upload(api, listing_id).status_code == 201
    over = upload(api, listing_id)
    assert over.status_code == 400 and "at most 20 images" in over.json()["error"]
    assert upload(api, listing_id, rank="1", overwrite="true").status_code == 201

    listing = api.get(
        f"/application/listings/{listing_id}", params={"includes": "Images,Shop"}
    ).json()
    assert len(listing["images"]) == 20 and listing["shop"]["shop_id"] == SHOP
    assert "images" not in api.get(f"/application/listings/{listing_id}").json()


def upload_existing(api: httpx.Client, listing_id: int, image_id: int) -> httpx.Response:
    path = f"/application/shops/{SHOP}/listings/{listing_id}/images"
    return api.post(path, data={"listing_image_id": str(image_id)}, files={"x": ("x", b"x")})


def test_upload_to_unknown_listing_is_404(api: httpx.Client) -> None:
    assert upload(api, 1).status_code == 404


def test_get_listings_by_shop_pages_newest_first(api: httpx.Client) -> None:
    made = [
        api.post(f"/application/shops/{SHOP}/listings", data=draft_form(title=f"Paging {i}")).json()
        for i in range(3)
    ]
    page = api.get(f"/application/shops/{SHOP}/listings", params={"state": "draft", "limit": 2})
    body = page.json()
    assert body["count"] >= 3 and len(body["results"]) == 2
    newest = [item["listing_id"] for item in body["results"]]
    assert newest == [made[2]["listing_id"], made[1]["listing_id"]]
    next_page = api.get(
        f"/application/shops/{SHOP}/listings", params={"state": "draft", "limit": 1, "offset": 2}
    )
    assert next_page.json()["results"][0]["listing_id"] == made[0]["listing_id"]
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"offset": -1}, {"state": "gone"}):
        response = api.get(f"/application/shops/{SHOP}/listings", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"].startswith("There was a problem with /")


def test_get_listings_by_shop_sorts_on_request(api: httpx.Client) -> None:
    marker = secrets.token_hex(3)
    prices = ["30.00", "10.00", "20.00"]
    made = [
        api.post(
            f"/application/shops/{SHOP}/listings",
            data=draft_form(title=f"Sorted {marker} {i}", price=price),
        ).json()
        for i, price in enumerate(prices)
    ]
    ours = {item["listing_id"] for item in made}

    def order(**params: str) -> list[int]:
        query = {"state": "draft", "limit": "100", **params}
        body = api.get(f"/application/shops/{SHOP}/listings", params=query).json()
        return [item["listing_id"] for item in body["results"] if item["listing_id"] in ours]

    ids = [item["listing_id"] for item in made]
    assert order() == order(sort_on="created", sort_order="desc") == ids[::-1]
    assert order(sort_on="created", sort_order="asc") == ids
    assert order(sort_on="price", sort_order="asc") == [ids[1], ids[2], ids[0]]
    assert order(sort_on="score", sort_order="asc") == ids[::-1]  # score: always newest first
    for params in ({"sort_on": "title"}, {"sort_order": "sideways"}):
        response = api.get(f"/application/shops/{SHOP}/listings", params=params)
        assert response.status_code == 400, params


def test_delete_listing(api: httpx.Client, draft: dict[str, Any], emulator: ThreadedServer) -> None:
    listing_id = draft["listing_id"]
    image = upload(api, listing_id).json()
    assert api.delete(f"/application/listings/{listing_id}").status_code == 204
    missing = api.get(f"/application/listings/{listing_id}")
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    assert api.get(f"/application/listings/{listing_id}/images").status_code == 404
    assert api.delete(f"/application/listings/{listing_id}").status_code == 404
    assert WEB.get(f"{emulator.url}/etsy/images/{image['listing_image_id']}").status_code == 404


# --- pages for people --------------------------------------------------------------------


def test_listing_page_and_image_route(api: httpx.Client, emulator: ThreadedServer) -> None:
    form = draft_form(
        title="Cat <script> Tee",
        description="Line one\n<b>bold</b> & more",
        tags="cats, tee",
    )
    listing = api.post(f"/application/shops/{SHOP}/listings", data=form).json()
    data = png(30, 20, (10, 200, 10))
    image = upload(api, listing["listing_id"], data, alt_text='say "hi"').json()

    path = urlsplit(listing["url"]).path
    page = WEB.get(f"{emulator.url}{path}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "Cat &lt;script&gt; Tee" in text and "<script>" not in text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in text and "Line one<br>" in text
    assert "draft" in text and "24.99 USD" in text and "cats, tee" in text
    assert f'src="{image["url_570xN"]}"' in text and 'alt="say &quot;hi&quot;"' in text

    served = WEB.get(f"{emulator.url}{urlsplit(image['url_fullxfull']).path}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == data

    shop = WEB.get(f"{emulator.url}/etsy/shop/{SHOP}")
    assert shop.status_code == 200 and f'href="{listing["url"]}"' in shop.text
    assert WEB.get(f"{emulator.url}/etsy/listing/1").status_code == 404
    assert WEB.get(f"{emulator.url}/etsy/images/1").status_code == 404


# --- OAuth 2.0 with PKCE -----------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


REDIRECT = "https://example.test/callback?from=etsy"


def connect_params(challenge: str, **changes: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": CONFIG.etsy_keystring,
        "redirect_uri": REDIRECT,
        "scope": "listings_r listings_w shops_r",
        "state": "xyz-state",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    } | changes


def authorize(base: str, challenge: str) -> str:
    response = WEB.get(f"{base}/oauth/connect", params=connect_params(challenge))
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT.split("?")[0]
    query = parse_qs(location.query)
    assert query["state"] == ["xyz-state"] and query["from"] == ["etsy"]
    return query["code"][0]


def token_request(base: str, **form: str) -> httpx.Response:
    return WEB.post(f"{base}/public/oauth/token", data={"client_id": CONFIG.etsy_keystring} | form)


def exchange(base: str, code: str, verifier: str, redirect_uri: str = REDIRECT) -> httpx.Response:
    return token_request(
        base,
        grant_type="authorization_code",
        redirect_uri=redirect_uri,
        code=code,
        code_verifier=verifier,
    )


def test_oauth_pkce_dance_and_refresh_rotation(emulator: ThreadedServer) -> None:
    base = f"{emulator.url}/etsy/v3"
    verifier, challenge = pkce()
    code = authorize(base, challenge)
    tokens = exchange(base, code, verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith(f"{CONFIG.etsy_user_id}.")
    me = WEB.get(
        f"{base}/application/users/me",
        headers={"x-api-key": KEY, "authorization": f"Bearer {body['access_token']}"},
    )
    assert me.status_code == 200 and me.json()["user_id"] == CONFIG.etsy_user_id

    reused = exchange(base, code, verifier)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    rotated = token_request(base, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert rotated.status_code == 200
    fresh = rotated.json()
    assert fresh["refresh_token"] != body["refresh_token"]
    assert fresh["access_token"] != body["access_token"]
    old = token_request(base, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert old.status_code == 400
    assert old.json() == {"error": "invalid_grant", "error_description": "refresh_token is revoked"}
    again = token_request(base, grant_type="refresh_token", refresh_token=fresh["refresh_token"])
    assert again.status_code == 200


def test_oauth_code_checks(emulator: ThreadedServer) -> None:
    base = f"{emulator.url}/etsy/v3"
    verifier, challenge = pkce()
    wrong_verifier = exchange(base, authorize(base, challenge), verifier + "x")
    assert wrong_verifier.status_code == 400
    assert "code_verifier" in wrong_verifier.json()["error_description"]
    wrong_redirect = exchange(base, authorize(base, challenge), verifier, "https://evil.test/")
    assert wrong_redirect.json()["error"] == "invalid_grant"
    unknown = token_request(base, grant_type="refresh_token", refresh_token="1000.unknown")
    assert unknown.json() == {
        "error": "invalid_grant",
        "error_description": "refresh_token is invalid",
    }
    assert token_request(base, grant_type="password").json()["error"] == "unsupported_grant_type"
    assert token_request(base, grant_type="authorization_code").json()["error"] == "invalid_request"
    bad_client = WEB.post(
        f"{base}/public/oauth/token", data={"client_id": "other", "grant_type": "refresh_token"}
    )
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"redirect_uri": "not-a-url"}, "invalid_request"),
        ({"scope": "listings_w everything"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"state": ""}, "invalid_request"),
    ],
)
def test_oauth_connect_validates(
    emulator: ThreadedServer, changes: dict[str, str], error: str
) -> None:
    _, challenge = pkce()
    params = connect_params(challenge, **changes)
    response = WEB.get(f"{emulator.url}/etsy/v3/oauth/connect", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == error and "error_description" in response.json()


def test_expired_access_token(emulator: ThreadedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    base = f"{emulator.url}/etsy/v3"
    monkeypatch.setattr(etsy_oauth, "ACCESS_TOKEN_TTL", 0)
    verifier, challenge = pkce()
    token = exchange(base, authorize(base, challenge), verifier).json()["access_token"]
    response = WEB.get(
        f"{base}/application/users/me",
        headers={"x-api-key": KEY, "authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "access token is expired",
    }


def test_expired_code_and_refresh_token(
    emulator: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = f"{emulator.url}/etsy/v3"
    verifier, challenge = pkce()
    monkeypatch.setattr(etsy_oauth, "CODE_TTL", 0)
    assert exchange(base, authorize(base, challenge), verifier).json()["error"] == "invalid_grant"
    monkeypatch.setattr(etsy_oauth, "CODE_TTL", 600)
    monkeypatch.setattr(etsy_oauth, "REFRESH_TOKEN_TTL", 0)
    refresh = exchange(base, authorize(base, challenge), verifier).json()["refresh_token"]
    expired = token_request(base, grant_type="refresh_token", refresh_token=refresh)
    assert expired.json()["error_description"] == "refresh_token is expired"


# --- rate limits and persistence (own apps, so the shared emulator keeps its limits) ------


class StoppedClock:
    """The limiter's clock, moved by the test: a loaded machine may take more than the
    one-second window between two requests."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, StoppedClock]]:
    monkeypatch.setattr(etsy_oauth, "DEFAULT_QPS", 3)
    monkeypatch.setattr(etsy_oauth, "DEFAULT_QPD", 5)
    clock = StoppedClock()
    monkeypatch.setattr(
        sandbox_etsy,
        "RateLimiter",
        lambda per_second, per_day: RateLimiter(per_second, per_day, clock=clock),
    )
    server = ThreadedServer(create_emulator_app(None, CONFIG)).start()
    yield f"{server.url}/etsy/v3", clock
    server.stop()


def test_rate_limit_headers_and_429(limited: tuple[str, StoppedClock]) -> None:
    base_url, clock = limited
    with httpx.Client(base_url=base_url, headers=AUTH) as client:
        answers = [client.get("/application/openapi-ping") for _ in range(3)]
        assert [a.headers["x-remaining-this-second"] for a in answers] == ["2", "1", "0"]
        assert answers[0].headers["x-limit-per-second"] == "3"
        assert answers[0].headers["x-limit-per-day"] == "5"
        assert [a.headers["x-remaining-today"] for a in answers] == ["4", "3", "2"]
        over = client.get("/application/openapi-ping")
        assert over.status_code == 429 and over.headers["retry-after"] == "1"
        assert not any(
            name.startswith("x-limit") or name.startswith("x-remaining") for name in over.headers
        )
        assert set(over.json()) == {"error"}
        clock.now += 1.05
        assert client.get("/application/openapi-ping").status_code == 200
        assert client.get("/application/openapi-ping").headers["x-remaining-today"] == "0"
        clock.now += 1.05
        daily = client.get("/application/openapi-ping")
        assert daily.status_code == 429 and int(daily.headers["retry-after"]) > 86_000
        # The OAuth endpoints are not behind the API key and not counted.
        assert httpx.post(f"{base_url}/public/oauth/token", data={}).status_code == 400


def test_rate_limiter_forgets_after_a_day() -> None:
    now = [0.0]
    limiter = RateLimiter(per_second=5, per_day=2, clock=lambda: now[0])
    limiter.hit("k")
    limiter.hit("k")
    with pytest.raises(EtsyError) as refused:
        limiter.hit("k")
    assert refused.value.status == 429
    now[0] = 86_400.5
    assert limiter.hit("k")["x-remaining-today"] == "1"
    assert limiter.hit("other")["x-remaining-today"] == "1"


def test_in_memory_emulator_keeps_images_in_memory() -> None:
    server = ThreadedServer(create_emulator_app(None, CONFIG)).start()
    data = png(9, 9)
    try:
        with httpx.Client(base_url=f"{server.url}/etsy/v3", headers=AUTH) as client:
            listing = client.post(f"/application/shops/{SHOP}/listings", data=draft_form()).json()
            image = upload(client, listing["listing_id"], data).json()
            served = httpx.get(f"{server.url}/etsy/images/{image['listing_image_id']}")
            assert served.content == data
            assert (
                client.delete(f"/application/listings/{listing['listing_id']}").status_code == 204
            )
            gone = httpx.get(f"{server.url}/etsy/images/{image['listing_image_id']}")
            assert gone.status_code == 404
    finally:
        server.stop()


def test_state_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    config = EmulatorConfig(public_url=f"http://127.0.0.1:{port}")
    server = ThreadedServer(create_emulator_app(tmp_path, config), port=port).start()
    data = png(12, 10)
    try:
        with httpx.Client(base_url=f"{server.url}/etsy/v3", headers=AUTH) as client:
            listing = client.post(f"/application/shops/{SHOP}/listings", data=draft_form()).json()
            image = upload(client, listing["listing_id"], data).json()
    finally:
        server.stop()
    assert (tmp_path / "emulators" / "etsy-images" / f"{image['listing_image_id']}.png").exists()

    again = ThreadedServer(create_emulator_app(tmp_path, config), port=free_port()).start()
    try:
        with httpx.Client(base_url=f"{again.url}/etsy/v3", headers=AUTH) as client:
            found = client.get(
                f"/application/listings/{listing['listing_id']}", params={"includes": "Images"}
            )
            assert found.status_code == 200
            assert found.json()["title"] == listing["title"]
            assert found.json()["images"][0]["listing_image_id"] == image["listing_image_id"]
            served = WEB.get(f"{again.url}/etsy/images/{image['listing_image_id']}")
            assert served.content == data
            page = WEB.get(f"{again.url}/etsy/listing/{listing['listing_id']}")
            assert listing["title"] in page.text
            newer = client.post(f"/application/shops/{SHOP}/listings", data=draft_form()).json()
            assert newer["listing_id"] > listing["listing_id"]
    finally:
        again.stop()


# --- several users and shops --------------------------------------------------------------


def new_shop(emulator: ThreadedServer, **fields: Any) -> dict[str, Any]:
    response = WEB.post(f"{emulator.url}/__admin/etsy/shops", json=fields)
    assert response.status_code == 201, response.text
    shop: dict[str, Any] = response.json()
    return shop


def token_of(emulator: ThreadedServer, user_id: int) -> str:
    """An access token the user `user_id` approved (the consent names the user)."""
    base = f"{emulator.url}/etsy/v3"
    verifier, challenge = pkce()
    params = connect_params(challenge) | {"as_user": str(user_id)}
    response = WEB.get(f"{base}/oauth/connect", params=params)
    assert response.status_code == 302
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    tokens = exchange(base, code, verifier)
    assert tokens.status_code == 200, tokens.text
    token: str = tokens.json()["access_token"]
    assert token.startswith(f"{user_id}.")
    return token


def test_each_shop_has_its_own_profiles_and_refuses_anothers(
    api: httpx.Client, emulator: ThreadedServer
) -> None:
    shop = new_shop(emulator, shipping_profiles=2, readiness_states=2)
    shop_id, user_id = shop["shop_id"], shop["user_id"]
    own = {"authorization": f"Bearer {token_of(emulator, user_id)}"}
    assert api.get("/application/users/me", headers=own).json() == {
        "user_id": user_id,
        "shop_id": shop_id,
    }
    profiles = api.get(f"/application/shops/{shop_id}/shipping-profiles", headers=own).json()
    policies = api.get(f"/application/shops/{shop_id}/policies/return", headers=own).json()
    states = api.get(
        f"/application/shops/{shop_id}/readiness-state-definitions", headers=own
    ).json()
    shipping_ids = [p["shipping_profile_id"] for p in profiles["results"]]
    assert profiles["count"] == 2 and SHIPPING_PROFILE_ID not in shipping_ids
    assert [p["shop_id"] for p in policies["results"]] == [shop_id]
    assert states["count"] == 2 and {s["shop_id"] for s in states["results"]} == {shop_id}
    ids = {
        "shipping_profile_id": str(shipping_ids[0]),
        "return_policy_id": str(policies["results"][0]["return_policy_id"]),
        "readiness_state_id": str(states["results"][0]["readiness_state_id"]),
    }
    made = api.post(f"/application/shops/{shop_id}/listings", data=draft_form(**ids), headers=own)
    assert made.status_code == 201, made.text
    assert made.json()["shop_id"] == shop_id and made.json()["user_id"] == user_id

    # The default shop's ids in the new shop, and the new shop's in the default one.
    for name, theirs in (
        ("shipping_profile_id", str(SHIPPING_PROFILE_ID)),
        ("return_policy_id", str(RETURN_POLICY_ID)),
        ("readiness_state_id", str(READINESS_STATE_ID)),
    ):
        refused = api.post(
            f"/application/shops/{shop_id}/listings",
            data=draft_form(**(ids | {name: theirs})),
            headers=own,
        )
        assert refused.status_code == 400 and name in refused.json()["error"]
    crossed = api.post(f"/application/shops/{SHOP}/listings", data=draft_form(**ids))
    assert crossed.status_code == 400
    # Another user's shop: the default user may not write to it, nor read its policies.
    foreign = api.post(f"/application/shops/{shop_id}/listings", data=draft_form(**ids))
    assert foreign.status_code == 403
    assert api.get(f"/application/shops/{shop_id}/policies/return").status_code == 403


def test_activation_needs_a_return_policy_outside_the_eu(
    api: httpx.Client, emulator: ThreadedServer
) -> None:
    def shop_draft(country: str) -> tuple[dict[str, str], str]:
        shop = new_shop(emulator, country_iso=country)
        own = {"authorization": f"Bearer {token_of(emulator, shop['user_id'])}"}
        form = draft_form(
            return_policy_id=None,
            shipping_profile_id=str(shop["shipping_profiles"][0]["shipping_profile_id"]),
            readiness_state_id=str(shop["readiness_states"][0]["readiness_state_id"]),
        )
        made = api.post(f"/application/shops/{shop['shop_id']}/listings", data=form, headers=own)
        assert made.status_code == 201, made.text
        path = f"/application/shops/{shop['shop_id']}/listings/{made.json()['listing_id']}"
        image = api.post(
            f"{path}/images", files={"image": ("a.png", png(), "image/png")}, headers=own
        )
        assert image.status_code == 201
        return own, path

    own, path = shop_draft("US")
    refused = api.patch(path, data={"state": "active"}, headers=own)
    assert refused.status_code == 400 and "return policy" in refused.json()["error"]
    own, path = shop_draft("DE")
    assert api.patch(path, data={"state": "active"}, headers=own).json()["state"] == "active"


def test_consent_names_a_known_user(emulator: ThreadedServer) -> None:
    _, challenge = pkce()
    params = connect_params(challenge) | {"as_user": "987654"}
    response = WEB.get(f"{emulator.url}/etsy/v3/oauth/connect", params=params)
    assert response.status_code == 400 and "987654" in response.json()["error_description"]
