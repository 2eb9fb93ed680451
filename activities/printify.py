"""Printify activities (`pod-integration` queue).

Each side-effecting step is idempotent per workflow: the vendor id is recorded in
`external_refs`, and when the record is missing (the answer was lost) the vendor is
searched by a key derived from the workflow before anything is created again.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import vendor_failure
from activities.refs import ExternalRefs
from activities.vendors import VendorClients
from core.db import SessionFactory
from core.storage import ObjectStorage
from integrations.errors import VendorError
from integrations.printify import placeholder_size
from models.payloads import (
    CreateProductInput,
    PrintArea,
    PrintAreaInput,
    ProductRef,
    PublishingFailedInput,
    PublishingSucceededInput,
    ShopsInput,
    UploadedImage,
    UploadImageInput,
)

UPLOAD = "printify_upload"
PRODUCT = "printify_product"


def workflow_key(workflow_id: str) -> str:
    """A short, stable, vendor-safe token for a workflow (used in file names and SKUs)."""
    return hashlib.sha256(workflow_id.encode()).hexdigest()[:16]


def product_sku(workflow_id: str, variant_id: int) -> str:
    return f"POD-{workflow_key(workflow_id)}-{variant_id}"


def unit_cost(product: dict[str, Any]) -> int:
    """The highest production cost (cents) among the product's enabled variants."""
    costs = [int(v.get("cost") or 0) for v in product.get("variants", []) if v.get("is_enabled")]
    return max(costs, default=0)


def description_html(text: str) -> str:
    """Plain-text paragraphs as the HTML Printify shows."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


class PrintifyActivities:
    def __init__(
        self,
        sessions: SessionFactory,
        storage: ObjectStorage,
        clients: VendorClients,
    ) -> None:
        self._refs = ExternalRefs(sessions)
        self._storage = storage
        self._clients = clients

    @activity.defn(name="printify.resolve_shop")
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
        try:
            shops = await client.list_shops()
        except VendorError as exc:
            raise vendor_failure(exc) from exc
        if len(shops) != 1:
            raise ApplicationError(
                f"the Printify account has {len(shops)} shops; set shop_id in the integration",
                type="INVALID_INPUT",
                non_retryable=True,
            )
        return int(shops[0]["id"])

    @activity.defn(name="printify.get_print_area")
    async def get_print_area(self, data: PrintAreaInput) -> PrintArea:
        """Pixel size of the print area for the template's variants, from the catalog."""
        client = await self._clients.printify(data.tenant_id, data.integration_id)
        try:
            variants = await client.get_variants(data.blueprint_id, data.print_provider_id)
        except VendorError as exc:
            raise vendor_failure(exc) from exc
        try:
            width, height = placeholder_size(variants, data.variant_ids, data.position)
        except ValueError as exc:
            raise ApplicationError(str(exc), type="INVALID_INPUT", non_retryable=True) from exc
        return PrintArea(position=data.position, width=width, height=height)

    @activity.defn(name="printify.upload_image")
    async def upload_image(self, data: UploadImageInput) -> UploadedImage:
        recorded = await self._refs.get(data.tenant_id, data.workflow_id, UPLOAD)
        if recorded is not None:
            return UploadedImage(image_id=recorded)
        client = await self._clients.printify(data.tenant_id, data.integration_id)
        file_name = f"pod-{workflow_key(data.workflow_id)}-{data.print_file.sha256[:16]}.png"
        try:
            found = await client.find_upload(file_name)
            if found is None:
                contents = await asyncio.to_thread(self._storage.get, data.print_file.storage_key)
                found = await client.upload_image(file_name, contents)
        except VendorError as exc:
            raise vendor_failure(exc) from exc
        image_id = await self._refs.put(data.tenant_id, data.workflow_id, UPLOAD, str(found["id"]))
        return UploadedImage(image_id=image_id)

    @activity.defn(name="printify.create_product")
    async def create_product(self, data: CreateProductInput) -> ProductRef:
        recorded = await self._refs.get(data.tenant_id, data.workflow_id, PRODUCT)
        client = await self._clients.printify(data.tenant_id, data.integration_id)
        if recorded is not None:
            try:
                known = await client.get_product(data.shop_id, recorded)
            except VendorError as exc:
                raise vendor_failure(exc) from exc
            return ProductRef(
                data.tenant_id, data.integration_id, data.shop_id, recorded, unit_cost(known)
            )
        template = data.template
        skus = {vid: product_sku(data.workflow_id, vid) for vid in template.variant_ids}
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
                    "variant_ids": template.variant_ids,
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
        try:
            product = await client.find_product_by_sku(data.shop_id, skus[template.variant_ids[0]])
            if product is None:
                product = await client.create_product(data.shop_id, body)
        except VendorError as exc:
            raise vendor_failure(exc) from exc
        product_id = await self._refs.put(
            data.tenant_id, data.workflow_id, PRODUCT, str(product["id"])
        )
        return ProductRef(
            data.tenant_id, data.integration_id, data.shop_id, product_id, unit_cost(product)
        )

    @activity.defn(name="printify.publish")
    async def publish(self, product: ProductRef) -> None:
        """Start publishing (locks the product); skipped when it already started or finished."""
        client = await self._clients.printify(product.tenant_id, product.integration_id)
        try:
            current = await client.get_product(product.shop_id, product.product_id)
            if current.get("is_locked") or current.get("external"):
                return
            await client.publish(product.shop_id, product.product_id)
        except VendorError as exc:
            raise vendor_failure(exc) from exc

    @activity.defn(name="printify.publishing_succeeded")
    async def publishing_succeeded(self, data: PublishingSucceededInput) -> None:
        """Tell Printify where the product is sold (sets `external`, unlocks)."""
        product, listing = data.product, data.listing
        client = await self._clients.printify(product.tenant_id, product.integration_id)
        try:
            current = await client.get_product(product.shop_id, product.product_id)
            external = current.get("external") or {}
            if str(external.get("id", "")) == str(listing.listing_id):
                return
            await client.publishing_succeeded(
                product.shop_id, product.product_id, str(listing.listing_id), listing.url
            )
        except VendorError as exc:
            raise vendor_failure(exc) from exc

    @activity.defn(name="printify.publishing_failed")
    async def publishing_failed(self, data: PublishingFailedInput) -> None:
        """Tell Printify the publish failed (unlocks the product)."""
        product = data.product
        client = await self._clients.printify(product.tenant_id, product.integration_id)
        try:
            await client.publishing_failed(
                data.product.shop_id, data.product.product_id, data.reason or "failed"
            )
        except VendorError as exc:
            raise vendor_failure(exc) from exc
