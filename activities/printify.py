"""Printify activities (`pod-integration` queue).

Each side-effecting step is idempotent per workflow: the vendor id is recorded in
`external_refs`, and when the record is missing (the answer was lost) the vendor is
searched by a key derived from the workflow before anything is created again.
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from temporalio import activity

from activities.refs import ExternalRefs
from core.db import SessionFactory
from core.settings import Settings
from core.signed_urls import FileUrls
from core.storage import ObjectStorage
from domain import errors
from domain.errors import DomainError
from domain.pricing import PricingError
from domain.skus import product_sku, workflow_key
from domain.webhooks import ORDER_TOPICS, PRINTIFY_WEBHOOK_PATH, PUBLISH_STARTED
from integrations.errors import VendorError
from integrations.printify import (
    MAX_BASE64_UPLOAD_BYTES,
    PrintifyClient,
    external_listing,
    placeholder_size,
)
from models.payloads import (
    ChannelListing,
    ChannelState,
    CreateProductInput,
    EnsureWebhookInput,
    ListingOffer,
    Mockup,
    OfferVariant,
    PrintArea,
    PrintAreaInput,
    PrintFile,
    ProductRef,
    PublishingFailedInput,
    PublishingSucceededInput,
    PublishWatch,
    ShopsInput,
    UploadedImage,
    UploadImageInput,
)
from models.tables import RefKind
from services.vendors import VendorGateway
from workflows.contract import (
    CHECK_PUBLISH_STARTED,
    CREATE_PRODUCT,
    ENSURE_WEBHOOK,
    GET_PRINT_AREA,
    PRINTIFY_CHANNEL_LISTING,
    PRINTIFY_LISTING_OFFER,
    PRINTIFY_RESOLVE_SHOP,
    PUBLISH_PRODUCT,
    PUBLISHING_FAILED,
    PUBLISHING_SUCCEEDED,
    UPLOAD_IMAGE,
)


def unit_cost(product: dict[str, Any]) -> int:
    """The highest production cost (cents) among the product's enabled variants."""
    costs = [int(v.get("cost") or 0) for v in product.get("variants", []) if v.get("is_enabled")]
    return max(costs, default=0)


def listing_offer(product: dict[str, Any]) -> ListingOffer:
    """A Printify product's enabled variants and mock-ups, read by its option types."""
    names = {
        int(value["id"]): (str(option.get("type", "")), str(value.get("title", "")))
        for option in product.get("options", [])
        for value in option.get("values", [])
    }
    variants = []
    for variant in product.get("variants", []):
        if not variant.get("is_enabled"):
            continue
        kinds = dict(names[o] for o in variant.get("options", []) if o in names)
        variants.append(
            OfferVariant(
                int(variant["id"]),
                str(variant.get("sku") or ""),
                int(variant.get("price") or 0),
                color=kinds.get("color", ""),
                size=kinds.get("size", ""),
            )
        )
    color_of = {v.variant_id: v.color for v in variants}
    mockups = []
    for image in product.get("images", []):
        shown = [int(v) for v in image.get("variant_ids", []) if int(v) in color_of]
        if shown:
            position = str(image.get("position", "front"))
            default = bool(image.get("is_default"))
            mockups.append(
                Mockup(str(image["src"]), shown, position, default, color=color_of[shown[0]])
            )
    mockups.sort(key=lambda m: not m.is_default)  # the default first, the rest in order
    return ListingOffer(variants, mockups)


