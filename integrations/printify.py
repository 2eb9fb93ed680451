"""Async client for the Printify Public API v1 (real service or the local emulator).

Built on `VendorHttp`: rate limits per account and scope (`PrintifyLimits`), retries only
where they cannot duplicate work, and every failure raised as a `VendorError`. Works
unchanged against `https://api.printify.com/v1` and the emulator's
`http://127.0.0.1:<port>/printify/v1`.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from integrations.errors import VendorError
from integrations.http import Limit, SlidingWindow, VendorHttp, steady_rate

VENDOR = "printify"
# Printify's documented caps per account, on top of the overall rate.
CATALOG_PER_MINUTE = 100
PUBLISHES_PER_30_MINUTES = 200
UPLOADS_PAGE_LIMIT = 100
# Printify's products list pages hold at most 50 items on the real service.
PRODUCTS_PAGE_LIMIT = 50
# Printify's order list pages hold at most 10 orders.
ORDERS_PAGE_LIMIT = 10
# Printify's answer to a second order with the same external id (409).
ORDER_EXISTS_CODE = 8503
# Printify asks for a URL above 5 MB and is deprecating base64 (docs/vendors/printify.md).
MAX_BASE64_UPLOAD_BYTES = 5_000_000
PUBLISH_FLAGS = (
    "title",
    "description",
    "images",
    "variants",
    "tags",
    "keyFeatures",
    "shipping_template",
)


def parse_printify_error(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """Message and details of a Printify error body.

    Printify answers `{"status":"error","code":8150,"message":"Validation failed.",
    "errors":{"reason":"...","code":8150}}`; the message becomes the error text and the
    reason and vendor code go into the details. Other bodies fall back to their text.
    (`VendorHttp` redacts the token from both.)
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    details: dict[str, Any] = {}
    if not isinstance(body, dict):
        return response.text[:300] or response.reason_phrase, details
    message = str(body.get("message") or body.get("error") or response.reason_phrase)
    errors = body.get("errors")
    if isinstance(errors, dict):
        if errors.get("reason") is not None:
            details["reason"] = str(errors["reason"])
        if errors.get("code") is not None:
            details["vendor_code"] = errors["code"]
    elif errors is not None:
        details["errors"] = str(errors)
    if "vendor_code" not in details and isinstance(body.get("code"), int):
        details["vendor_code"] = body["code"]
    if details.get("reason"):
        message = f"{message} ({details['reason']})"
    return message, details


def is_order_exists(exc: VendorError) -> bool:
    """Printify already has an order with this external id (409, code 8503)."""
    return exc.status == 409 and exc.details.get("vendor_code") == ORDER_EXISTS_CODE


def external_listing(product: dict[str, Any]) -> dict[str, Any] | None:
    """The published listing of a product (`{id, handle}`), if any.

    Printify has answered `external` as one object and as a list of them; both are read.
    """
    external = product.get("external")
    entries = external if isinstance(external, list) else [external]
    return next((e for e in entries if isinstance(e, dict) and e.get("id")), None)


def placeholder_size(
    variants_doc: dict[str, Any], variant_ids: list[int], position: str
) -> tuple[int, int]:
    """The largest (width, height) of the `position` placeholders of `variant_ids`.

    `variants_doc` is a `variants.json` answer. Raises `ValueError` naming the variant
    ids that are missing from the document or that have no placeholder at `position`.
    """
    by_id = {variant["id"]: variant for variant in variants_doc.get("variants", [])}
    missing = [vid for vid in variant_ids if vid not in by_id]
    if missing:
        raise ValueError(f"variants {missing} are not in the variants document")
    width = height = 0
    lacking = []
    for vid in variant_ids:
        sizes = [p for p in by_id[vid].get("placeholders", []) if p.get("position") == position]
        if not sizes:
            lacking.append(vid)
            continue
        width = max(width, *(int(p["width"]) for p in sizes))
        height = max(height, *(int(p["height"]) for p in sizes))
    if lacking or not variant_ids:
        raise ValueError(f"no '{position}' placeholder for variants {lacking or variant_ids}")
    return width, height


