"""The Printify emulator's state, shared by its routers, and the guard in front of them.

One `PrintifyState` per emulator app, kept in `app.state.printify`; a route reaches it
by declaring a `Printify` parameter. State lives in a `JsonStore`, so a restarted
emulator still knows every upload, product and webhook.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from sandbox.printify.vendor import PrintifyApiError, not_found
from sandbox.printify.webhook_delivery import WebhookDispatcher
from sandbox.store import BlobDir, JsonStore

RATE_LIMIT = 600
RATE_WINDOW_SECONDS = 60.0


class RateLimiter:
    """At most `limit` requests per rolling `window` seconds per key."""

    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        """Record a request and return None, or the seconds to wait when over the limit."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self._window:
                hits.popleft()
            if len(hits) >= self._limit:
                return self._window - (now - hits[0])
            hits.append(now)
            return None


@dataclass
class PrintifyState:
    """The account the emulator serves (one shop, one token) and what it has stored."""

    store: JsonStore
    shop_id: int
    token: str
    webhooks: WebhookDispatcher
    limiter: RateLimiter = field(
        default_factory=lambda: RateLimiter(RATE_LIMIT, RATE_WINDOW_SECONDS)
    )
    # How long an order sent to production takes to be made, then to ship (seconds).
    production_seconds: float = 2.0
    shipping_seconds: float = 3.0
    uploads: dict[str, Any] = field(init=False)
    products: dict[str, Any] = field(init=False)
    orders: dict[str, Any] = field(init=False)
    hooks: dict[str, Any] = field(init=False)
    files: BlobDir = field(init=False)  # uploaded images, and thumbnails for mock-ups
    shops: dict[str, Any] = field(init=False)
    # Variants a test ran out of stock at its provider (`POST /__admin/printify/stock`).
    stock_outs: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.files = BlobDir(self.store, "printify-uploads")
        self.shops = self.store.collection("shops")
        with self.store.lock:
            if str(self.shop_id) not in self.shops:  # the account's first shop: custom
                self.shops[str(self.shop_id)] = {
                    "id": self.shop_id,
                    "title": "POD Automator (local)",
                    "sales_channel": "custom_integration",
                }
        self.uploads = self.store.collection("uploads")
        self.products = self.store.collection("products")
        self.orders = self.store.collection("orders")
        self.stock_outs = self.store.collection("stock_outs")
        self.hooks = self.webhooks.subscriptions

    def check_shop(self, shop_id: int) -> dict[str, Any]:
        """The account's shop `shop_id`; any other is a 404."""
        shop: dict[str, Any] | None = self.shops.get(str(shop_id))
        if shop is None:
            raise not_found(f"Shop {shop_id}")
        return shop

    def product(self, shop_id: int, product_id: str) -> dict[str, Any]:
        """The stored product `product_id` of the shop, or a 404."""
        return self._of_shop(self.products, "Product", shop_id, product_id)

    def hook(self, shop_id: int, webhook_id: str) -> dict[str, Any]:
        """The stored webhook `webhook_id` of the shop, or a 404."""
        return self._of_shop(self.hooks, "Webhook", shop_id, webhook_id)

    def _of_shop(
        self, records: dict[str, Any], kind: str, shop_id: int, record_id: str
    ) -> dict[str, Any]:
        self.check_shop(shop_id)
        record: dict[str, Any] | None = records.get(record_id)
        if record is None or record["shop_id"] != shop_id:
            raise not_found(f"{kind} {record_id}")
        return record


async def printify_state(request: Request) -> PrintifyState:
    """The state of the emulator app serving `request`."""
    state: PrintifyState = request.app.state.printify
    return state


Printify = Annotated[PrintifyState, Depends(printify_state)]


async def guard(request: Request, state: Printify) -> None:
    """Printify's gate: a valid bearer token, a User-Agent, and the per-token rate limit."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = state.token.encode()
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.encode(), expected):
        raise PrintifyApiError(401, "Unauthenticated.", "Missing or invalid access token")
    if not request.headers.get("user-agent"):
        raise PrintifyApiError(400, "Bad request.", "User-Agent header is required")
    wait = state.limiter.retry_after(token)
    if wait is not None:
        raise PrintifyApiError(
            429,
            "Too Many Requests.",
            f"More than {RATE_LIMIT} requests per minute",
            headers={"retry-after": str(max(1, math.ceil(wait)))},
        )
