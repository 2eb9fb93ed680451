"""A shop's webhook subscriptions; `webhook_delivery` sends the events to them."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from pydantic import Field

from sandbox.printify.state import Printify
from sandbox.printify.vendor import Body, VendorRoute, invalid, parse_body, public
from sandbox.printify.webhook_delivery import TOPICS

router = APIRouter(route_class=VendorRoute)


class WebhookIn(Body):
    topic: str
    url: str = Field(min_length=1, max_length=2048)
    secret: str | None = Field(default=None, min_length=1, max_length=1024)


class WebhookUpdate(Body):
    url: str = Field(min_length=1, max_length=2048)
    topic: str | None = None


def _check_webhook_url(url: str) -> None:
    """Subscribers are reached over HTTP(S); whether they answer shows at delivery."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("url: must be an absolute http(s) URL")


@router.get("/shops/{shop_id}/webhooks.json")
def list_webhooks(shop_id: int, state: Printify) -> list[dict[str, Any]]:
    state.check_shop(shop_id)
    with state.store.lock:
        mine = [hook for hook in state.hooks.values() if hook["shop_id"] == shop_id]
    mine.sort(key=lambda hook: hook["_seq"])
    return [public(hook) for hook in mine]


@router.post("/shops/{shop_id}/webhooks.json")
async def create_webhook(shop_id: int, request: Request, state: Printify) -> dict[str, Any]:
    state.check_shop(shop_id)
    body = await parse_body(request, WebhookIn)
    if body.topic not in TOPICS:
        raise invalid(f"topic: must be one of {', '.join(sorted(TOPICS))}")
    _check_webhook_url(body.url)
    webhook_id = secrets.token_hex(12)
    with state.store.lock:
        state.hooks[webhook_id] = {
            "topic": body.topic,
            "url": body.url,
            "shop_id": shop_id,
            "id": webhook_id,
            "_secret": body.secret,
            "_seq": state.store.next_id("webhook_seq", 0),
        }
        state.store.save()
        return public(state.hooks[webhook_id])


@router.put("/shops/{shop_id}/webhooks/{webhook_id}.json")
async def update_webhook(
    shop_id: int, webhook_id: str, request: Request, state: Printify
) -> dict[str, Any]:
    state.hook(shop_id, webhook_id)
    body = await parse_body(request, WebhookUpdate)
    _check_webhook_url(body.url)
    with state.store.lock:
        hook = state.hook(shop_id, webhook_id)
        if body.topic is not None and body.topic != hook["topic"]:
            raise invalid("topic: cannot be changed; delete the webhook and create another")
        hook["url"] = body.url
        state.store.save()
        return public(hook)


@router.delete("/shops/{shop_id}/webhooks/{webhook_id}.json")
def delete_webhook(shop_id: int, webhook_id: str, state: Printify) -> dict[str, Any]:
    with state.store.lock:
        state.hook(shop_id, webhook_id)
        del state.hooks[webhook_id]
        state.store.save()
    return {"id": webhook_id}
