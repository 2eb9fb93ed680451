"""Printify webhooks: the signature over the raw body and the event envelope (ADR 0012).

Printify signs each event with the subscription's secret:
`X-Pfy-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. The signature is checked
before the body is parsed, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PRINTIFY_WEBHOOK_PATH = "/v1/webhooks/printify"
SIGNATURE_HEADER = "X-Pfy-Signature"
PUBLISH_STARTED = "product:publish:started"
# The order events the order sync follows (ADR 0031).
ORDER_TOPICS = ("order:updated", "order:sent-to-production", "order:shipment:created")
_SCHEME = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The `X-Pfy-Signature` value of `body` under `secret`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{_SCHEME}{digest}"


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of exactly `body` under `secret`."""
    if not secret or header is None:
        return False
    given = header.strip()
    if given[: len(_SCHEME)].lower() != _SCHEME:
        return False
    expected = sign(secret, body)[len(_SCHEME) :]
    return hmac.compare_digest(expected.encode(), given[len(_SCHEME) :].lower().encode())


class _Lenient(BaseModel):
    # Printify may add fields to its events; only the ones we read are checked.
    model_config = ConfigDict(extra="ignore")


class PrintifyCarrier(_Lenient):
    """An `order:shipment:*` event's carrier and tracking."""

    code: str | None = Field(default=None, max_length=64)
    tracking_number: str | None = Field(default=None, max_length=128)
    tracking_url: str | None = Field(default=None, max_length=2000)


class PrintifyEventData(_Lenient):
    """The parts of `resource.data` we read (`product:publish:started` carries more)."""

    shop_id: int | None = Field(default=None, ge=0, le=2**63 - 1)
    action: str | None = Field(default=None, max_length=32, description='"create" or "delete"')
    status: str | None = Field(
        default=None, max_length=64, description="`order:updated`: the order's status"
    )
    shipped_at: str | None = Field(default=None, max_length=40)
    carrier: PrintifyCarrier | None = None


class PrintifyEventResource(_Lenient):
    id: Annotated[str, Field(max_length=64)] | Annotated[int, Field(ge=0, le=2**63 - 1)]
    type: str = Field(max_length=32, description='"shop", "product" or "order"')
    data: PrintifyEventData | None = None


class PrintifyEvent(_Lenient):
    """One Printify webhook event: `{id, type, created_at, resource: {id, type, data}}`."""

    id: str = Field(min_length=1, max_length=64, description="The event's UUID")
    type: str = Field(max_length=64, description="The topic, e.g. product:publish:started")
    created_at: str | None = Field(default=None, max_length=40)
    resource: PrintifyEventResource
