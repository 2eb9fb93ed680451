"""The custom-integration publishing flow of a product.

`publish` locks the product and announces `product:publish:started` to the shop's
webhooks; the integration answers `publishing_succeeded` (with the listing it made) or
`publishing_failed`, either of which unlocks it. `unpublish` takes it off the channel.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field, StrictBool

from sandbox.printify import etsy_channel
from sandbox.printify.state import Printify
from sandbox.printify.vendor import Body, VendorRoute, parse_body

router = APIRouter(route_class=VendorRoute)


class PublishIn(Body):
    title: StrictBool = True
    description: StrictBool = True
    images: StrictBool = True
    variants: StrictBool = True
    tags: StrictBool = True
    keyFeatures: StrictBool = True  # Printify's wire name
    shipping_template: StrictBool = True


class ExternalIn(Body):
    id: str = Field(min_length=1)
    handle: str = Field(min_length=1)


class PublishingSucceededIn(Body):
    external: ExternalIn


class PublishingFailedIn(Body):
    reason: str = Field(min_length=1)


@router.post("/shops/{shop_id}/products/{product_id}/publish.json")
async def publish(
    shop_id: int, product_id: str, request: Request, state: Printify
) -> dict[str, Any]:
    state.product(shop_id, product_id)
    flags = await parse_body(request, PublishIn)
    shop = state.check_shop(shop_id)
    with state.store.lock:
        product = state.product(shop_id, product_id)
        product["is_locked"] = True
        product["_publish_details"] = flags.model_dump()
        product["_publish_requests"] = int(product.get("_publish_requests", 0)) + 1
        state.store.save()
    details = flags.model_dump()
    details["key_features"] = details.pop("keyFeatures")  # the event's spelling
    data = {
        "shop_id": shop_id,
        "publish_details": details,
        "action": "create",
        "out_of_stock_publishing": 0,
    }
    state.webhooks.emit(
        shop_id, "product:publish:started", {"id": product_id, "type": "product", "data": data}
    )
    if shop["sales_channel"] == "etsy":  # Printify makes the listing itself
        etsy_channel.publish_later(state, request.app.state.etsy, shop, product_id)
    return {}


@router.post("/shops/{shop_id}/products/{product_id}/publishing_succeeded.json")
async def publishing_succeeded(
    shop_id: int, product_id: str, request: Request, state: Printify
) -> dict[str, Any]:
    state.product(shop_id, product_id)
    body = await parse_body(request, PublishingSucceededIn)
    with state.store.lock:
        product = state.product(shop_id, product_id)
        product["external"] = body.external.model_dump()
        product["is_locked"] = False
        product["visible"] = True
        product.pop("_publishing_failed_reason", None)
        state.store.save()
    return {}


@router.post("/shops/{shop_id}/products/{product_id}/publishing_failed.json")
async def publishing_failed(
    shop_id: int, product_id: str, request: Request, state: Printify
) -> dict[str, Any]:
    state.product(shop_id, product_id)
    body = await parse_body(request, PublishingFailedIn)
    with state.store.lock:
        product = state.product(shop_id, product_id)
        product["is_locked"] = False
        product["_publishing_failed_reason"] = body.reason
        state.store.save()
    return {}


@router.post("/shops/{shop_id}/products/{product_id}/unpublish.json")
def unpublish(shop_id: int, product_id: str, state: Printify) -> dict[str, Any]:
    with state.store.lock:
        product = state.product(shop_id, product_id)
        product.pop("external", None)
        product["visible"] = False
        product["is_locked"] = False
        state.store.save()
    return {}
