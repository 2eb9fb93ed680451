"""End to end with Printify webhooks: the API is served over real HTTP, runs subscribe
the shop on the emulator, and the emulator's signed `product:publish:started` reaches
the API and the run. Dropped deliveries leave the run to polling; duplicated ones
change nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlmodel import select
from temporalio.client import Client

from api.app import create_app
from core.db import SessionFactory
from core.http_server import ThreadedServer, free_port
from core.settings import Settings
from core.storage import LocalStorage
from domain.webhooks import ORDER_TOPICS, PRINTIFY_WEBHOOK_PATH, PUBLISH_STARTED
from models.tables import WebhookEvent
from sandbox.app import EmulatorConfig
from services.runs import handle
from tests.accounts import Account
from tests.conftest import ISOLATED_NAMESPACE
from tests.e2e.helpers import printify_headers, vendor_counts, wait_for_end
from tests.stack import WorkerSet

START = "/v1/workflows/design-to-listing"
# Long enough that a run only polls when no webhook came at all.
WEBHOOK_WAIT = 60.0


@pytest.fixture(scope="module")
def served(
    settings: Settings,
    database_url: str,
    storage: LocalStorage,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> Iterator[tuple[ThreadedServer, Settings]]:
    """The API over HTTP on a port of its own (the public URL Printify posts to), in the
    isolated Temporal namespace; the shop's subscriptions to it are removed afterwards."""
    port = free_port()
    scoped = settings.model_copy(
        update={
            "temporal_namespace": ISOLATED_NAMESPACE,
            "public_base_url": f"http://127.0.0.1:{port}",
        }
    )
    server = ThreadedServer(
        create_app(scoped, database_url=database_url, storage=storage), port=port
    ).start()
    yield server, scoped
    server.stop()
    hooks = f"{emulator.url}/printify/v1/shops/{emulator_config.printify_shop_id}/webhooks"
    headers = printify_headers(emulator_config)
    for hook in httpx.get(f"{hooks}.json", headers=headers).json():
        if hook["url"].startswith(server.url):
            httpx.delete(f"{hooks}/{hook['id']}.json", headers=headers)


@asynccontextmanager
async def workers(
    settings: Settings, database_url: str, wait_seconds: float
) -> AsyncIterator[Client]:
    """Every queue served in-process in the isolated namespace, webhooks on."""
    scoped = settings.model_copy(update={"printify_publish_webhook_wait_seconds": wait_seconds})
    client = await Client.connect(scoped.temporal_target, namespace=ISOLATED_NAMESPACE)
    async with WorkerSet(scoped, client, database_url):
        yield client


@pytest.fixture
def delivery_mode(emulator: ThreadedServer) -> Iterator[Callable[[str], None]]:
    def switch(mode: str) -> None:
        response = httpx.post(f"{emulator.url}/__admin/printify/webhooks", json={"mode": mode})
        assert response.status_code == 200, response.text

    yield switch
    switch("normal")


async def run_once(
    server: ThreadedServer, account: Account, keyword: str
) -> tuple[str, dict[str, Any]]:
    """Start a run through the served API and follow it to its end."""
    async with httpx.AsyncClient(base_url=server.url, headers=account.headers) as api:
        started = await api.post(
            START, json={"keyword": keyword}, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert started.status_code == 202, started.text
        workflow_id = started.json()["workflow_id"]
        view = await wait_for_end(api, workflow_id, timeout=240)
    assert view["status"] == "completed", view
    return workflow_id, view


def deliveries_of(emulator: ThreadedServer, product_id: str) -> list[dict[str, Any]]:
    found = httpx.get(f"{emulator.url}/__admin/printify/webhook-deliveries").json()
    return [d for d in found if d["resource_id"] == product_id]


async def events_of(sessions: SessionFactory, tenant_id: str) -> list[WebhookEvent]:
    async with sessions() as session:
        query = select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id)
        return list((await session.exec(query)).all())


async def publish_signals(client: Client, workflow_id: str) -> int:
    history = await handle(client, workflow_id).fetch_history()
    return sum(
        1
        for e in history.events
        if e.workflow_execution_signaled_event_attributes.signal_name == "publish_started"
    )


async def test_the_signed_webhook_confirms_the_publish(
    served: tuple[ThreadedServer, Settings],
    database_url: str,
    sessions: SessionFactory,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    account: Account,
) -> None:
    server, settings = served
    async with workers(settings, database_url, WEBHOOK_WAIT) as client:
        workflow_id, view = await run_once(server, account, "webhook hiking otter")
        assert await publish_signals(client, workflow_id) == 1
    result = view["result"]
    assert result["publish_confirmed_by"] == "webhook"
    assert view["artifacts"]["publish_confirmed_by"] == "webhook"

    [delivery] = deliveries_of(emulator, result["printify_product_id"])
    assert delivery["url"] == f"{server.url}{PRINTIFY_WEBHOOK_PATH}"
    assert (delivery["outcome"], delivery["statuses"]) == ("delivered", [200])
    assert '"processed"' in delivery["response"]
    [event] = await events_of(sessions, account.tenant_id)
    assert (event.event_id, event.topic) == (delivery["event_id"], "product:publish:started")

    hooks = httpx.get(
        f"{emulator.url}/printify/v1/shops/{emulator_config.printify_shop_id}/webhooks.json",
        headers=printify_headers(emulator_config),
    ).json()
    # Once each: the publish event, and the order events the order sync follows.
    topics = [h["topic"] for h in hooks if h["url"] == delivery["url"]]
    assert sorted(topics) == sorted([PUBLISH_STARTED, *ORDER_TOPICS])


async def test_without_deliveries_the_run_finishes_by_polling(
    served: tuple[ThreadedServer, Settings],
    database_url: str,
    sessions: SessionFactory,
    emulator: ThreadedServer,
    account: Account,
    delivery_mode: Callable[[str], None],
) -> None:
    server, settings = served
    delivery_mode("drop")
    async with workers(settings, database_url, wait_seconds=2) as client:
        workflow_id, view = await run_once(server, account, "webhook dropped badger")
        assert await publish_signals(client, workflow_id) == 0
    result = view["result"]
    assert result["publish_confirmed_by"] == "polling"
    assert [d["outcome"] for d in deliveries_of(emulator, result["printify_product_id"])] == [
        "dropped"
    ]
    assert await events_of(sessions, account.tenant_id) == []


async def test_a_duplicated_delivery_changes_nothing(
    served: tuple[ThreadedServer, Settings],
    database_url: str,
    sessions: SessionFactory,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    account: Account,
    delivery_mode: Callable[[str], None],
) -> None:
    server, settings = served
    delivery_mode("duplicate")
    async with workers(settings, database_url, WEBHOOK_WAIT) as client:
        workflow_id, view = await run_once(server, account, "webhook twice heron")
        assert await publish_signals(client, workflow_id) == 1
    result = view["result"]
    assert result["publish_confirmed_by"] == "webhook"

    deliveries = deliveries_of(emulator, result["printify_product_id"])
    assert [d["statuses"] for d in deliveries] == [[200], [200]]
    assert len({d["event_id"] for d in deliveries}) == 1
    answers = sorted(d["response"] for d in deliveries)
    assert '"duplicate"' in answers[0] and '"processed"' in answers[1]
    assert len(await events_of(sessions, account.tenant_id)) == 1
    counts = await vendor_counts(emulator.url, emulator_config, workflow_id, result["title"])
    assert counts["products"] == 1
    assert counts["listings"] == 1
