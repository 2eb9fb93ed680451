"""Etsy activities (`pod-integration` queue): draft listing, images, activation.

Idempotent per workflow like the Printify steps: recorded ids first, then a lookup of
what Etsy already has (on a retry, a draft with the same copy made since the step began
that no run owns), then create.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
from temporalio import activity

from activities.refs import ExternalRefs
from core.db import SessionFactory
from core.settings import Settings
from core.storage import ObjectStorage
from domain import errors
from domain.errors import DomainError
from integrations.errors import VendorError
from integrations.etsy import EtsyClient, listing_url, price_cents
from integrations.http import tls_context
from models.payloads import (
    CreateDraftListingInput,
    EtsyListingSetup,
    ListingImageRef,
    ListingImages,
    ListingRef,
    OfferVariant,
    SetListingInventoryInput,
    ShopsInput,
    UploadListingImageInput,
    UploadListingImagesInput,
)
from models.repositories.refs import ExternalRefTaken
from models.tables import RefKind
from services.vendors import VendorGateway
from workflows.contract import (
    ACTIVATE_LISTING,
    CREATE_DRAFT_LISTING,
    DELETE_LISTING,
    ETSY_RESOLVE_SHOP,
    SET_LISTING_INVENTORY,
    UPLOAD_LISTING_IMAGE,
    UPLOAD_LISTING_IMAGES,
)

# How far Etsy's clock may run behind Temporal's when a retry looks for its lost draft.
ETSY_CLOCK_SKEW = timedelta(minutes=2)
MAX_LISTING_IMAGES = 20  # Etsy's limit per listing
# Etsy's custom variation properties (free-text values, no taxonomy ids needed).
COLOR_PROPERTY = (513, "Color")
SIZE_PROPERTY = (514, "Size")


def listing_inventory(
    variants: list[OfferVariant], readiness_state_id: int | None
) -> dict[str, Any]:
    """`update_listing_inventory` arguments for the variants: a colour property when they
    come in several colours, a size property when in several sizes; prices on the
    properties they vary by; each variant its own SKU."""
    used = [
        (prop, name, attr)
        for (prop, name), attr in ((COLOR_PROPERTY, "color"), (SIZE_PROPERTY, "size"))
        if len({getattr(v, attr) for v in variants}) > 1
    ]
    products = [
        {
            "sku": v.sku,
            "property_values": [
                {
                    "property_id": prop,
                    "property_name": name,
                    "value_ids": [],
                    "values": [getattr(v, attr)],
                }
                for prop, name, attr in used
            ],
            "offerings": [
                {
                    "price": float(Decimal(v.price_cents).scaleb(-2)),
                    "quantity": 999,
                    "is_enabled": True,
                    "readiness_state_id": readiness_state_id,
                }
            ],
        }
        for v in variants
    ]
    return {
        "products": products,
        "price_on_property": _price_properties(variants, used),
        "sku_on_property": [prop for prop, _, _ in used],
    }


def _price_properties(variants: list[OfferVariant], used: list[tuple[int, str, str]]) -> list[int]:
    """The properties the price depends on: none, one of them, or both."""
    if len({v.price_cents for v in variants}) <= 1:
        return []
    for prop, _, attr in used:
        by_value: dict[str, set[int]] = {}
        for v in variants:
            by_value.setdefault(getattr(v, attr), set()).add(v.price_cents)
        if all(len(prices) == 1 for prices in by_value.values()):
            return [prop]
    return [prop for prop, _, _ in used]


class EtsyActivities:
    def __init__(
        self,
        sessions: SessionFactory,
        storage: ObjectStorage,
        clients: VendorGateway,
        *,
        taxonomy_id: int = 482,
        shipping_profile_id: int | None = None,
        return_policy_id: int | None = None,
        readiness_state_id: int | None = None,
    ) -> None:
        self._refs = ExternalRefs(sessions)
        self._storage = storage
        self._clients = clients
        self._taxonomy_id = taxonomy_id
        self._shipping_profile_id = shipping_profile_id
        self._return_policy_id = return_policy_id
        self._readiness_state_id = readiness_state_id

    @classmethod
    def from_settings(
        cls,
        sessions: SessionFactory,
        storage: ObjectStorage,
        clients: VendorGateway,
        settings: Settings,
    ) -> EtsyActivities:
        """The activities with the listing defaults the settings name."""
        return cls(
            sessions,
            storage,
            clients,
            taxonomy_id=settings.etsy_taxonomy_id,
            shipping_profile_id=settings.etsy_shipping_profile,
            return_policy_id=settings.etsy_return_policy,
            readiness_state_id=settings.etsy_readiness_state,
        )

    @activity.defn(name=ETSY_RESOLVE_SHOP.name)
    async def resolve_shop(self, data: ShopsInput) -> int:
        """The shop to list in: the request's, the integration's, or the token owner's."""
        if data.etsy_shop_id is not None:
            return data.etsy_shop_id
        connected = await self._clients.shop_id(data.tenant_id, data.etsy_integration_id, "etsy")
        if connected is not None:
            return connected
        client = await self._clients.etsy(data.tenant_id, data.etsy_integration_id)
        me = await client.get_me()
        if not me.get("shop_id"):
            raise DomainError(
                errors.INVALID_INPUT, "the Etsy user has no shop; set shop_id in the integration"
            )
        return int(me["shop_id"])

    @activity.defn(name=CREATE_DRAFT_LISTING.name)
    async def create_draft_listing(self, data: CreateDraftListingInput) -> ListingRef:
        recorded = await self._refs.get(data.tenant_id, data.workflow_id, RefKind.ETSY_LISTING)
        ref = partial(ListingRef, data.tenant_id, data.integration_id, data.shop_id)
        if recorded is not None:
            return ref(int(recorded))
        client = await self._clients.etsy(data.tenant_id, data.integration_id)
        brief = data.brief
        listing = await self._lost_draft(client, data)
        # The shop's profiles chosen at the request; runs requested before per-shop setup
        # use the settings' (the development shop's).
        setup = data.setup or EtsyListingSetup(
            self._shipping_profile_id, self._return_policy_id, self._readiness_state_id
        )
        if listing is None:
            listing = await client.create_draft_listing(
                data.shop_id,
                title=brief.title,
                description=brief.description,
                price_cents=data.price_cents,
                quantity=999,
                tags=brief.tags,
                taxonomy_id=self._taxonomy_id,
                shipping_profile_id=setup.shipping_profile_id,
                return_policy_id=setup.return_policy_id,
                readiness_state_id=setup.readiness_state_id,
            )
        try:
            listing_id = await self._refs.claim(
                data.tenant_id, data.workflow_id, RefKind.ETSY_LISTING, str(listing["listing_id"])
            )
        except ExternalRefTaken as exc:
            # Another run claimed this draft first (it had the same copy); the next
            # attempt looks again without it and makes our own.
            raise DomainError(errors.LISTING_CLAIMED, str(exc)) from exc
        return ref(int(listing_id))

    async def _lost_draft(
        self, client: EtsyClient, data: CreateDraftListingInput
    ) -> dict[str, Any] | None:
        """The draft an earlier attempt of this step made but never recorded, if any.

        Etsy takes no idempotency key, so a draft is known only by its copy. A first
        attempt cannot have made one; a later one takes the newest draft with the same
        title, description and price made since the step was first scheduled (less
        `ETSY_CLOCK_SKEW`) that no run of any tenant has recorded. A seller's older
        draft or any active listing with the same copy is never taken (ADR 0003).
        """
        info = activity.info()
        if info.attempt == 1:
            return None
        since = info.scheduled_time - ETSY_CLOCK_SKEW
        found = await client.drafts_with_copy(
            data.shop_id,
            title=data.brief.title,
            description=data.brief.description,
            created_since=int(since.timestamp()),
        )
        # Two runs of one keyword write the same copy; a draft at another price (another
        # template or pricing rule) cannot be the one this attempt asked for. A draft
        # with no readable price is not taken either: the safe side is a new draft.
        found = [item for item in found if price_cents(item) == data.price_cents]
        owned = await self._refs.owners(
            RefKind.ETSY_LISTING, [str(item["listing_id"]) for item in found]
        )
        return next((item for item in found if str(item["listing_id"]) not in owned), None)

    @activity.defn(name=UPLOAD_LISTING_IMAGE.name)
    async def upload_listing_image(self, data: UploadListingImageInput) -> ListingImageRef:
        recorded = await self._refs.get(
            data.tenant_id, data.workflow_id, RefKind.ETSY_LISTING_IMAGE
        )
        if recorded is not None:
            return ListingImageRef(listing_image_id=int(recorded))
        listing = data.listing
        client = await self._clients.etsy(listing.tenant_id, listing.integration_id)
        images = await client.get_listing_images(listing.listing_id)
        if images.get("results"):
            image = images["results"][0]
        else:
            content = await asyncio.to_thread(self._storage.get, data.storage_key)
            image = await client.upload_listing_image(
                listing.shop_id,
                listing.listing_id,
                image=content,
                file_name=data.storage_key.rsplit("/", 1)[-1],
                rank=1,
                alt_text=data.alt_text[:250],
            )
        image_id = await self._refs.put(
            data.tenant_id,
            data.workflow_id,
            RefKind.ETSY_LISTING_IMAGE,
            str(image["listing_image_id"]),
        )
        return ListingImageRef(listing_image_id=int(image_id))

    @activity.defn(name=SET_LISTING_INVENTORY.name)
    async def set_listing_inventory(self, data: SetListingInventoryInput) -> None:
        """One Etsy product per variant: its colour and size, price, Printify SKU and the
        shop's processing profile (a PUT: repeating it changes nothing)."""
        listing = data.listing
        readiness = (data.setup.readiness_state_id if data.setup else None) or (
            self._readiness_state_id
        )
        inventory = listing_inventory(data.variants, readiness)
        client = await self._clients.etsy(listing.tenant_id, listing.integration_id)
        await client.update_listing_inventory(listing.listing_id, **inventory)

    @activity.defn(name=UPLOAD_LISTING_IMAGES.name)
    async def upload_listing_images(self, data: UploadListingImagesInput) -> ListingImages:
        """The mock-ups (default colour first), then the artwork, up to Etsy's 20, each with
        alt text. A retry goes on after the photos the listing already has."""
        listing = data.listing
        client = await self._clients.etsy(listing.tenant_id, listing.integration_id)
        existing = (await client.get_listing_images(listing.listing_id)).get("results") or []
        ids = [int(image["listing_image_id"]) for image in existing]
        photos: list[tuple[str, str, str]] = [
            ("url", m.src, f"{data.title} — {m.color or 'mock-up'}, {m.position}")
            for m in data.mockups
        ][: MAX_LISTING_IMAGES - 1]
        photos.append(("key", data.artwork_key, f"{data.title} — the design"))
        # The process's one TLS context: py-spy on `make bench-chains` had building a
        # context per call (the CA bundle read again) at 10 % of this worker's busy CPU.
        async with httpx.AsyncClient(
            timeout=30.0, follow_redirects=True, verify=tls_context()
        ) as web:
            for rank in range(len(existing) + 1, len(photos) + 1):
                kind, where, alt = photos[rank - 1]
                if kind == "url":
                    answer = await web.get(where)
                    answer.raise_for_status()
                    content = answer.content
                else:
                    content = await asyncio.to_thread(self._storage.get, where)
                name = where.rsplit("/", 1)[-1].split("?", 1)[0] or f"photo-{rank}.png"
                image = await client.upload_listing_image(
                    listing.shop_id,
                    listing.listing_id,
                    image=content,
                    file_name=f"{rank}-{name}",
                    rank=rank,
                    alt_text=alt[:250],
                )
                ids.append(int(image["listing_image_id"]))
        return ListingImages(ids)

    @activity.defn(name=ACTIVATE_LISTING.name)
    async def activate_listing(self, listing: ListingRef) -> ListingRef:
        """Make the listing live (idempotent) and return it with its public URL."""
        client = await self._clients.etsy(listing.tenant_id, listing.integration_id)
        updated = await client.activate_listing(listing.shop_id, listing.listing_id)
        return replace(listing, url=listing_url(updated))

    @activity.defn(name=DELETE_LISTING.name)
    async def delete_listing(self, listing: ListingRef) -> None:
        """Compensation: remove a listing the run made (already gone counts as done)."""
        client = await self._clients.etsy(listing.tenant_id, listing.integration_id)
        try:
            await client.delete_listing(listing.listing_id)
        except VendorError as exc:
            if exc.status == 404:
                return
            raise