@dataclass(frozen=True)
class PrintifyLimits:
    """One Printify account's request limits in this process (Printify counts per account).

    Every call passes `overall`; catalog reads (`catalog/…`) pass `catalog` as well, and
    `publish.json` passes `publish` as well: each scope's cap is on top of the overall one.
    """

    overall: tuple[Limit, ...]
    catalog: tuple[Limit, ...]
    publish: tuple[Limit, ...]

    @classmethod
    def build(
        cls,
        *,
        per_second: float = 5.0,
        catalog_per_minute: int = CATALOG_PER_MINUTE,
        publishes_per_30_minutes: int = PUBLISHES_PER_30_MINUTES,
        shared: Sequence[Limit] = (),
    ) -> PrintifyLimits:
        """Limits at these rates; `shared` (e.g. a pacer across processes) is passed last."""
        return cls(
            overall=(*steady_rate(per_second), *shared),
            catalog=(SlidingWindow(catalog_per_minute, 60.0),),
            publish=(SlidingWindow(publishes_per_30_minutes, 30 * 60.0),),
        )

    def for_request(self, method: str, path: str) -> tuple[Limit, ...]:
        """The limits a request passes, its narrower scope's first."""
        if path.startswith("catalog/"):
            return (*self.catalog, *self.overall)
        if method == "POST" and path.endswith("/publish.json"):
            return (*self.publish, *self.overall)
        return self.overall


