"""The Etsy Open API v3 emulator: shop, draft listings, images, updates, OAuth.

`build_router` serves the API (mounted at `/etsy/v3`); `sandbox.etsy_pages` serves the
pages a person opens from a listing's `url` and the image files (mounted at `/etsy`).
Validation lives in `sandbox.etsy_rules`, keys, tokens and rate limits in
`sandbox.etsy_oauth`. State persists in the `JsonStore`; image bytes go to an
`etsy-images/` directory next to the store file (memory only for an in-memory store).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response

from sandbox import etsy_inventory, etsy_oauth, etsy_search
from sandbox.etsy_oauth import Gate, RateLimiter, build_oauth_router, etsy_route_class
from sandbox.etsy_receipts import EtsyReceipts, receipts_query
from sandbox.etsy_rules import (
    MAX_ALT_TEXT,
    PHYSICAL_FIELDS,
    EtsyError,
    decode_image,
    parse_image_form,
    parse_listing_fields,
    query_int,
    read_form,
    read_json,
)
from sandbox.etsy_shops import (
    READINESS_STATE_ID,
    RETURN_POLICY_ID,
    SHIPPING_PROFILE_ID,
    EtsyShops,
    page,
)
from sandbox.store import BlobDir, JsonStore

if TYPE_CHECKING:
    from sandbox.app import EmulatorConfig

__all__ = ["READINESS_STATE_ID", "RETURN_POLICY_ID", "SHIPPING_PROFILE_ID", "build_router"]

MAX_IMAGES = 20
LISTING_STATES = frozenset({"active", "inactive", "sold_out", "draft", "expired"})
# getListingsByShop's `sort_on` and the row field behind it (`score`: newest first).
SHOP_SORT_FIELDS = {
    "created": "created_timestamp",
    "updated": "updated_timestamp",
    "price": "price",
}
LISTING_LIFETIME = 120 * 24 * 3600  # a published listing runs about four months


def _now() -> int:
    return int(time.time())


class ImageBlobs(BlobDir):
    """Image bytes: files under `<store dir>/etsy-images/`, or memory for an in-memory store."""

    def __init__(self, store: JsonStore) -> None:
        super().__init__(store, "etsy-images")

    def put_image(self, image_id: int, ext: str, data: bytes) -> None:
        self.put(f"{image_id}.{ext}", data)

    def get_image(self, image_id: int, ext: str) -> bytes | None:
        return self.get(f"{image_id}.{ext}")

    def delete_image(self, image_id: int, ext: str) -> None:
        self.delete(f"{image_id}.{ext}")


class EtsyState:
    """Listings and images in the store, rendered as Etsy's ShopListing/ListingImage."""

    def __init__(self, store: JsonStore, config: EmulatorConfig) -> None:
        self.store = store
        self.config = config
        self.blobs = ImageBlobs(store)
        self.shops = EtsyShops(store, config)
        self.listings = store.collection("listings")
        self.images = store.collection("images")
        self.inventories = store.collection("inventories")

    def shop(self, shop_id: int) -> dict[str, Any]:
        """The shop as Etsy's `Shop` resource, or a 404."""
        shop = self.shops.get(shop_id)
        active = sum(
            1
            for row in self.listings.values()
            if row["shop_id"] == shop_id and row["state"] == "active"
        )
        return self.shops.resource(shop, active)

    def record(self, listing_id: int, shop_id: int | None = None) -> dict[str, Any]:
        row = self.listings.get(str(listing_id))
        if row is None or (shop_id is not None and row["shop_id"] != shop_id):
            raise EtsyError.plain(404, f"Could not find a Listing with listing_id = {listing_id}.")
        return row

    def listing(self, row: dict[str, Any], includes: Collection[str] = ()) -> dict[str, Any]:
        out = dict(row)
        out["url"] = f"{self.config.public_url}/etsy/listing/{row['listing_id']}"
        out["price"] = {"amount": row["price"], "divisor": 100, "currency_code": "USD"}
        if "images" in includes:
            out["images"] = self.listing_images(row["listing_id"])
        if "shop" in includes:
            out["shop"] = self.shop(row["shop_id"])
        return out

    def image_rows(self, listing_id: int) -> list[dict[str, Any]]:
        rows = [row for row in self.images.values() if row["listing_id"] == listing_id]
        return sorted(rows, key=lambda row: row["rank"])

    def listing_images(self, listing_id: int) -> list[dict[str, Any]]:
        return [self.image(row) for row in self.image_rows(listing_id)]

    def image(self, row: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.config.public_url}/etsy/images/{row['listing_image_id']}"
        out = {key: value for key, value in row.items() if key not in ("ext", "shop_id")}
        sizes = ("url_75x75", "url_170x135", "url_570xN", "url_fullxfull")
        return out | dict.fromkeys(sizes, url)

    def create(self, shop_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        kind = fields.get("type", "physical")
        if kind != "download":
            for name in PHYSICAL_FIELDS:
                if name not in fields:
                    raise EtsyError.field(name, f"{name} is required for physical listings.")
        shop = self.shops.get(shop_id)
        self.shops.check_ids(shop, fields)
        now = _now()
        with self.store.lock:
            listing_id = self.store.next_id("etsy_listing", self.config.etsy_listing_ids_after)
            row: dict[str, Any] = {
                "listing_id": listing_id,
                "user_id": shop["user_id"],
                "shop_id": shop_id,
                "state": "draft",
                "creation_timestamp": now,
                "created_timestamp": now,
                "original_creation_timestamp": now,
                "last_modified_timestamp": now,
                "updated_timestamp": now,
                "state_timestamp": now,
                "ending_timestamp": now + LISTING_LIFETIME,
                "num_favorers": 0,
                "views": 0,
                "tags": [],
                "materials": [],
                "return_policy_id": None,
                "shop_section_id": None,
                "featured_rank": -1,
                "processing_min": 1,
                "processing_max": 3,
                "is_supply": False,
                "is_taxable": True,
                "is_customizable": False,
                "is_personalizable": False,
                "is_private": False,
                "non_taxable": False,
                "has_variations": False,
                "should_auto_renew": False,
                "language": "en-US",
                "style": [],
                "file_data": "",
                "shipping_profile_id": None,
                "readiness_state_id": None,
                "listing_type": kind,
            }
            row.update({key: value for key, value in fields.items() if key != "type"})
            self.listings[str(listing_id)] = row
            self.store.save()
        return row

    def update(self, row: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        shop = self.shops.get(row["shop_id"])
        self.shops.check_ids(shop, fields)
        now = _now()
        with self.store.lock:
            state = fields.pop("state", None)
            if state == "active":
                self._check_activation(shop, row | fields)
            if "type" in fields:
                row["listing_type"] = fields.pop("type")
            row.update(fields)
            if state is not None and state != row["state"]:
                row["state"] = state
                row["state_timestamp"] = now
                if state == "active":
                    row["ending_timestamp"] = now + LISTING_LIFETIME
            row["last_modified_timestamp"] = row["updated_timestamp"] = now
            self.store.save()
        return row

    def _check_activation(self, shop: dict[str, Any], listing: dict[str, Any]) -> None:
        """What Etsy asks of a listing before it goes live (etsy-rules.yaml)."""
        if not self.image_rows(listing["listing_id"]):
            raise EtsyError.plain(
                400, "A listing must have at least one image before it can be activated."
            )
        if listing["listing_type"] == "download":
            return
        if listing.get("readiness_state_id") is None:
            raise EtsyError.field(
                "readiness_state_id", "A physical listing needs a processing profile to go live."
            )
        if listing.get("return_policy_id") is None and not self.shops.in_eu(shop):
            raise EtsyError.field(
                "return_policy_id", "A physical listing needs a return policy to go live."
            )

    def inventory(self, row: dict[str, Any]) -> dict[str, Any]:
        """The listing's inventory as Etsy's `ListingInventory` (one product until set)."""
        with self.store.lock:
            stored = self.inventories.get(str(row["listing_id"]))
            if stored is None:
                stored = etsy_inventory.default_inventory(row)
                etsy_inventory.number(stored, self._next_id)
                self.inventories[str(row["listing_id"])] = stored
                self.store.save()
            return etsy_inventory.render(stored)

    def set_inventory(
        self, row: dict[str, Any], body: Any, max_variations: int = 2
    ) -> dict[str, Any]:
        """Replace the listing's products and offerings (`updateListingInventory`)."""
        shop = self.shops.get(row["shop_id"])
        readiness = {p["readiness_state_id"] for p in shop["readiness_states"]}
        inventory = etsy_inventory.parse_inventory(body, readiness, max_variations)
        with self.store.lock:
            etsy_inventory.number(inventory, self._next_id)
            self.inventories[str(row["listing_id"])] = inventory
            row.update(etsy_inventory.listing_summary(inventory))
            row["last_modified_timestamp"] = row["updated_timestamp"] = _now()
            self.store.save()
        return etsy_inventory.render(inventory)

    def _next_id(self, counter: str) -> int:
        return self.store.next_id(counter, 10_000_000_000)

    def delete(self, row: dict[str, Any]) -> None:
        with self.store.lock:
            for image in self.image_rows(row["listing_id"]):
                self._drop_image(image)
            del self.listings[str(row["listing_id"])]
            self.inventories.pop(str(row["listing_id"]), None)
            self.store.save()

    def _drop_image(self, image: dict[str, Any]) -> None:
        del self.images[str(image["listing_image_id"])]
        self.blobs.delete_image(image["listing_image_id"], image["ext"])

    def add_image(self, row: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
        """Store an upload (or a copy of a shop image) at `rank`, shifting the others."""
        data, meta = self._image_source(row, form)
        rank, overwrite = max(1, form["rank"]), form["overwrite"]
        with self.store.lock:
            current = self.image_rows(row["listing_id"])
            replaced = [image for image in current if overwrite and image["rank"] == rank]
            if len(current) - len(replaced) >= MAX_IMAGES:
                raise EtsyError.field("image", f"A listing may have at most {MAX_IMAGES} images.")
            for image in replaced:
                current.remove(image)
                self._drop_image(image)
            image_id = self.store.next_id("etsy_image", self.config.etsy_image_ids_after)
            image = meta | {
                "listing_image_id": image_id,
                "listing_id": row["listing_id"],
                "alt_text": form["alt_text"],
                "is_watermarked": form["is_watermarked"],
                "created_timestamp": _now(),
                "creation_tsz": _now(),
            }
            self.blobs.put_image(image_id, meta["ext"], data)
            current.insert(min(rank, len(current) + 1) - 1, image)
            for position, item in enumerate(current, start=1):
                item["rank"] = position
            self.images[str(image_id)] = image
            self.store.save()
        return image

    def replace_images(self, row: dict[str, Any], photos: list[tuple[bytes, str]]) -> None:
        """The listing's photos become `photos` (bytes, alt text), in order: what a sales
        channel such as Printify's does when it publishes the listing again."""
        with self.store.lock:
            for image in self.image_rows(row["listing_id"]):
                self._drop_image(image)
            self.store.save()
        for rank, (data, alt) in enumerate(photos[:MAX_IMAGES], start=1):
            form = {
                "image": data,
                "rank": rank,
                "overwrite": False,
                "alt_text": alt[:MAX_ALT_TEXT],
                "is_watermarked": False,
                "listing_image_id": None,
            }
            self.add_image(row, form)

    def _image_source(
        self, row: dict[str, Any], form: dict[str, Any]
    ) -> tuple[bytes, dict[str, Any]]:
        data: bytes | None = form["image"]
        if data is None:
            existing = self.images.get(str(form["listing_image_id"]))
            if form["listing_image_id"] is None:
                raise EtsyError.field("image", "Either image or listing_image_id is required.")
            if existing is None or self.record(existing["listing_id"])["shop_id"] != row["shop_id"]:
                raise EtsyError.field("listing_image_id", "The image was not found in this shop.")
            data = self.blobs.get_image(existing["listing_image_id"], existing["ext"]) or b""
        ext, width, height, hex_code = decode_image(data)
        return data, {"ext": ext, "full_width": width, "full_height": height, "hex_code": hex_code}


def _application_id(keystring: str) -> int:
    return int(hashlib.sha256(keystring.encode()).hexdigest()[:8], 16) % 900_000_000 + 100_000_000


def build_router(
    store: JsonStore, config: EmulatorConfig, state: EtsyState | None = None
) -> APIRouter:
    """The Etsy v3 API routes (mount at `/etsy/v3`), including the OAuth endpoints."""
    state = state or EtsyState(store, config)
    gate = Gate(store, config, RateLimiter(etsy_oauth.DEFAULT_QPS, etsy_oauth.DEFAULT_QPD))
    router = APIRouter(route_class=etsy_route_class(gate.api_key))
    router.include_router(build_oauth_router(store, config))

    @router.get("/application/openapi-ping")
    def ping() -> dict[str, int]:
        return {"application_id": _application_id(config.etsy_keystring)}

    @router.post("/application/scopes")
    async def token_scopes(request: Request) -> dict[str, list[str]]:
        form = await read_form(request, "application/x-www-form-urlencoded")
        token = form.get("token")
        if not token:
            raise EtsyError.field("token", "token is required.")
        return {"scopes": gate.scopes_of(token)}

    @router.get("/application/users/me")
    def get_me(request: Request) -> dict[str, int | None]:
        user_id = gate.user_id(request)
        return {"user_id": user_id, "shop_id": state.shops.user_shop(user_id)}

    @router.get("/application/shops/{shop_id}")
    def get_shop(shop_id: int) -> dict[str, Any]:
        return state.shop(shop_id)

    def owner(request: Request, shop_id: int) -> int:
        """The shop's id, when the token's user owns it (else Etsy's 401, 403 or 404)."""
        return int(state.shops.owned(shop_id, gate.user_id(request))["shop_id"])

    @router.get("/application/shops/{shop_id}/shipping-profiles")
    def get_shop_shipping_profiles(shop_id: int, request: Request) -> dict[str, Any]:
        return page(state.shops.get(owner(request, shop_id))["shipping_profiles"])

    @router.get("/application/shops/{shop_id}/policies/return")
    def get_shop_return_policies(shop_id: int, request: Request) -> dict[str, Any]:
        return page(state.shops.get(owner(request, shop_id))["return_policies"])

    @router.get("/application/shops/{shop_id}/readiness-state-definitions")
    def get_shop_readiness_state_definitions(shop_id: int, request: Request) -> dict[str, Any]:
        found = state.shops.get(owner(request, shop_id))["readiness_states"]
        limit = query_int(request, "limit", 25, 1, 100)
        offset = query_int(request, "offset", 0, 0, 10**9)
        return {"count": len(found), "results": found[offset : offset + limit]}

    @router.post("/application/shops/{shop_id}/listings", status_code=201)
    async def create_draft_listing(shop_id: int, request: Request) -> dict[str, Any]:
        owner(request, shop_id)
        values = await read_form(request, "application/x-www-form-urlencoded")
        fields = parse_listing_fields(values, creating=True)
        return state.listing(state.create(shop_id, fields))

    @router.get("/application/shops/{shop_id}/listings")
    def get_listings_by_shop(shop_id: int, request: Request) -> dict[str, Any]:
        gate.user_id(request)
        state.shops.get(shop_id)
        wanted = request.query_params.get("state", "active")
        if wanted not in LISTING_STATES:
            raise EtsyError.field("state", f"{wanted!r} is not a listing state.")
        limit = query_int(request, "limit", 25, 1, 100)
        offset = query_int(request, "offset", 0, 0, 10**9)
        rows = [r for r in state.listings.values() if r["shop_id"] == shop_id]
        rows = [r for r in rows if r["state"] == wanted]
        sort_on, ascending = etsy_search.listing_order(request)
        field = SHOP_SORT_FIELDS.get(sort_on, "created_timestamp")
        descending = sort_on == "score" or not ascending
        rows.sort(key=lambda r: (r[field], r["listing_id"]), reverse=descending)
        page = [state.listing(r) for r in rows[offset : offset + limit]]
        return {"count": len(rows), "results": page}

    @router.patch("/application/shops/{shop_id}/listings/{listing_id}")
    async def update_listing(shop_id: int, listing_id: int, request: Request) -> dict[str, Any]:
        row = state.record(listing_id, owner(request, shop_id))
        values = await read_form(request, "application/x-www-form-urlencoded")
        return state.listing(state.update(row, parse_listing_fields(values, creating=False)))

    @router.post("/application/shops/{shop_id}/listings/{listing_id}/images", status_code=201)
    async def upload_listing_image(
        shop_id: int, listing_id: int, request: Request
    ) -> dict[str, Any]:
        row = state.record(listing_id, owner(request, shop_id))
        values = await read_form(request, "multipart/form-data")
        return state.image(state.add_image(row, parse_image_form(values)))

    # Before `/listings/{listing_id}`, which would take "active" for an id.
    @router.get("/application/listings/active")
    def find_all_listings_active(request: Request) -> dict[str, Any]:
        return etsy_search.find_all_listings_active(state, request)

    @router.get("/application/listings/{listing_id}")
    def get_listing(listing_id: int, request: Request) -> dict[str, Any]:
        raw = request.query_params.get("includes", "")
        includes = {part.strip().lower() for part in raw.split(",")}
        return state.listing(state.record(listing_id), includes)

    @router.get("/application/listings/{listing_id}/inventory")
    def get_listing_inventory(listing_id: int, request: Request) -> dict[str, Any]:
        gate.user_id(request)
        return state.inventory(state.record(listing_id))

    @router.put("/application/listings/{listing_id}/inventory")
    async def update_listing_inventory(listing_id: int, request: Request) -> dict[str, Any]:
        row = state.record(listing_id)
        owner(request, row["shop_id"])
        supported = request.query_params.get("max_variations_supported", "2")
        if supported not in ("2", "3"):
            raise EtsyError.field("max_variations_supported", "Must be 2 or 3.")
        body = await read_json(request)
        return state.set_inventory(row, body, int(supported))

    @router.get("/application/listings/{listing_id}/images")
    def get_listing_images(listing_id: int) -> dict[str, Any]:
        images = state.listing_images(state.record(listing_id)["listing_id"])
        return {"count": len(images), "results": images}

    receipts = EtsyReceipts(state)

    def seller(request: Request, shop_id: int, scope: str) -> int:
        """The shop's id, when the token's user owns it and was granted `scope`."""
        return int(state.shops.owned(shop_id, gate.user_id(request, scope))["shop_id"])

    @router.get("/application/shops/{shop_id}/receipts")
    def get_shop_receipts(shop_id: int, request: Request) -> dict[str, Any]:
        query = receipts_query(request)
        return receipts.page(seller(request, shop_id, "transactions_r"), query)

    @router.get("/application/shops/{shop_id}/receipts/{receipt_id}")
    def get_shop_receipt(shop_id: int, receipt_id: int, request: Request) -> dict[str, Any]:
        shop = seller(request, shop_id, "transactions_r")
        return receipts.render(receipts.get(shop, receipt_id))

    @router.get("/application/shops/{shop_id}/receipts/{receipt_id}/transactions")
    def get_shop_receipt_transactions_by_receipt(
        shop_id: int, receipt_id: int, request: Request
    ) -> dict[str, Any]:
        found = receipts.get(seller(request, shop_id, "transactions_r"), receipt_id)
        return page(found["transactions"])

    @router.post("/application/shops/{shop_id}/receipts/{receipt_id}/tracking")
    async def create_receipt_shipment(
        shop_id: int, receipt_id: int, request: Request
    ) -> dict[str, Any]:
        found = receipts.get(seller(request, shop_id, "transactions_w"), receipt_id)
        body = await read_json(request)
        if not isinstance(body, dict):
            raise EtsyError.plain(400, "The request body must be a JSON object.")
        return receipts.ship(found, body)

    @router.delete("/application/listings/{listing_id}", status_code=204)
    def delete_listing(listing_id: int, request: Request) -> Response:
        row = state.record(listing_id)
        owner(request, row["shop_id"])
        state.delete(row)
        return Response(status_code=204)

    return router
