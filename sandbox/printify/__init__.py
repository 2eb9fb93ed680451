"""A faithful local emulator of the Printify Public API v1: mount `router` at `/printify/v1`
and put a `PrintifyState` in `app.state.printify`.

Covers what the pipeline uses, one module per resource: `shops`, `catalog` (its data in
`seed_catalog`), `uploads`, `products` with their `mockups`, `publishing` (the custom
shop flow: publish locks, `publishing_succeeded`/`publishing_failed` unlock),
`webhooks` (subscriptions; `webhook_delivery` sends the events, and publishing announces
`product:publish:started`) and `orders` (made and shipped after delays, announced too).
Every route but the mock-up files passes `state.guard`
(token, User-Agent, rate limit) and answers errors in Printify's shape (`vendor`). State
lives in a `JsonStore`, so a restarted emulator still knows every upload and product.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from sandbox.printify import (
    catalog,
    mockups,
    orders,
    products,
    publishing,
    shops,
    uploads,
    webhooks,
)
from sandbox.printify.state import PrintifyState, RateLimiter, guard
from sandbox.printify.vendor import VendorRoute, not_found

__all__ = ["PrintifyState", "router"]

# The limiter's name before the split into modules; tests/sandbox import it so.
_RateLimiter = RateLimiter

_GUARDED = [Depends(guard)]

router = APIRouter(route_class=VendorRoute)
for _resource in (shops, catalog, uploads, products, publishing, webhooks, orders):
    router.include_router(_resource.router, dependencies=_GUARDED)
router.include_router(mockups.router)  # public, as Printify's image CDN is


# Last: it answers every path the routes above do not serve.
@router.api_route(
    "/{unknown:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
    dependencies=_GUARDED,
)
def unknown_route(unknown: str) -> dict[str, Any]:
    raise not_found(f"Route /{unknown}")
