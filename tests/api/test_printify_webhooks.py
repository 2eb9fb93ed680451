"""`POST /v1/webhooks/printify` over real Postgres and Temporal: only a valid signature
over the exact body gets in, the run the product belongs to gets one signal per event,
and everything else is acknowledged without effect."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select
from temporalio.client import Client, WorkflowExecutionStatus

from core.db import SessionFactory
from core.settings import Settings
from domain.webhooks import sign, signature_is_valid
from models import repositories
from models.tables import RefKind, WebhookEvent
from services.runs import handle
from tests.conftest import api_client

PATH = "/v1/webhooks/printify"


def event(product_id: str, *, topic: str = "product:publish:started", **data: Any) -> dict:
    """A Printify event as documented (PFY-DOC payload examples)."""
    return {
        "id": str(uuid.uuid4()),
        "type": topic,
        "created_at": "2026-11-26 12:00:00+00:00",
        "resource": {
            "id": product_id,
            "type": "product",
            "data": {
                "shop_id": 12345678,
                "publish_details": {"title": True, "key_features": True},
                "action": "create",
                "out_of_stock_publishing": 0,
                **data,
            },
        },
    }


@dataclass
class Run:
    """A real run waiting for approval, with a Printify product recorded for it."""

    workflow_id: str
    tenant_id: str
    product_id: str


@pytest.fixture
async def webhook_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(app) as client:  # no API key: the signature is the proof
        yield client


@pytest.fixture
async def run(
    api: httpx.AsyncClient, sessions: SessionFactory, temporal_client: Client, tenant: str
) -> AsyncIterator[Run]:
    started = await api.post(
        "/v1/workflows/design-to-listing",
        json={"keyword": "webhook cat mom", "require_approval": True},
        headers={"Idempotency-Key": f"webhook-{uuid.uuid4().hex[:8]}"},
    )
    assert started.status_code == 202, started.text
    workflow_id = started.json()["workflow_id"]
    product_id = secrets.token_hex(12)
    async with sessions() as session:
        await repositories.refs.put_external_ref(
            session,
            tenant_id=tenant,
            workflow_id=workflow_id,
            kind=RefKind.PRINTIFY_PRODUCT,
            external_id=product_id,
        )
        await session.commit()
    yield Run(workflow_id, tenant, product_id)
    run_handle = handle(temporal_client, workflow_id)
    if (await run_handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        await run_handle.terminate(reason="test over")


async def post(client: httpx.AsyncClient, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Pfy-Signature"] = signature
    return await client.post(PATH, content=body, headers=headers)


def signed(settings: Settings, payload: dict) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, sign(settings.printify_webhook_secret.get_secret_value(), body)


async def publish_signals(temporal: Client, workflow_id: str, at_least: int = 0) -> int:
    """The run's `publish_started` signals in its history. One that arrives while a
    workflow task runs shows only once that task completes (a while, on a busy machine):
    the count is read again until it reaches `at_least` (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        history = await handle(temporal, workflow_id).fetch_history()
        count = sum(
            1
            for e in history.events
            if e.HasField("workflow_execution_signaled_event_attributes")
            and e.workflow_execution_signaled_event_attributes.signal_name == "publish_started"
        )
        if count >= at_least or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.1)


async def recorded(sessions: SessionFactory, event_id: str) -> list[WebhookEvent]:
    async with sessions() as session:
        query = select(WebhookEvent).where(WebhookEvent.event_id == event_id)
        return list((await session.exec(query)).all())


