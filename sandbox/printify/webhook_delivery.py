"""Printify webhook deliveries in the emulator: signed events to a shop's subscriptions.

The subscriptions themselves (`shops/{id}/webhooks.json`) are served by
`sandbox.printify.webhooks` and kept in its `JsonStore`; this module sends the events.
Each delivery runs on a thread of its own, so the call that caused the event never waits
for it (and, as with Printify, its answer may reach the caller before or after the event
reaches the subscriber). A delivery is signed `X-Pfy-Signature: sha256=<hex HMAC-SHA256
of the body>` when the subscription has a secret, and retried up to 3 times while the
subscriber does not answer 200 (Printify's rule; blocking the webhook for an hour
afterwards is not modelled).

For tests, `POST /__admin/printify/webhooks {"mode": "normal"|"drop"|"duplicate"}`
sends events once, not at all, or twice (the same event, concurrently), and
`GET /__admin/printify/webhook-deliveries` lists every delivery with its outcome.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Response
from pydantic import BaseModel

from sandbox.store import JsonStore

TOPICS = frozenset(
    {
        "shop:disconnected",
        "product:deleted",
        "product:publish:started",
        "order:created",
        "order:updated",
        "order:sent-to-production",
        "order:shipment:created",
        "order:shipment:delivered",
    }
)
MAX_RETRIES = 3
USER_AGENT = "Printify-Webhooks (pod-automator emulator)"
DeliveryMode = Literal["normal", "drop", "duplicate"]
_COPIES: dict[str, int] = {"normal": 1, "drop": 0, "duplicate": 2}


def signature(secret: str, body: bytes) -> str:
    """The `X-Pfy-Signature` header value Printify sends with `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    """Sends events to the subscriptions in `store` and records every delivery."""

    def __init__(
        self,
        store: JsonStore,
        *,
        retry_delays: Sequence[float] = (0.5, 1.0, 2.0),
        timeout: float = 5.0,
    ) -> None:
        self._store = store
        self._retry_delays = tuple(retry_delays)[:MAX_RETRIES]
        self._timeout = timeout
        self._lock = threading.Lock()
        self._deliveries: deque[dict[str, Any]] = deque(maxlen=1000)
        self.mode: DeliveryMode = "normal"

    @property
    def subscriptions(self) -> dict[str, Any]:
        """Subscriptions by id: `{id, topic, url, shop_id, _secret}` (persisted)."""
        return self._store.collection("webhooks")

    def emit(self, shop_id: int, topic: str, resource: dict[str, Any]) -> None:
        """Announce a new event of `topic` about `resource` to the shop's subscribers."""
        event = {
            "id": str(uuid.uuid4()),
            "type": topic,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00"),
            "resource": resource,
        }
        body = json.dumps(event).encode()
        with self._store.lock:
            targets = [
                dict(hook)
                for hook in self.subscriptions.values()
                if hook["shop_id"] == shop_id and hook["topic"] == topic
            ]
        copies = _COPIES[self.mode]
        for hook in targets:
            if copies == 0:
                self._record(event, hook, [], "dropped", "")
            for _ in range(copies):
                sender = threading.Thread(target=self._deliver, args=(event, body, hook))
                sender.daemon = True  # a delivery never holds the emulator's exit
                sender.start()

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._deliveries)

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def _deliver(self, event: dict[str, Any], body: bytes, hook: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if hook.get("_secret"):
            headers["X-Pfy-Signature"] = signature(hook["_secret"], body)
        statuses: list[int | None] = []
        answer = ""
        with httpx.Client(timeout=self._timeout) as client:
            for delay in (0.0, *self._retry_delays):
                time.sleep(delay)
                try:
                    response = client.post(hook["url"], content=body, headers=headers)
                except httpx.HTTPError as exc:
                    statuses.append(None)
                    answer = type(exc).__name__
                    continue
                statuses.append(response.status_code)
                answer = response.text[:500]
                if response.status_code == 200:
                    break
        delivered = bool(statuses) and statuses[-1] == 200
        self._record(event, hook, statuses, "delivered" if delivered else "failed", answer)

    def _record(
        self,
        event: dict[str, Any],
        hook: dict[str, Any],
        statuses: list[int | None],
        outcome: str,
        answer: str,
    ) -> None:
        with self._lock:
            self._deliveries.append(
                {
                    "event_id": event["id"],
                    "topic": event["type"],
                    "resource_id": event["resource"]["id"],
                    "webhook_id": hook["id"],
                    "url": hook["url"],
                    "statuses": statuses,
                    "outcome": outcome,
                    "response": answer,
                }
            )


class DeliveryModeIn(BaseModel):
    mode: DeliveryMode


def build_admin_router(dispatcher: WebhookDispatcher) -> APIRouter:
    """Test controls of the deliveries, outside the Printify API and its schema."""
    router = APIRouter(prefix="/__admin/printify", include_in_schema=False)

    @router.post("/webhooks")
    def set_mode(body: DeliveryModeIn) -> dict[str, str]:
        dispatcher.mode = body.mode
        return {"mode": dispatcher.mode}

    @router.get("/webhook-deliveries")
    def list_deliveries() -> list[dict[str, Any]]:
        return dispatcher.deliveries()

    @router.delete("/webhook-deliveries", status_code=204)
    def clear_deliveries() -> Response:
        dispatcher.clear()
        return Response(status_code=204)

    return router
