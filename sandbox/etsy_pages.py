"""Pages for people in the Etsy emulator (mount at `/etsy`, no auth): the page a listing's
`url` opens, the shop's page and the image files."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from sandbox.etsy import EtsyState
from sandbox.store import JsonStore

if TYPE_CHECKING:
    from sandbox.app import EmulatorConfig

_CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} · Etsy emulator</title></head><body>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status)


def _variations(inventory: dict[str, Any]) -> str:
    """A selector per variation property (what a buyer picks), with each choice once."""
    choices: dict[str, list[str]] = {}
    for product in inventory["products"]:
        for value in product["property_values"]:
            name = value["property_name"] or f"Property {value['property_id']}"
            choices.setdefault(name, [])
            if value["values"][0] not in choices[name]:
                choices[name].append(value["values"][0])
    selects = "".join(
        f'<label>{html.escape(name)} <select name="{html.escape(name)}">'
        + "".join(f"<option>{html.escape(v)}</option>" for v in values)
        + "</select></label> "
        for name, values in choices.items()
    )
    return f'<form class="variations">{selects}</form>' if selects else ""


def _listing_body(listing: dict[str, Any], inventory: dict[str, Any]) -> str:
    price = listing["price"]
    tags = ", ".join(html.escape(tag) for tag in listing["tags"]) or "none"
    images = "".join(
        f'<img src="{html.escape(image["url_570xN"])}" alt="{html.escape(image["alt_text"])}"'
        ' width="285">'
        for image in listing["images"]
    )
    description = html.escape(listing["description"]).replace("\n", "<br>")
    return (
        f"<h1>{html.escape(listing['title'])}</h1>"
        f"<p>State: <strong>{html.escape(listing['state'])}</strong> · "
        f"Price: {price['amount'] / price['divisor']:.2f} {html.escape(price['currency_code'])}</p>"
        f"{_variations(inventory)}"
        f"<p>Tags: {tags}</p><div>{images}</div><p>{description}</p>"
    )


def build_pages_router(store: JsonStore, config: EmulatorConfig) -> APIRouter:
    """Pages for people (mount at `/etsy`, no auth): listing pages, the shop, image files."""
    state = EtsyState(store, config)
    router = APIRouter(include_in_schema=False)

    @router.get("/listing/{listing_id}")
    def listing_page(listing_id: int) -> HTMLResponse:
        row = state.listings.get(str(listing_id))
        if row is None:
            return _page("Not found", "<h1>This listing does not exist.</h1>", 404)
        with store.lock:  # a buyer looked: Etsy counts the view
            row["views"] = int(row.get("views") or 0) + 1
            store.save()
        listing = state.listing(row, {"images"})
        return _page(listing["title"], _listing_body(listing, state.inventory(row)))

    @router.get("/shop/{shop_id}")
    def shop_page(shop_id: int) -> HTMLResponse:
        rows = sorted(state.listings.values(), key=lambda r: r["listing_id"], reverse=True)
        items = "".join(
            f'<li><a href="{html.escape(state.listing(row)["url"])}">'
            f"{html.escape(row['title'])}</a> ({html.escape(row['state'])})</li>"
            for row in rows
            if row["shop_id"] == shop_id
        )
        return _page(f"Shop {shop_id}", f"<h1>Shop {shop_id}</h1><ul>{items}</ul>")

    @router.get("/images/{image_id}")
    def image_file(image_id: int) -> Response:
        row = state.images.get(str(image_id))
        data = state.blobs.get_image(image_id, row["ext"]) if row else None
        if row is None or data is None:
            return Response("image not found", status_code=404, media_type="text/plain")
        return Response(data, media_type=_CONTENT_TYPES[row["ext"]])

    return router
