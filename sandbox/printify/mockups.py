"""Mock-up images of products: their `images` list and the PNG files it points to.

Each picture is drawn from the product's own artwork on the garment in the variant's
colour (`garments`), so an offline listing looks like the real product. The files are
public, as Printify's CDN is: a browser shows them without a token.
"""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Request, Response
from PIL import Image

from sandbox.printify import garments
from sandbox.printify import seed_catalog as catalog
from sandbox.printify.state import Printify, PrintifyState
from sandbox.printify.vendor import VendorRoute, not_found

router = APIRouter(route_class=VendorRoute)


def printify_base_url(request: Request) -> str:
    """The emulator's Printify API root as the caller reached it, ending in `/`."""
    return f"{str(request.base_url).rstrip('/')}/printify/v1/"


def _colors(product: dict[str, Any]) -> dict[int, str]:
    offered = catalog.variants_by_id(product["blueprint_id"], product["print_provider_id"])
    return {vid: variant["options"].get("color", "") for vid, variant in offered.items()}


def mockup_images(base_url: str, product: dict[str, Any]) -> list[dict[str, Any]]:
    """Mock-up `images`: one per color group of enabled variants and printed position."""
    colors = _colors(product)
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


def artwork_of(
    state: PrintifyState, product: dict[str, Any], variant_id: int, position: str
) -> Image.Image | None:
    """The artwork printed at `position` on `variant_id` (a small copy, made once)."""
    for area in product["print_areas"]:
        if variant_id not in area["variant_ids"]:
            continue
        for placeholder in area["placeholders"]:
            if placeholder["position"] != position or not placeholder["images"]:
                continue
            upload = state.uploads.get(placeholder["images"][0]["id"])
            if upload is None:
                return None
            thumb_name = f"{upload['id']}.thumb.png"
            thumb = state.files.get(thumb_name)
            if thumb is None:
                original = state.files.get(upload.get("_file", ""))
                if original is None:
                    return None
                thumb = garments.thumbnail(original)
                state.files.put(thumb_name, thumb)
            return Image.open(io.BytesIO(thumb))
    return None


@router.get("/mockups/{product_id}/{variant_id}/{position}.png", include_in_schema=False)
def mockup(product_id: str, variant_id: int, position: str, state: Printify) -> Response:
    product = state.products.get(product_id)
    if product is None:
        raise not_found(f"Mock-up {product_id}/{variant_id}")
    offered = catalog.variants_by_id(product["blueprint_id"], product["print_provider_id"])
    if variant_id not in offered:
        raise not_found(f"Mock-up {product_id}/{variant_id}")
    color = offered[variant_id]["options"].get("color", "White")
    kind = "tee" if product["blueprint_id"] == 6 else "poster"
    artwork = artwork_of(state, product, variant_id, position)
    picture = garments.render(kind, catalog.color_hex(color), artwork, position)
    return Response(picture, media_type="image/png")
