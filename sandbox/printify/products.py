"""Products of the shop: create from catalog variants and uploads, update, list, delete.

A product offers every variant its provider has for the blueprint; those the request
names are enabled at its prices, the rest disabled at twice their cost. A locked product
(being published) refuses updates with code 8252.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import Field, StrictBool, StrictInt

from sandbox.printify import seed_catalog as catalog
from sandbox.printify.mockups import mockup_images, printify_base_url
from sandbox.printify.state import Printify
from sandbox.printify.vendor import (
    LOCKED_CODE,
    Body,
    PrintifyApiError,
    VendorRoute,
    invalid,
    now,
    paginate,
    parse_body,
    public,
    stamp,
)

USER_ID = 7741230

router = APIRouter(route_class=VendorRoute)


class ImageIn(Body):
    id: str = Field(min_length=1)
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    scale: float = Field(gt=0)
    angle: int = 0


class PlaceholderIn(Body):
    position: str = Field(min_length=1)
    images: list[ImageIn] = Field(min_length=1)


class PrintAreaIn(Body):
    variant_ids: list[StrictInt] = Field(min_length=1)
    placeholders: list[PlaceholderIn] = Field(min_length=1)


class VariantIn(Body):
    id: StrictInt
    price: StrictInt = Field(gt=0)
    is_enabled: StrictBool = True
    is_default: StrictBool = False
    sku: str | None = Field(default=None, min_length=1)


class VariantUpdate(Body):
    id: StrictInt
    price: StrictInt | None = Field(default=None, gt=0)
    is_enabled: StrictBool | None = None
    is_default: StrictBool | None = None
    sku: str | None = Field(default=None, min_length=1)


class ProductIn(Body):
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


class ProductUpdate(Body):
    title: str | None = Field(default=None, min_length=1)
    description: str | None = None
    blueprint_id: StrictInt | None = None
    print_provider_id: StrictInt | None = None
    variants: list[VariantUpdate] | None = Field(default=None, min_length=1)
    print_areas: list[PrintAreaIn] | None = Field(default=None, min_length=1)
    tags: list[str] | None = None
    print_details: dict[str, Any] | None = None


def _new_sku() -> str:
    return str(10**19 + secrets.randbelow(9 * 10**19))


def _offered_for(blueprint_id: int, provider_id: int) -> dict[int, dict[str, Any]]:
    """The variants a new product may offer, or a 400 naming the unknown id."""
    if blueprint_id not in catalog.BLUEPRINTS:
        raise invalid(f"blueprint_id: blueprint {blueprint_id} does not exist")
    if (blueprint_id, provider_id) not in catalog.VARIANTS:
        raise invalid(
            f"print_provider_id: provider {provider_id} does not offer blueprint {blueprint_id}"
        )
    return catalog.variants_by_id(blueprint_id, provider_id)


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
                raise invalid(f"print_areas.{i}.variant_ids: variant {vid} is not offered")
        placeholders = []
        for j, placeholder in enumerate(area.placeholders):
            for vid in area.variant_ids:
                positions = {p["position"] for p in offered[vid]["placeholders"]}
                if placeholder.position not in positions:
                    raise invalid(
                        f"print_areas.{i}.placeholders.{j}.position: "
                        f"'{placeholder.position}' is not a position of variant {vid}"
                    )
            images = []
            for k, image in enumerate(placeholder.images):
                upload = uploads.get(image.id)
                if upload is None:
                    raise invalid(
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


@router.get("/shops/{shop_id}/products.json")
def list_products(
    shop_id: int, state: Printify, page: int = Query(1, ge=1), limit: int = Query(10, ge=1, le=50)
) -> dict[str, Any]:
    state.check_shop(shop_id)
    with state.store.lock:
        mine = [p for p in state.products.values() if p["shop_id"] == shop_id]
    mine.sort(key=lambda p: p["_seq"], reverse=True)
    return paginate([public(p) for p in mine], page, limit)


@router.get("/shops/{shop_id}/products/{product_id}.json")
def get_product(shop_id: int, product_id: str, state: Printify) -> dict[str, Any]:
    return public(state.product(shop_id, product_id))


@router.post("/shops/{shop_id}/products.json")
async def create_product(shop_id: int, request: Request, state: Printify) -> dict[str, Any]:
    state.check_shop(shop_id)
    body = await parse_body(request, ProductIn)
    offered = _offered_for(body.blueprint_id, body.print_provider_id)
    given: dict[int, VariantIn] = {}
    for i, variant in enumerate(body.variants):
        if variant.id not in offered:
            raise invalid(f"variants.{i}.id: variant {variant.id} is not offered")
        if variant.id in given:
            raise invalid(f"variants.{i}.id: variant {variant.id} is listed twice")
        given[variant.id] = variant
    default_id = next(
        (v.id for v in body.variants if v.is_default),
        next((v.id for v in body.variants if v.is_enabled), body.variants[0].id),
    )
    moment = stamp(now())
    product_id = secrets.token_hex(12)
    store = state.store
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
                    "is_available": vid not in catalog.OUT_OF_STOCK,
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
            "print_areas": _print_areas(body.print_areas, offered, state.uploads),
            "print_details": body.print_details,
            "is_printify_express_enabled": body.is_printify_express_enabled,
            "sales_channel_properties": [],
            "_seq": store.next_id("product_seq", 0),
            "_shipping_template_id": (body.external or {}).get("shipping_template_id"),
        }
        product["images"] = mockup_images(printify_base_url(request), product)
        state.products[product_id] = product
        store.save()
        return public(product)


@router.put("/shops/{shop_id}/products/{product_id}.json")
async def update_product(
    shop_id: int, product_id: str, request: Request, state: Printify
) -> dict[str, Any]:
    state.product(shop_id, product_id)
    body = await parse_body(request, ProductUpdate)
    with state.store.lock:
        product = state.product(shop_id, product_id)
        if product["is_locked"]:
            raise PrintifyApiError(400, "Product is locked.", "Product is locked", LOCKED_CODE)
        for field in ("blueprint_id", "print_provider_id"):
            value = getattr(body, field)
            if value is not None and value != product[field]:
                raise invalid(f"{field}: cannot be changed once the product exists")
        offered = catalog.variants_by_id(product["blueprint_id"], product["print_provider_id"])
        by_id = {variant["id"]: variant for variant in product["variants"]}
        for i, change in enumerate(body.variants or []):
            if change.id not in by_id:
                raise invalid(f"variants.{i}.id: variant {change.id} is not offered")
        areas = (
            _print_areas(body.print_areas, offered, state.uploads)
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
        product["images"] = mockup_images(printify_base_url(request), product)
        product["updated_at"] = stamp(now())
        state.store.save()
        return public(product)


@router.delete("/shops/{shop_id}/products/{product_id}.json")
def delete_product(shop_id: int, product_id: str, state: Printify) -> dict[str, Any]:
    with state.store.lock:
        state.product(shop_id, product_id)
        del state.products[product_id]
        state.store.save()
    return {}
