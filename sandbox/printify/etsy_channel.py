"""Printify's own Etsy sales channel, emulated: publishing a product of a shop connected
to Etsy makes (or, published again, updates) its Etsy listing in the Etsy emulator of the
same server — variations, prices, SKUs and mock-up photos — then records it on the
product as `external` and unlocks it, a moment after `publish.json` answered.

Printify's choices, as a seller sees them on Etsy: the shop's first shipping profile,
return policy and processing profile; `who_made=someone_else` (a production partner
makes it), `when_made=made_to_order`; a colour and a size variation (Etsy's custom
properties 513 and 514); the product's mock-ups, default first. `external` is answered
as a list here (Printify has answered both shapes; ADR 0023).
"""

from __future__ import annotations

import html
import re
import threading
from typing import TYPE_CHECKING, Any

from sandbox.etsy_rules import EtsyError
from sandbox.printify import garments
from sandbox.printify import seed_catalog as catalog

if TYPE_CHECKING:
    from sandbox.etsy import EtsyState
    from sandbox.printify.state import PrintifyState

# How long Printify takes to make the Etsy listing after `publish.json` answered.
PUBLISH_DELAY_SECONDS = 0.3
_TAG = re.compile(r"[^\w\s'-]")


def _plain(description: str) -> str:
    text = re.sub(r"<\s*/p\s*>", "\n\n", description)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip() or "Made to order."


def _tags(tags: list[str]) -> list[str]:
    seen: list[str] = []
    for tag in tags:
        clean = _TAG.sub("", tag).strip()[:20].strip()
        if clean and clean.casefold() not in {t.casefold() for t in seen}:
            seen.append(clean)
    return seen[:13]


def _variations(product: dict[str, Any], readiness_state_id: int) -> dict[str, Any]:
    offered = catalog.variants_by_id(product["blueprint_id"], product["print_provider_id"])
    enabled = [v for v in product["variants"] if v["is_enabled"]]
    options = [
        (prop, name, key)
        for prop, name, key in ((513, "Color", "color"), (514, "Size", "size"))
        if len({offered[v["id"]]["options"].get(key) for v in enabled}) > 1
    ]
    products = [
        {
            "sku": v["sku"],
            "property_values": [
                {
                    "property_id": prop,
                    "property_name": name,
                    "value_ids": [],
                    "values": [offered[v["id"]]["options"][key]],
                }
                for prop, name, key in options
            ],
            "offerings": [
                {
                    "price": v["price"] / 100,
                    "quantity": 999,
                    "is_enabled": True,
                    "readiness_state_id": readiness_state_id,
                }
            ],
        }
        for v in enabled
    ]
    used = [prop for prop, _, _ in options]
    return {"products": products, "price_on_property": used, "sku_on_property": used}


def _photos(state: PrintifyState, product: dict[str, Any]) -> list[tuple[bytes, str]]:
    """The product's mock-ups as PNG bytes with alt text, default first."""
    from sandbox.printify.mockups import artwork_of  # the same drawing as the CDN files

    offered = catalog.variants_by_id(product["blueprint_id"], product["print_provider_id"])
    kind = "tee" if product["blueprint_id"] == 6 else "poster"
    photos = []
    for image in sorted(product["images"], key=lambda i: not i["is_default"]):
        variant_id = image["variant_ids"][0]
        color = offered[variant_id]["options"].get("color", "White")
        artwork = artwork_of(state, product, variant_id, image["position"])
        picture = garments.render(kind, catalog.color_hex(color), artwork, image["position"])
        photos.append((picture, f"{product['title']} — {color}, {image['position']}"))
    return photos[:20]


def publish_to_etsy(
    state: PrintifyState, etsy: EtsyState, shop: dict[str, Any], product_id: str
) -> None:
    """Make or update the product's Etsy listing, then set `external` and unlock."""
    with state.store.lock:
        product = state.products[product_id]
        etsy_shop = etsy.shops.get(int(shop["etsy_shop_id"]))
        readiness = etsy_shop["readiness_states"][0]["readiness_state_id"]
        enabled = [v for v in product["variants"] if v["is_enabled"]]
        fields = {
            "title": product["title"][:140],
            "description": _plain(product["description"]),
            "price": min(v["price"] for v in enabled),
            "quantity": 999,
            "tags": _tags(product.get("tags", [])),
            "who_made": "someone_else",
            "when_made": "made_to_order",
            "is_supply": False,
            "taxonomy_id": 482,
            "shipping_profile_id": etsy_shop["shipping_profiles"][0]["shipping_profile_id"],
            "return_policy_id": etsy_shop["return_policies"][0]["return_policy_id"],
            "readiness_state_id": readiness,
        }
        listing_id = product.get("_etsy_listing_id")
        row = etsy.listings.get(str(listing_id)) if listing_id else None
    if row is None:
        row = etsy.create(etsy_shop["shop_id"], fields)
    else:
        etsy.update(row, {k: v for k, v in fields.items() if k != "price"})
    etsy.set_inventory(row, _variations(product, readiness))
    etsy.replace_images(row, _photos(state, product))
    listing = etsy.listing(etsy.update(row, {"state": "active"}))
    with state.store.lock:
        product = state.products[product_id]
        product["_etsy_listing_id"] = listing["listing_id"]
        product["external"] = [{"id": str(listing["listing_id"]), "handle": listing["url"]}]
        product["is_locked"] = False
        product["visible"] = True
        state.store.save()


def publish_later(
    state: PrintifyState, etsy: EtsyState, shop: dict[str, Any], product_id: str
) -> None:
    """`publish_to_etsy` a moment from now on a thread (Printify publishes in the background);
    a refusal from Etsy unlocks the product with the reason, as Printify shows it."""

    def run() -> None:
        try:
            publish_to_etsy(state, etsy, shop, product_id)
        except EtsyError as exc:
            with state.store.lock:
                product = state.products[product_id]
                product["is_locked"] = False
                product["_publishing_failed_reason"] = str(exc.body.get("error"))
                state.store.save()

    timer = threading.Timer(PUBLISH_DELAY_SECONDS, run)
    timer.daemon = True
    timer.start()
