"""Vendor webhooks: public routes authenticated by the vendor's signature (ADR 0012)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.hygiene import KnownQueryRoute
from api.schemas import ErrorBody
from domain import errors
from domain.errors import DomainError
from domain.webhooks import (
    PRINTIFY_WEBHOOK_PATH,
    SIGNATURE_HEADER,
    PrintifyEvent,
    signature_is_valid,
)
from services.webhooks import WebhookOutcome, handle_printify_event

router = APIRouter(route_class=KnownQueryRoute, tags=["webhooks"])
REF = "#/components/schemas/{model}"
EVENT_REF = REF.format(model="PrintifyEvent")


class WebhookAck(BaseModel):
    """The event was received; `status` says what came of it."""

    status: WebhookOutcome


def event_schemas() -> dict[str, Any]:
    """`PrintifyEvent` and its parts as OpenAPI components: the route reads the raw body
    itself (to check the signature first), so FastAPI does not document it."""
    schema = PrintifyEvent.model_json_schema(ref_template=REF)
    parts: dict[str, Any] = schema.pop("$defs", {})
    return {"PrintifyEvent": schema, **parts}


@router.post(
    PRINTIFY_WEBHOOK_PATH,
    operation_id="printify_webhook",
    response_model=WebhookAck,
    responses={
        401: {"model": ErrorBody, "description": "Missing or invalid X-Pfy-Signature"},
        422: {"model": ErrorBody, "description": "Signed, but not a Printify event"},
        503: {"model": ErrorBody, "description": "The run could not be told; deliver again"},
    },
    openapi_extra={
        "parameters": [
            {
                "name": SIGNATURE_HEADER,
                "in": "header",
                "required": True,
                "description": "`sha256=<hex HMAC-SHA256 of the raw body>` keyed with the "
                "webhook secret",
                "schema": {"type": "string", "maxLength": 100},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": EVENT_REF}}},
        },
    },
)
async def printify_webhook(
    request: Request, session: SessionDep, settings: SettingsDep, temporal: TemporalDep
) -> WebhookAck:
    """Printify's events (public: the signature is the proof).

    `product:publish:started` for a run's product tells that run publishing started;
    other topics, products that are no run's and runs that have ended are acknowledged
    and ignored, and a redelivered event changes nothing.
    """
    body = await request.body()
    secret = settings.printify_webhook_secret.get_secret_value()
    if not signature_is_valid(secret, body, request.headers.get(SIGNATURE_HEADER)):
        raise DomainError(
            errors.WEBHOOK_SIGNATURE_INVALID, f"missing or invalid {SIGNATURE_HEADER}"
        )
    try:
        payload = json.loads(body)
    except ValueError:
        raise DomainError(errors.BAD_REQUEST, "the body is not valid JSON") from None
    try:
        event = PrintifyEvent.model_validate(payload)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None
    outcome = await handle_printify_event(session=session, temporal=temporal, event=event)
    return WebhookAck(status=outcome)