class PrintifyClient:
    """Printify v1 calls used by the pipeline; every method returns the decoded JSON."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        user_agent: str,
        rate_per_second: float = 5.0,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_base: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: PrintifyLimits | None = None,
    ) -> None:
        """`limits` are shared by every client of the account; without them the client
        keeps its own at `rate_per_second` and Printify's documented caps."""
        limits = limits or PrintifyLimits.build(per_second=rate_per_second)
        self._http = VendorHttp(
            VENDOR,
            base_url=base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "User-Agent": user_agent,
                "Content-Type": "application/json;charset=utf-8",
            },
            limits=limits.for_request,
            error_message=parse_printify_error,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            transport=transport,
            secrets=(token,),
        )

    async def aclose(self) -> None:
        """Close the pooled HTTP connections."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        return response.json() if response.content else {}

    async def list_shops(self) -> list[dict[str, Any]]:
        """`GET shops.json`: the shops of the account."""
        result: list[dict[str, Any]] = await self._call("GET", "shops.json")
        return result

    async def list_blueprints(self) -> list[dict[str, Any]]:
        """`GET catalog/blueprints.json`: every blueprint of the catalog."""
        result: list[dict[str, Any]] = await self._call("GET", "catalog/blueprints.json")
        return result

    async def list_blueprint_providers(self, blueprint_id: int) -> list[dict[str, Any]]:
        """`GET catalog/blueprints/{id}/print_providers.json`: who prints a blueprint."""
        path = f"catalog/blueprints/{blueprint_id}/print_providers.json"
        result: list[dict[str, Any]] = await self._call("GET", path)
        return result

    async def get_variants(
        self, blueprint_id: int, print_provider_id: int, *, show_out_of_stock: bool = False
    ) -> dict[str, Any]:
        """The `variants.json` document (variants with their placeholders) of a provider.

        Printify leaves out-of-stock variants out unless `show_out_of_stock` asks for the
        whole range (`show-out-of-stock=1`); a variant is in stock when the plain document
        lists it.
        """
        path = f"catalog/blueprints/{blueprint_id}/print_providers/{print_provider_id}"
        params = {"show-out-of-stock": 1} if show_out_of_stock else None
        result: dict[str, Any] = await self._call("GET", f"{path}/variants.json", params=params)
        return result

    async def get_shipping(self, blueprint_id: int, print_provider_id: int) -> dict[str, Any]:
        """The `shipping.json` document (handling time, cost profiles) of a provider."""
        path = f"catalog/blueprints/{blueprint_id}/print_providers/{print_provider_id}"
        result: dict[str, Any] = await self._call("GET", f"{path}/shipping.json")
        return result

    async def upload_image(self, file_name: str, contents: bytes) -> dict[str, Any]:
        """Upload image bytes (base64 in JSON, at most 5 MB: above, `upload_image_url`);
        returns the upload with its 24-hex id.

        A POST: not retried after a 5xx; use `find_upload` before uploading again.
        """
        if len(contents) > MAX_BASE64_UPLOAD_BYTES:
            raise ValueError(
                f"{len(contents)} bytes: Printify takes base64 uploads up to 5 MB; "
                "give it a URL (upload_image_url)"
            )
        body = {"file_name": file_name, "contents": base64.b64encode(contents).decode("ascii")}
        result: dict[str, Any] = await self._call("POST", "uploads/images.json", json=body)
        return result

    async def upload_image_url(self, file_name: str, url: str) -> dict[str, Any]:
        """Have Printify fetch the image from `url` (a signed, expiring one); the upload.

        A POST: not retried after a 5xx; use `find_upload` before uploading again. The URL
        is redacted from errors like a token (it grants access to the file until it expires).
        """
        self._http.add_secret(url)
        result: dict[str, Any] = await self._call(
            "POST", "uploads/images.json", json={"file_name": file_name, "url": url}
        )
        return result

    async def find_upload(self, file_name: str) -> dict[str, Any] | None:
        """The first upload named `file_name` in the media library, or None."""
        return await self._find(
            lambda page: self._call(
                "GET", "uploads.json", params={"page": page, "limit": UPLOADS_PAGE_LIMIT}
            ),
            lambda upload: upload.get("file_name") == file_name,
        )

    async def get_upload(self, upload_id: str) -> dict[str, Any]:
        """One upload by id."""
        result: dict[str, Any] = await self._call("GET", f"uploads/{upload_id}.json")
        return result

    async def create_product(self, shop_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Create a product; not retried after a 5xx (use `find_product_by_sku` first)."""
        result: dict[str, Any] = await self._call(
            "POST", f"shops/{shop_id}/products.json", json=body
        )
        return result

    async def get_product(self, shop_id: int, product_id: str) -> dict[str, Any]:
        """One product by id."""
        result: dict[str, Any] = await self._call(
            "GET", f"shops/{shop_id}/products/{product_id}.json"
        )
        return result

    async def update_product(
        self, shop_id: int, product_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Update a product (PUT); Printify refuses it while the product is locked."""
        result: dict[str, Any] = await self._call(
            "PUT", f"shops/{shop_id}/products/{product_id}.json", json=body
        )
        return result

    async def delete_product(self, shop_id: int, product_id: str) -> dict[str, Any]:
        """Delete a product; returns `{}`."""
        result: dict[str, Any] = await self._call(
            "DELETE", f"shops/{shop_id}/products/{product_id}.json"
        )
        return result

    async def find_product_by_sku(self, shop_id: int, sku: str) -> dict[str, Any] | None:
        """The first product of the shop with a variant whose `sku` matches, or None."""
        return await self._find(
            lambda page: self._call(
                "GET",
                f"shops/{shop_id}/products.json",
                params={"page": page, "limit": PRODUCTS_PAGE_LIMIT},
            ),
            lambda product: any(v.get("sku") == sku for v in product.get("variants", [])),
        )

    async def publish(
        self, shop_id: int, product_id: str, flags: dict[str, bool] | None = None
    ) -> dict[str, Any]:
        """Start publishing (locks the product); `flags` default to all true."""
        body = {flag: True for flag in PUBLISH_FLAGS}
        body.update(flags or {})
        return await self._product_action(shop_id, product_id, "publish", body)

    async def publishing_succeeded(
        self, shop_id: int, product_id: str, external_id: str, handle: str
    ) -> dict[str, Any]:
        """Report the external listing (id and URL); unlocks the product."""
        body = {"external": {"id": external_id, "handle": handle}}
        return await self._product_action(shop_id, product_id, "publishing_succeeded", body)

    async def publishing_failed(self, shop_id: int, product_id: str, reason: str) -> dict[str, Any]:
        """Report that publishing failed; unlocks the product."""
        return await self._product_action(
            shop_id, product_id, "publishing_failed", {"reason": reason}
        )

    async def unpublish(self, shop_id: int, product_id: str) -> dict[str, Any]:
        """Report that the external listing was taken down."""
        return await self._product_action(shop_id, product_id, "unpublish", {})

    async def create_order(self, shop_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Submit an order of the shop's products (`{external_id, label, line_items,
        shipping_method, send_shipping_notification, address_to}`); returns `{id}`.

        A POST: not retried after a 5xx. Printify refuses a second order with the same
        `external_id` (409, `is_order_exists`), so after a lost answer look it up with
        `find_order_by_external_id` instead of sending it again.
        """
        result: dict[str, Any] = await self._call("POST", f"shops/{shop_id}/orders.json", json=body)
        return result

    async def get_order(self, shop_id: int, order_id: str) -> dict[str, Any]:
        """One order: status, line items with cost, totals, shipments."""
        result: dict[str, Any] = await self._call("GET", f"shops/{shop_id}/orders/{order_id}.json")
        return result

    async def find_order_by_external_id(
        self, shop_id: int, external_id: str
    ) -> dict[str, Any] | None:
        """The shop's order submitted with `external_id` (its `metadata.shop_order_id`)."""
        return await self._find(
            lambda page: self._call(
                "GET",
                f"shops/{shop_id}/orders.json",
                params={"page": page, "limit": ORDERS_PAGE_LIMIT},
            ),
            lambda order: (order.get("metadata") or {}).get("shop_order_id") == external_id,
        )

    async def send_order_to_production(self, shop_id: int, order_id: str) -> dict[str, Any]:
        """Release an order on hold to the print provider; returns the order."""
        path = f"shops/{shop_id}/orders/{order_id}/send_to_production.json"
        result: dict[str, Any] = await self._call("POST", path)
        return result

    async def cancel_order(self, shop_id: int, order_id: str) -> dict[str, Any]:
        """Cancel an order not yet in production; returns the order."""
        result: dict[str, Any] = await self._call(
            "POST", f"shops/{shop_id}/orders/{order_id}/cancel.json"
        )
        return result

    async def list_webhooks(self, shop_id: int) -> list[dict[str, Any]]:
        """`GET shops/{id}/webhooks.json`: the shop's subscriptions `{id, topic, url, shop_id}`."""
        result: list[dict[str, Any]] = await self._call("GET", f"shops/{shop_id}/webhooks.json")
        return result

    async def create_webhook(
        self, shop_id: int, topic: str, url: str, secret: str | None = None
    ) -> dict[str, Any]:
        """Subscribe `url` to `topic`; with a secret, Printify signs each event with it.

        A POST: not retried after a 5xx; look for the subscription with `list_webhooks`
        before creating it again.
        """
        body = {"topic": topic, "url": url}
        if secret is not None:
            body["secret"] = secret
            self._http.add_secret(secret)  # redacted should an error echo the body
        result: dict[str, Any] = await self._call(
            "POST", f"shops/{shop_id}/webhooks.json", json=body
        )
        return result

    async def update_webhook(self, shop_id: int, webhook_id: str, url: str) -> dict[str, Any]:
        """Point a subscription at another URL (its topic cannot change)."""
        result: dict[str, Any] = await self._call(
            "PUT", f"shops/{shop_id}/webhooks/{webhook_id}.json", json={"url": url}
        )
        return result

    async def delete_webhook(self, shop_id: int, webhook_id: str) -> dict[str, Any]:
        """Remove a subscription; returns `{id}`."""
        result: dict[str, Any] = await self._call(
            "DELETE", f"shops/{shop_id}/webhooks/{webhook_id}.json"
        )
        return result

    async def _product_action(
        self, shop_id: int, product_id: str, action: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        path = f"shops/{shop_id}/products/{product_id}/{action}.json"
        result: dict[str, Any] = await self._call("POST", path, json=body)
        return result

    @staticmethod
    async def _find(
        fetch: Callable[[int], Awaitable[Any]],
        match: Callable[[dict[str, Any]], bool],
    ) -> dict[str, Any] | None:
        """Page through a paginated listing until `match` hits or the pages run out."""
        page = 1
        while True:
            envelope = await fetch(page)
            for item in envelope.get("data", []):
                if match(item):
                    return dict(item)
            if page >= int(envelope.get("last_page") or page):
                return None
            page += 1
