"""A faithful local emulator of the Printify Public API v1 (mounted at `/printify/v1`).

Covers what the pipeline uses: shops, catalog, image uploads, products, the custom
shop publishing flow (publish locks, `publishing_succeeded`/`publishing_failed` unlock)
and webhooks (publish announces `product:publish:started`, see `printify_webhooks`).
Errors always use Printify's shape `{status, code, message, errors:{reason, code}}`;
request validation failures are 400 with code 8150. State lives in a `JsonStore`, so a
restarted emulator still knows every upload and product.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from sandbox import printify_catalog as catalog
from sandbox.printify_webhooks import TOPICS, WebhookDispatcher
from sandbox.store import JsonStore

if TYPE_CHECKING:
    from sandbox.app import EmulatorConfig

VALIDATION_CODE = 8150
LOCKED_CODE = 8252
RATE_LIMIT = 600
RATE_WINDOW_SECONDS = 60.0
USER_ID = 7741230
_MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


class PrintifyApiError(Exception):
    """An error answer in Printify's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        reason: str,
        code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code if code is not None else status
        self.headers = headers

    def response(self) -> JSONResponse:
        body = {
            "status": "error",
            "code": self.code,
            "message": self.message,
            "errors": {"reason": self.reason, "code": self.code},
        }
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def _invalid(reason: str) -> PrintifyApiError:
    return PrintifyApiError(400, "Validation failed.", reason, VALIDATION_CODE)


def _not_found(what: str) -> PrintifyApiError:
    return PrintifyApiError(404, "Not found.", f"{what} not found")


def _reason(errors: Sequence[Any]) -> str:
    """`field.path: message` of the first pydantic/FastAPI validation error."""
    first = errors[0] if errors else {}
    loc = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = str(first.get("msg", "invalid request"))
    return f"{loc}: {message}" if loc else message


class _RateLimiter:
    """At most `limit` requests per rolling `window` seconds per key."""

    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        """Record a request and return None, or the seconds to wait when over the limit."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self._window:
                hits.popleft()
            if len(hits) >= self._limit:
                return self._window - (now - hits[0])
            hits.append(now)
            return None


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class UploadIn(_Body):
    file_name: str = Field(min_length=1)
    contents: str | None = None
    url: str | None = None


class ImageIn(_Body):
    id: str = Field(min_length=1)
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    scale: float = Field(gt=0)
    angle: int = 0


class PlaceholderIn(_Body):
    position: str = Field(min_length=1)
    images: list[ImageIn] = Field(min_length=1)


class PrintAreaIn(_Body):
    variant_ids: list[StrictInt] = Field(min_length=1)
    placeholders: list[PlaceholderIn] = Field(min_length=1)


class VariantIn(_Body):
    id: StrictInt
    price: StrictInt = Field(gt=0)
    is_enabled: StrictBool = True
    is_default: StrictBool = False
    sku: str | None = Field(default=None, min_length=1)


class VariantUpdate(_Body):
    id: StrictInt
    price: StrictInt | None = Field(default=None, gt=0)
    is_enabled: StrictBool | None = None
    is_default: StrictBool | None = None
    sku: str | None = Field(default=None, min_length=1)


class ProductIn(_Body):
    title: str = Field(min_length=1)
    description: str
    blueprint_id: StrictInt
    print_provider_id: StrictInt
    variants: list[VariantIn] = Field(min_length=1)
    print_areas: list[PrintAreaIn] = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    print_details: dict[str, Any] = Field(default_factory=dict)
    is_printify_express_enabled: StrictBool = False
    external: dict[str, Any] | None = None


class ProductUpdate(_Body):
    title: str | None = Field(default=None, min_length=1)
    description: str | None = None
    blueprint_id: StrictInt | None = None
    print_provider_id: StrictInt | None = None
    variants: list[VariantUpdate] | None = Field(default=None, min_length=1)
    print_areas: list[PrintAreaIn] | None = Field(default=None, min_length=1)
    tags: list[str] | None = None
    print_details: dict[str, Any] | None = None


class PublishIn(_Body):
    title: StrictBool = True
    description: StrictBool = True
    images: StrictBool = True
    variants: StrictBool = True
    tags: StrictBool = True
    keyFeatures: StrictBool = True  # Printify's wire name
    shipping_template: StrictBool = True


class ExternalIn(_Body):
    id: str = Field(min_length=1)
    handle: str = Field(min_length=1)


class PublishingSucceededIn(_Body):
    external: ExternalIn


class PublishingFailedIn(_Body):
    reason: str = Field(min_length=1)


class WebhookIn(_Body):
    topic: str
    url: str = Field(min_length=1, max_length=2048)
    secret: str | None = Field(default=None, min_length=1, max_length=1024)


class WebhookUpdate(_Body):
    url: str = Field(min_length=1, max_length=2048)
    topic: str | None = None


def _check_webhook_url(url: str) -> None:
    """Subscribers are reached over HTTP(S); whether they answer shows at delivery."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid("url: must be an absolute http(s) URL")