def description_html(text: str) -> str:
    """Plain-text paragraphs as the HTML Printify shows."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


@dataclass(frozen=True)
class PublishWebhook:
    """Where Printify announces `product:publish:started`, the secret it signs with, and
    how long a run waits for the announcement before polling."""

    url: str
    secret: SecretStr
    wait_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> PublishWebhook | None:
        """None (runs poll at once) without a public URL or with a wait of 0."""
        public = settings.public_url
        if public is None or settings.printify_publish_webhook_wait_seconds <= 0:
            return None
        return cls(
            f"{public}{PRINTIFY_WEBHOOK_PATH}",
            settings.printify_webhook_secret,
            settings.printify_publish_webhook_wait_seconds,
        )


class PrintifyActivities:
    def __init__(
        self,
        sessions: SessionFactory,
        storage: ObjectStorage,
        clients: VendorGateway,
        *,
        webhook: PublishWebhook | None = None,
        file_urls: FileUrls | None = None,
    ) -> None:
        """`file_urls` gives Printify a URL to fetch a print file from (S3's presigned or
        the API's signed one); without one, files go inline up to Printify's 5 MB."""
        self._refs = ExternalRefs(sessions)
        self._storage = storage
        self._clients = clients
        self._webhook = webhook
        self._file_urls = file_urls

    @activity.defn(name=PRINTIFY_RESOLVE_SHOP.name)
    async def resolve_shop(self, data: ShopsInput) -> int:
        """The shop to use: the request's, the integration's, or the account's only shop."""
        if data.printify_shop_id is not None:
            return data.printify_shop_id
        connected = await self._clients.shop_id(
            data.tenant_id, data.printify_integration_id, "printify"
        )
        if connected is not None:
            return connected
        client = await self._clients.printify(data.tenant_id, data.printify_integration_id)
        shops = await client.list_shops()
        if len(shops) != 1:
            raise DomainError(
                errors.INVALID_INPUT,
                f"the Printify account has {len(shops)} shops; set shop_id in the integration",
            )
        return int(shops[0]["id"])

    @activity.defn(name=GET_PRINT_AREA.name)
    async def get_print_area(self, data: PrintAreaInput) -> PrintArea:
        """Pixel size of the print area for the template's variants, from the catalog."""
        client = await self._clients.printify(data.tenant_id, data.integration_id)
        # The whole range: an out-of-stock variant still has its print area.
        variants = await client.get_variants(
            data.blueprint_id, data.print_provider_id, show_out_of_stock=True
        )
        try:
            width, height = placeholder_size(variants, data.variant_ids, data.position)
        except ValueError as exc:
            raise DomainError(errors.INVALID_INPUT, str(exc)) from exc
        return PrintArea(position=data.position, width=width, height=height)

    @activity.defn(name=UPLOAD_IMAGE.name)
    async def upload_image(self, data: UploadImageInput) -> UploadedImage:
        recorded = await self._refs.get(data.tenant_id, data.workflow_id, RefKind.PRINTIFY_UPLOAD)
        if recorded is not None:
            return UploadedImage(image_id=recorded)
        client = await self._clients.printify(data.tenant_id, data.integration_id)
        file_name = f"pod-{workflow_key(data.workflow_id)}-{data.print_file.sha256[:16]}.png"
        found = await client.find_upload(file_name)
        if found is None:
            found = await self._upload(client, file_name, data.print_file)
        image_id = await self._refs.put(
            data.tenant_id, data.workflow_id, RefKind.PRINTIFY_UPLOAD, str(found["id"])
        )
        return UploadedImage(image_id=image_id)

    async def _upload(
        self, client: PrintifyClient, file_name: str, print_file: PrintFile
    ) -> dict[str, Any]:
        """By URL when there is one (Printify's preference, and a must above 5 MB), else
        the bytes inline."""
        key = print_file.storage_key
        too_big = print_file.size_bytes > MAX_BASE64_UPLOAD_BYTES
        url = self._file_urls.url_for(key, needed=too_big) if self._file_urls else None
        if url is not None:
            return await client.upload_image_url(file_name, url)
        if too_big:
            raise DomainError(
                errors.PRINT_FILE_NEEDS_URL,
                f"the print file is {print_file.size_bytes} bytes: Printify takes it only by "
                "URL above 5 MB; configure S3 storage or PUBLIC_BASE_URL",
                {"size_bytes": print_file.size_bytes},
            )
        contents = await asyncio.to_thread(self._storage.get, key)
        return await client.upload_image(file_name, contents)

    @activity.defn(name=CREATE_PRODUCT.name)
    async def create_product(self, data: CreateProductInput) -> ProductRef:
        recorded = await self._refs.get(data.tenant_id, data.workflow_id, RefKind.PRINTIFY_PRODUCT)
        client = await self._clients.printify(data.tenant_id, data.integration_id)
        if recorded is not None:
            known = await client.get_product(data.shop_id, recorded)
            known = await self._priced(client, data, known)
            return self._ref(data, recorded, known)
        template = data.template
        # Out-of-stock variants are left out (the run notes them), not a reason to fail.
        in_stock = await client.get_variants(template.blueprint_id, template.print_provider_id)
        offered = {int(v["id"]) for v in in_stock.get("variants", [])}
        variant_ids = [vid for vid in template.variant_ids if vid in offered]
        if not variant_ids:
            raise DomainError(
                errors.VARIANTS_OUT_OF_STOCK,
                "every variant of the template is out of stock at the print provider",
                {"variant_ids": template.variant_ids},
            )
        skus = {vid: product_sku(data.workflow_id, vid) for vid in variant_ids}
        body = {
            "title": data.brief.title,
            "description": description_html(data.brief.description),
            "blueprint_id": template.blueprint_id,
            "print_provider_id": template.print_provider_id,
            "tags": data.brief.tags,
            "variants": [
                {"id": vid, "price": template.price_cents, "is_enabled": True, "sku": sku}
                for vid, sku in skus.items()
            ],
            "print_areas": [
                {
                    "variant_ids": variant_ids,
                    "placeholders": [
                        {
                            "position": template.position,
                            "images": [
                                {"id": data.image_id, "x": 0.5, "y": 0.5, "scale": 1, "angle": 0}
                            ],
                        }
                    ],
                }
            ],
        }
        product = await client.find_product_by_sku(data.shop_id, skus[variant_ids[0]])
        if product is None:
            product = await client.create_product(data.shop_id, body)
        product_id = await self._refs.put(
            data.tenant_id, data.workflow_id, RefKind.PRINTIFY_PRODUCT, str(product["id"])
        )
        product = await self._priced(client, data, product)
        return self._ref(data, product_id, product)

    async def _priced(
        self, client: PrintifyClient, data: CreateProductInput, product: dict[str, Any]
    ) -> dict[str, Any]:
        """The product with the template's pricing rule applied to each enabled variant's
        cost (costs are known only once the product exists). Repeating it changes nothing."""
        rule = data.template.pricing
        if rule is None or rule.mode == "fixed":
            return product
        try:
            wanted = {
                int(v["id"]): rule.price(v.get("cost"))
                for v in product.get("variants", [])
                if v.get("is_enabled")
            }
        except PricingError as exc:
            raise DomainError(
                errors.PRICING_FAILED,
                f"the pricing rule cannot price this product: {exc}",
                {"product_id": str(product["id"])},
            ) from exc
        current = {int(v["id"]): v.get("price") for v in product.get("variants", [])}
        changes = [{"id": vid, "price": price} for vid, price in wanted.items()]
        if all(current.get(vid) == price for vid, price in wanted.items()):
            return product
        return await client.update_product(data.shop_id, str(product["id"]), {"variants": changes})

    @staticmethod
    def _ref(data: CreateProductInput, product_id: str, product: dict[str, Any]) -> ProductRef:
        enabled = [v for v in product.get("variants", []) if v.get("is_enabled")]
        prices = [int(v.get("price") or 0) for v in enabled]
        enabled_ids = {int(v["id"]) for v in enabled}
        return ProductRef(
            data.tenant_id,
            data.integration_id,
            data.shop_id,
            product_id,
            unit_cost(product),
            # One price on Etsy: the highest variant price keeps every variant's margin.
            price_cents=max(prices, default=data.template.price_cents),
            left_out_variant_ids=[
                vid for vid in data.template.variant_ids if vid not in enabled_ids
            ],
        )

    @activity.defn(name=PRINTIFY_LISTING_OFFER.name)
    async def listing_offer(self, product: ProductRef) -> ListingOffer:
        """The product's enabled variants (colour, size, price, SKU) and its mock-up photos,
        the default one first: what its Etsy listing offers and shows."""
        client = await self._clients.printify(product.tenant_id, product.integration_id)
        current = await client.get_product(product.shop_id, product.product_id)
        return listing_offer(current)

    @activity.defn(name=PRINTIFY_CHANNEL_LISTING.name)
    async def channel_listing(self, product: ProductRef) -> ChannelListing:
        """Where Printify's own Etsy channel is with the product: still publishing (locked,
        no listing yet), published (`external` names the listing), or failed (unlocked
        without one)."""
        client = await self._clients.printify(product.tenant_id, product.integration_id)
        current = await client.get_product(product.shop_id, product.product_id)
        external = external_listing(current)
        if external is not None:
            return ChannelListing(
                ChannelState.PUBLISHED, int(external["id"]), str(external.get("handle") or "")
            )
        if current.get("is_locked"):
            return ChannelListing(ChannelState.PUBLISHING)
        return ChannelListing(ChannelState.FAILED, reason="Printify unlocked it unlisted")

    @activity.defn(name=PUBLISH_PRODUCT.name)
    async def publish(self, product: ProductRef) -> None:
        """Start publishing (locks the product); skipped when it already started or finished."""
        client = await self._clients.printify(product.tenant_id, product.integration_id)
        current = await client.get_product(product.shop_id, product.product_id)
        if current.get("is_locked") or external_listing(current):
            return
        await client.publish(product.shop_id, product.product_id)

    @activity.defn(name=ENSURE_WEBHOOK.name)
    async def ensure_webhook(self, data: EnsureWebhookInput) -> PublishWatch:
        """Subscribe our URL to the shop's `product:publish:started`, and to the order
        events the order sync follows (ADR 0031), unless it already is.

        Listed before created, so a retry after a lost answer subscribes once. A refusal
        that no retry can fix (e.g. a token without `webhooks.write`) leaves the run to poll.
        """
        if self._webhook is None:
            return PublishWatch()
        url = self._webhook.url
        client = await self._clients.printify(data.tenant_id, data.integration_id)
        try:
            hooks = await client.list_webhooks(data.shop_id)
            subscribed = {h.get("topic"): h for h in hooks if h.get("url") == url}
            secret = self._webhook.secret.get_secret_value()
            for topic in (PUBLISH_STARTED, *ORDER_TOPICS):
                if topic not in subscribed:
                    subscribed[topic] = await client.create_webhook(
                        data.shop_id, topic, url, secret
                    )
            found = subscribed[PUBLISH_STARTED]
        except VendorError as exc:
            if exc.retryable:
                raise
            activity.logger.warning("no Printify webhook for shop %s: %s", data.shop_id, exc)
            return PublishWatch()
        return PublishWatch(webhook_id=str(found["id"]), wait_seconds=self._webhook.wait_seconds)

    @activity.defn(name=CHECK_PUBLISH_STARTED.name)
    async def check_publish_started(self, product: ProductRef) -> bool:
        """Whether publishing started: the product is locked, or already published."""
        client = await self._clients.printify(product.tenant_id, product.integration_id)
        current = await client.get_product(product.shop_id, product.product_id)
        return bool(current.get("is_locked") or external_listing(current))

    @activity.defn(name=PUBLISHING_SUCCEEDED.name)
    async def publishing_succeeded(self, data: PublishingSucceededInput) -> None:
        """Tell Printify where the product is sold (sets `external`, unlocks)."""
        product, listing = data.product, data.listing
        client = await self._clients.printify(product.tenant_id, product.integration_id)
        current = await client.get_product(product.shop_id, product.product_id)
        external = external_listing(current) or {}
        if str(external.get("id", "")) == str(listing.listing_id):
            return
        await client.publishing_succeeded(
            product.shop_id, product.product_id, str(listing.listing_id), listing.url
        )

    @activity.defn(name=PUBLISHING_FAILED.name)
    async def publishing_failed(self, data: PublishingFailedInput) -> None:
        """Tell Printify the publish failed (unlocks the product)."""
        product = data.product
        client = await self._clients.printify(product.tenant_id, product.integration_id)
        await client.publishing_failed(
            data.product.shop_id, data.product.product_id, data.reason or "failed"
        )