def test_the_signature_covers_exactly_the_body_under_the_secret() -> None:
    body = b'{"id":"1"}'
    good = sign("s3cret", body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert signature_is_valid("s3cret", body, good)
    assert signature_is_valid("s3cret", body, good.upper().replace("SHA256=", "sha256="))
    assert not signature_is_valid("s3cret", body + b" ", good)
    assert not signature_is_valid("other", body, good)
    assert not signature_is_valid("s3cret", body, good[7:])  # the scheme is required
    assert not signature_is_valid("s3cret", body, "sha1=" + good[7:])
    assert not signature_is_valid("s3cret", body, None)
    assert not signature_is_valid("", body, sign("", body))  # no secret: nothing verifies


async def test_a_signed_event_signals_the_run_once(
    webhook_client: httpx.AsyncClient,
    settings: Settings,
    sessions: SessionFactory,
    temporal_client: Client,
    run: Run,
) -> None:
    payload = event(run.product_id, tenant_id="someone-else")  # a body cannot pick the tenant
    body, signature = signed(settings, payload)

    first = await post(webhook_client, body, signature)
    assert first.status_code == 200, first.text
    assert first.json() == {"status": "processed"}
    assert await publish_signals(temporal_client, run.workflow_id, at_least=1) == 1
    [row] = await recorded(sessions, payload["id"])
    assert (row.vendor, row.tenant_id, row.topic) == (
        "printify",
        run.tenant_id,
        "product:publish:started",
    )

    again = await post(webhook_client, body, signature)
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    assert await publish_signals(temporal_client, run.workflow_id, at_least=1) == 1
    assert len(await recorded(sessions, payload["id"])) == 1


@pytest.mark.parametrize(
    "case", ["unsigned", "wrong secret", "other body", "bare hex", "garbage", "empty"]
)
async def test_a_bad_signature_answers_401_and_changes_nothing(
    case: str,
    webhook_client: httpx.AsyncClient,
    settings: Settings,
    sessions: SessionFactory,
    temporal_client: Client,
    run: Run,
) -> None:
    payload = event(run.product_id)
    body, good = signed(settings, payload)
    signature = {
        "unsigned": None,
        "wrong secret": sign("not-our-secret", body),
        "other body": sign(settings.printify_webhook_secret.get_secret_value(), body + b"\n"),
        "bare hex": good.removeprefix("sha256="),
        "garbage": "sha256=not-hex-at-all",
        "empty": "",
    }[case]
    response = await post(webhook_client, body, signature)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "WEBHOOK_SIGNATURE_INVALID"
    assert await recorded(sessions, payload["id"]) == []
    assert await publish_signals(temporal_client, run.workflow_id) == 0


async def test_unsigned_garbage_is_401_before_it_is_parsed(
    webhook_client: httpx.AsyncClient,
) -> None:
    response = await post(webhook_client, b"\xff not json", None)
    assert response.status_code == 401
    assert response.json()["code"] == "WEBHOOK_SIGNATURE_INVALID"


async def test_events_with_nothing_to_do_are_acknowledged(
    webhook_client: httpx.AsyncClient,
    settings: Settings,
    sessions: SessionFactory,
    temporal_client: Client,
    run: Run,
) -> None:
    cases = [
        event(secrets.token_hex(12)),  # a product no run made
        event(run.product_id, topic="order:created"),
        event(run.product_id, action="delete"),
    ]
    for payload in cases:
        response = await post(webhook_client, *signed(settings, payload))
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ignored"}
        assert await recorded(sessions, payload["id"]) == []
    assert await publish_signals(temporal_client, run.workflow_id) == 0


async def test_an_event_for_a_run_that_has_ended_is_acknowledged(
    webhook_client: httpx.AsyncClient,
    settings: Settings,
    sessions: SessionFactory,
    temporal_client: Client,
    run: Run,
) -> None:
    await handle(temporal_client, run.workflow_id).terminate(reason="ended early")
    payload = event(run.product_id)
    response = await post(webhook_client, *signed(settings, payload))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ignored"}
    # Noted, so a redelivery is answered without asking Temporal again.
    assert len(await recorded(sessions, payload["id"])) == 1


async def test_signed_bodies_that_are_no_event_are_refused(
    webhook_client: httpx.AsyncClient, settings: Settings, sessions: SessionFactory
) -> None:
    secret = settings.printify_webhook_secret.get_secret_value()
    not_json = b"{not json"
    response = await post(webhook_client, not_json, sign(secret, not_json))
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"

    body = json.dumps({"id": "e-1", "type": "product:publish:started"}).encode()
    response = await post(webhook_client, body, sign(secret, body))
    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "VALIDATION_ERROR"
    assert ["body", "resource"] in [e["loc"] for e in error["details"]["errors"]]
    async with sessions() as session:
        count = (
            await session.exec(select(func.count()).where(col(WebhookEvent.event_id).in_(["e-1"])))
        ).one()
    assert count == 0


async def test_an_oversized_body_is_413(
    webhook_client: httpx.AsyncClient, settings: Settings
) -> None:
    payload = event("p" * 24, padding="x" * (settings.api_max_body_bytes + 1))
    response = await post(webhook_client, *signed(settings, payload))
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