async def _parse[M: BaseModel](request: Request, model: type[M]) -> M:
    """Parse the JSON body into `model`, mapping every failure to a vendor 400."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise _invalid("Body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(_reason(exc.errors())) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S+00:00")


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """The record without the emulator's internal `_` fields."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _page(items: list[dict[str, Any]], page: int, limit: int) -> dict[str, Any]:
    """Printify's pagination envelope around one page of `items`."""
    total = len(items)
    last = max(1, math.ceil(total / limit))
    start = (page - 1) * limit
    data = items[start : start + limit]
    return {
        "current_page": page,
        "data": data,
        "first_page_url": "/?page=1",
        "prev_page_url": f"/?page={page - 1}" if page > 1 else None,
        "next_page_url": f"/?page={page + 1}" if page < last else None,
        "last_page_url": f"/?page={last}",
        "last_page": last,
        "total": total,
        "per_page": limit,
        "from": start + 1 if data else None,
        "to": start + len(data) if data else None,
        "path": "/",
    }


async def _image_bytes(body: UploadIn) -> bytes:
    """The uploaded file: decoded base64 `contents`, or fetched from a loopback `url`."""
    if (body.contents is None) == (body.url is None):
        raise _invalid("Exactly one of contents or url is required")
    if body.contents is not None:
        try:
            return base64.b64decode(body.contents, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid("contents: not valid base64") from None
    url = str(body.url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in _LOCAL_HOSTS:
        raise _invalid("url: the emulator only fetches http(s) URLs on 127.0.0.1/localhost")
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            answer = await client.get(url)
    except httpx.HTTPError as exc:
        raise _invalid(f"url: could not be fetched ({type(exc).__name__})") from None
    if not answer.is_success:
        raise _invalid(f"url: answered {answer.status_code}")
    return answer.content


def _inspect_image(data: bytes) -> tuple[str, int, int]:
    """(mime type, width, height) of a PNG or JPEG; anything else is a validation error."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError):
        raise _invalid("file: only PNG and JPEG images are accepted") from None
    mime = _MIME_TYPES.get(fmt or "")
    if mime is None:
        raise _invalid("file: only PNG and JPEG images are accepted")
    return mime, width, height


def _new_sku() -> str:
    return str(10**19 + secrets.randbelow(9 * 10**19))


def _options(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Product `options` (Colors, Sizes) derived from the offered catalog variants."""
    result = []
    for key, name in (("color", "Colors"), ("size", "Sizes")):
        titles = list(dict.fromkeys(v["options"][key] for v in variants if key in v["options"]))
        if not titles:
            continue
        values = []
        for title in titles:
            value: dict[str, Any] = {"id": catalog.option_value_id(title), "title": title}
            if key == "color":
                value["colors"] = [catalog.color_hex(title)]
            values.append(value)
        result.append({"name": name, "type": key, "values": values})
    return result


def _print_areas(
    areas: list[PrintAreaIn], offered: dict[int, dict[str, Any]], uploads: dict[str, Any]
) -> list[dict[str, Any]]:
    """Validate print areas against the catalog and uploads; return their response form."""
    result = []
    for i, area in enumerate(areas):
        for vid in area.variant_ids:
            if vid not in offered:
                raise _invalid(f"print_areas.{i}.variant_ids: variant {vid} is not offered")
        placeholders = []
        for j, placeholder in enumerate(area.placeholders):
            for vid in area.variant_ids:
                positions = {p["position"] for p in offered[vid]["placeholders"]}
                if placeholder.position not in positions:
                    raise _invalid(
                        f"print_areas.{i}.placeholders.{j}.position: "
                        f"'{placeholder.position}' is not a position of variant {vid}"
                    )
            images = []
            for k, image in enumerate(placeholder.images):
                upload = uploads.get(image.id)
                if upload is None:
                    raise _invalid(
                        f"print_areas.{i}.placeholders.{j}.images.{k}.id: unknown image {image.id}"
                    )
                images.append(
                    {
                        "id": image.id,
                        "name": upload["file_name"],
                        "type": upload["mime_type"],
                        "height": upload["height"],
                        "width": upload["width"],
                        "x": image.x,
                        "y": image.y,
                        "scale": image.scale,
                        "angle": image.angle,
                    }
                )
            placeholders.append({"position": placeholder.position, "images": images})
        result.append(
            {"variant_ids": area.variant_ids, "placeholders": placeholders, "background": "#ffffff"}
        )
    return result


def _mockups(base_url: str, product: dict[str, Any]) -> list[dict[str, Any]]:
    """Mock-up `images`: one per color group of enabled variants and printed position."""
    colors = {v["id"]: v["options"].get("color", "") for v in _offered(product).values()}
    enabled = [v["id"] for v in product["variants"] if v["is_enabled"]]
    images: list[dict[str, Any]] = []
    for area in product["print_areas"]:
        printed = [vid for vid in enabled if vid in area["variant_ids"]]
        for position in (p["position"] for p in area["placeholders"]):
            for color in dict.fromkeys(colors[vid] for vid in printed):
                group = [vid for vid in printed if colors[vid] == color]
                src = f"{base_url}mockups/{product['id']}/{group[0]}/{position}.png"
                images.append(
                    {"src": src, "variant_ids": group, "position": position, "is_default": False}
                )
    if images:
        images[0]["is_default"] = True
    return images


def _offered(product: dict[str, Any]) -> dict[int, dict[str, Any]]:
    variants = catalog.VARIANTS[(product["blueprint_id"], product["print_provider_id"])]
    return {variant["id"]: variant for variant in variants}


def _mockup_png(hex_color: str) -> bytes:
    image = Image.new("RGB", (600, 600), hex_color)
    image.paste("#9e9e9e", (180, 150, 420, 450))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def build_router(
    store: JsonStore, config: EmulatorConfig, webhooks: WebhookDispatcher
) -> APIRouter:
    """The Printify v1 routes, to be mounted at `/printify/v1`; events go to `webhooks`."""
    limiter = _RateLimiter(RATE_LIMIT, RATE_WINDOW_SECONDS)
    uploads = store.collection("uploads")
    products = store.collection("products")
    hooks = webhooks.subscriptions

    def guard(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expected = config.printify_token.encode()
        if scheme.lower() != "bearer" or not secrets.compare_digest(token.encode(), expected):
            raise PrintifyApiError(401, "Unauthenticated.", "Missing or invalid access token")
        if not request.headers.get("user-agent"):
            raise PrintifyApiError(400, "Bad request.", "User-Agent header is required")
        wait = limiter.retry_after(token)
        if wait is not None:
            raise PrintifyApiError(
                429,
                "Too Many Requests.",
                f"More than {RATE_LIMIT} requests per minute",
                headers={"retry-after": str(max(1, math.ceil(wait)))},
            )

    class VendorRoute(APIRoute):
        """Runs the auth/rate-limit guard and answers every error in Printify's shape."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            public = self.name == "mockup"

            async def vendor_handler(request: Request) -> Response:
                try:
                    if not public:
                        guard(request)
                    return await handler(request)
                except PrintifyApiError as exc:
                    return exc.response()
                except RequestValidationError as exc:
                    return _invalid(_reason(exc.errors())).response()

            return vendor_handler

    router = APIRouter(route_class=VendorRoute)

    def base_url(request: Request) -> str:
        return f"{str(request.base_url).rstrip('/')}/printify/v1/"

    def shop(shop_id: int) -> None:
        if shop_id != config.printify_shop_id:
            raise _not_found(f"Shop {shop_id}")

    def product_of(shop_id: int, product_id: str) -> dict[str, Any]:
        shop(shop_id)
        product = products.get(product_id)
        if product is None or product["shop_id"] != shop_id:
            raise _not_found(f"Product {product_id}")
        return product

    def hook_of(shop_id: int, webhook_id: str) -> dict[str, Any]:
        shop(shop_id)
        hook = hooks.get(webhook_id)
        if hook is None or hook["shop_id"] != shop_id:
            raise _not_found(f"Webhook {webhook_id}")
        return hook

    def offered_for(blueprint_id: int, provider_id: int) -> dict[int, dict[str, Any]]:
        if blueprint_id not in catalog.BLUEPRINTS:
            raise _invalid(f"blueprint_id: blueprint {blueprint_id} does not exist")
        variants = catalog.VARIANTS.get((blueprint_id, provider_id))
        if variants is None:
            raise _invalid(
                f"print_provider_id: provider {provider_id} does not offer blueprint {blueprint_id}"
            )
        return {variant["id"]: variant for variant in variants}

    @router.get("/shops.json")
    def list_shops() -> list[dict[str, Any]]:
        return [
            {
                "id": config.printify_shop_id,
                "title": "POD Automator (local)",
                "sales_channel": "custom_integration",
            }
        ]

    @router.get("/catalog/blueprints.json")
    def list_blueprints() -> list[dict[str, Any]]:
        return list(catalog.BLUEPRINTS.values())

    @router.get("/catalog/blueprints/{blueprint_id}.json")
    def get_blueprint(blueprint_id: int) -> dict[str, Any]:
        if blueprint_id not in catalog.BLUEPRINTS:
            raise _not_found(f"Blueprint {blueprint_id}")
        return catalog.BLUEPRINTS[blueprint_id]

    @router.get("/catalog/blueprints/{blueprint_id}/print_providers.json")
    def blueprint_providers(blueprint_id: int) -> list[dict[str, Any]]:
        if blueprint_id not in catalog.BLUEPRINTS:
            raise _not_found(f"Blueprint {blueprint_id}")
        return catalog.providers_of(blueprint_id)

    @router.get("/catalog/blueprints/{blueprint_id}/print_providers/{provider_id}/variants.json")
    def variants(blueprint_id: int, provider_id: int) -> dict[str, Any]:
        doc = catalog.variant_doc(blueprint_id, provider_id)
        if doc is None:
            raise _not_found(f"Print provider {provider_id} for blueprint {blueprint_id}")
        return doc

    @router.get("/catalog/blueprints/{blueprint_id}/print_providers/{provider_id}/shipping.json")
    def shipping(blueprint_id: int, provider_id: int) -> dict[str, Any]:
        doc = catalog.shipping_doc(blueprint_id, provider_id)
        if doc is None:
            raise _not_found(f"Print provider {provider_id} for blueprint {blueprint_id}")
        return doc

    @router.get("/catalog/print_providers.json")
    def list_providers() -> list[dict[str, Any]]:
        return list(catalog.PRINT_PROVIDERS.values())

    @router.post("/uploads/images.json")
    async def upload_image(request: Request) -> dict[str, Any]:
        body = await _parse(request, UploadIn)
        data = await _image_bytes(body)
        mime, width, height = _inspect_image(data)
        upload_id = secrets.token_hex(12)
        extension = ".png" if mime == "image/png" else ".jpg"
        with store.lock:
            uploads[upload_id] = {
                "id": upload_id,
                "file_name": body.file_name,
                "height": height,
                "width": width,
                "size": len(data),
                "mime_type": mime,
                "preview_url": f"https://images.printify.local/uploads/{upload_id}{extension}",
                "upload_time": _now().strftime("%Y-%m-%d %H:%M:%S"),
                "_seq": store.next_id("upload_seq", 0),
                "_archived": False,
            }
            store.save()
            return _public(uploads[upload_id])

    @router.get("/uploads.json")
    def list_uploads(
        page: int = Query(1, ge=1), limit: int = Query(10, ge=1, le=100)
    ) -> dict[str, Any]:
        with store.lock:
            live = [u for u in uploads.values() if not u["_archived"]]
        live.sort(key=lambda u: u["_seq"], reverse=True)
        return _page([_public(u) for u in live], page, limit)

    @router.get("/uploads/{upload_id}.json")
    def get_upload(upload_id: str) -> dict[str, Any]:
        upload = uploads.get(upload_id)
        if upload is None:
            raise _not_found(f"Upload {upload_id}")
        return _public(upload)

    @router.post("/uploads/{upload_id}/archive.json")
    def archive_upload(upload_id: str) -> dict[str, Any]:
        with store.lock:
            upload = uploads.get(upload_id)
            if upload is None:
                raise _not_found(f"Upload {upload_id}")
            upload["_archived"] = True
            store.save()
        return {}

    @router.get("/shops/{shop_id}/products.json")
    def list_products(
        shop_id: int, page: int = Query(1, ge=1), limit: int = Query(10, ge=1, le=100)
    ) -> dict[str, Any]:
        shop(shop_id)
        with store.lock:
            mine = [p for p in products.values() if p["shop_id"] == shop_id]
        mine.sort(key=lambda p: p["_seq"], reverse=True)
        return _page([_public(p) for p in mine], page, limit)

    @router.get("/shops/{shop_id}/products/{product_id}.json")
    def get_product(shop_id: int, product_id: str) -> dict[str, Any]:
        return _public(product_of(shop_id, product_id))

    @router.post("/shops/{shop_id}/products.json")
    async def create_product(shop_id: int, request: Request) -> dict[str, Any]:
        shop(shop_id)
        body = await _parse(request, ProductIn)
        offered = offered_for(body.blueprint_id, body.print_provider_id)
        given: dict[int, VariantIn] = {}
        for i, variant in enumerate(body.variants):
            if variant.id not in offered:
                raise _invalid(f"variants.{i}.id: variant {variant.id} is not offered")
            if variant.id in given:
                raise _invalid(f"variants.{i}.id: variant {variant.id} is listed twice")
            given[variant.id] = variant
        default_id = next(
            (v.id for v in body.variants if v.is_default),
            next((v.id for v in body.variants if v.is_enabled), body.variants[0].id),
        )
        moment = _stamp(_now())
        product_id = secrets.token_hex(12)
        with store.lock:
            product: dict[str, Any] = {
                "id": product_id,
                "title": body.title,
                "description": body.description,
                "tags": body.tags,
                "options": _options(list(offered.values())),
                "variants": [
                    {
                        "id": vid,
                        "sku": (given[vid].sku if vid in given else None) or _new_sku(),
                        "cost": cat["cost"],
                        "price": given[vid].price if vid in given else cat["cost"] * 2,
                        "title": cat["title"],
                        "grams": cat["grams"],
                        "is_enabled": given[vid].is_enabled if vid in given else False,
                        "is_default": vid == default_id,
                        "is_available": True,
                        "is_printify_express_eligible": False,
                        "options": [catalog.option_value_id(v) for v in cat["options"].values()],
                    }
                    for vid, cat in offered.items()
                ],
                "images": [],
                "created_at": moment,
                "updated_at": moment,
                "visible": False,
                "is_locked": False,
                "blueprint_id": body.blueprint_id,
                "user_id": USER_ID,
                "shop_id": shop_id,
                "print_provider_id": body.print_provider_id,
                "print_areas": _print_areas(body.print_areas, offered, uploads),
                "print_details": body.print_details,
                "is_printify_express_enabled": body.is_printify_express_enabled,
                "sales_channel_properties": [],
                "_seq": store.next_id("product_seq", 0),
                "_shipping_template_id": (body.external or {}).get("shipping_template_id"),
            }
            product["images"] = _mockups(base_url(request), product)
            products[product_id] = product
            store.save()
            return _public(product)

    @router.put("/shops/{shop_id}/products/{product_id}.json")
    async def update_product(shop_id: int, product_id: str, request: Request) -> dict[str, Any]:
        product_of(shop_id, product_id)
        body = await _parse(request, ProductUpdate)
        with store.lock:
            product = product_of(shop_id, product_id)
            if product["is_locked"]:
                raise PrintifyApiError(400, "Product is locked.", "Product is locked", LOCKED_CODE)
            for field in ("blueprint_id", "print_provider_id"):
                value = getattr(body, field)
                if value is not None and value != product[field]:
                    raise _invalid(f"{field}: cannot be changed once the product exists")
            offered = _offered(product)
            by_id = {variant["id"]: variant for variant in product["variants"]}
            for i, change in enumerate(body.variants or []):
                if change.id not in by_id:
                    raise _invalid(f"variants.{i}.id: variant {change.id} is not offered")
            areas = (
                _print_areas(body.print_areas, offered, uploads)
                if body.print_areas is not None
                else product["print_areas"]
            )
            for change in body.variants or []:
                updates = change.model_dump(exclude={"id"}, exclude_none=True)
                if updates.get("is_default"):
                    for variant in product["variants"]:
                        variant["is_default"] = False
                by_id[change.id].update(updates)
            for field in ("title", "description", "tags", "print_details"):
                if getattr(body, field) is not None:
                    product[field] = getattr(body, field)
            product["print_areas"] = areas
            product["images"] = _mockups(base_url(request), product)
            product["updated_at"] = _stamp(_now())
            store.save()
            return _public(product)

    @router.delete("/shops/{shop_id}/products/{product_id}.json")
    def delete_product(shop_id: int, product_id: str) -> dict[str, Any]:
        with store.lock:
            product_of(shop_id, product_id)
            del products[product_id]
            store.save()
        return {}

    @router.post("/shops/{shop_id}/products/{product_id}/publish.json")
    async def publish(shop_id: int, product_id: str, request: Request) -> dict[str, Any]:
        product_of(shop_id, product_id)
        flags = await _parse(request, PublishIn)
        with store.lock:
            product = product_of(shop_id, product_id)
            product["is_locked"] = True
            product["_publish_details"] = flags.model_dump()
            product["_publish_requests"] = int(product.get("_publish_requests", 0)) + 1
            store.save()
        details = flags.model_dump()
        details["key_features"] = details.pop("keyFeatures")  # the event's spelling
        data = {
            "shop_id": shop_id,
            "publish_details": details,
            "action": "create",
            "out_of_stock_publishing": 0,
        }
        webhooks.emit(
            shop_id, "product:publish:started", {"id": product_id, "type": "product", "data": data}
        )
        return {}

    @router.post("/shops/{shop_id}/products/{product_id}/publishing_succeeded.json")
    async def publishing_succeeded(
        shop_id: int, product_id: str, request: Request
    ) -> dict[str, Any]:
        product_of(shop_id, product_id)
        body = await _parse(request, PublishingSucceededIn)
        with store.lock:
            product = product_of(shop_id, product_id)
            product["external"] = body.external.model_dump()
            product["is_locked"] = False
            product["visible"] = True
            product.pop("_publishing_failed_reason", None)
            store.save()
        return {}

    @router.post("/shops/{shop_id}/products/{product_id}/publishing_failed.json")
    async def publishing_failed(shop_id: int, product_id: str, request: Request) -> dict[str, Any]:
        product_of(shop_id, product_id)
        body = await _parse(request, PublishingFailedIn)
        with store.lock:
            product = product_of(shop_id, product_id)
            product["is_locked"] = False
            product["_publishing_failed_reason"] = body.reason
            store.save()
        return {}

    @router.post("/shops/{shop_id}/products/{product_id}/unpublish.json")
    def unpublish(shop_id: int, product_id: str) -> dict[str, Any]:
        with store.lock:
            product = product_of(shop_id, product_id)
            product.pop("external", None)
            product["visible"] = False
            product["is_locked"] = False
            store.save()
        return {}

    @router.get("/shops/{shop_id}/webhooks.json")
    def list_webhooks(shop_id: int) -> list[dict[str, Any]]:
        shop(shop_id)
        with store.lock:
            mine = [hook for hook in hooks.values() if hook["shop_id"] == shop_id]
        mine.sort(key=lambda hook: hook["_seq"])
        return [_public(hook) for hook in mine]

    @router.post("/shops/{shop_id}/webhooks.json")
    async def create_webhook(shop_id: int, request: Request) -> dict[str, Any]:
        shop(shop_id)
        body = await _parse(request, WebhookIn)
        if body.topic not in TOPICS:
            raise _invalid(f"topic: must be one of {', '.join(sorted(TOPICS))}")
        _check_webhook_url(body.url)
        webhook_id = secrets.token_hex(12)
        with store.lock:
            hooks[webhook_id] = {
                "topic": body.topic,
                "url": body.url,
                "shop_id": shop_id,
                "id": webhook_id,
                "_secret": body.secret,
                "_seq": store.next_id("webhook_seq", 0),
            }
            store.save()
            return _public(hooks[webhook_id])

    @router.put("/shops/{shop_id}/webhooks/{webhook_id}.json")
    async def update_webhook(shop_id: int, webhook_id: str, request: Request) -> dict[str, Any]:
        hook_of(shop_id, webhook_id)
        body = await _parse(request, WebhookUpdate)
        _check_webhook_url(body.url)
        with store.lock:
            hook = hook_of(shop_id, webhook_id)
            if body.topic is not None and body.topic != hook["topic"]:
                raise _invalid("topic: cannot be changed; delete the webhook and create another")
            hook["url"] = body.url
            store.save()
            return _public(hook)

    @router.delete("/shops/{shop_id}/webhooks/{webhook_id}.json")
    def delete_webhook(shop_id: int, webhook_id: str) -> dict[str, Any]:
        with store.lock:
            hook_of(shop_id, webhook_id)
            del hooks[webhook_id]
            store.save()
        return {"id": webhook_id}

    @router.get("/mockups/{product_id}/{variant_id}/{position}.png", include_in_schema=False)
    def mockup(product_id: str, variant_id: int, position: str) -> Response:
        product = products.get(product_id)
        if product is None or variant_id not in _offered(product):
            raise _not_found(f"Mock-up {product_id}/{variant_id}")
        color = _offered(product)[variant_id]["options"].get("color", "White")
        return Response(_mockup_png(catalog.color_hex(color)), media_type="image/png")

    @router.api_route(
        "/{unknown:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def unknown_route(unknown: str) -> dict[str, Any]:
        raise _not_found(f"Route /{unknown}")

    return router
