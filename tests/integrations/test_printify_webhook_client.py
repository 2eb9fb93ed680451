"""Contract tests of `PrintifyClient`'s webhook methods against the emulator over HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from core.http_server import ThreadedServer
from integrations.errors import VendorError
from integrations.printify import PrintifyClient
from sandbox.app import EmulatorConfig
from tests.conftest import emulator_of_its_own
from tests.integrations.test_printify_client import RecordingTransport, add_fault, make_client

TOPIC = "product:publish:started"


@pytest.fixture(scope="module")
def emulator(emulator_config: EmulatorConfig) -> Iterator[ThreadedServer]:
    """This module's own: it counts the requests in the emulators' log."""
    yield from emulator_of_its_own(emulator_config)


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
async def client(
    emulator: ThreadedServer, emulator_config: EmulatorConfig, transport: RecordingTransport
) -> AsyncIterator[PrintifyClient]:
    made = make_client(emulator, emulator_config, transport=transport)
    yield made
    await made.aclose()


@pytest.fixture
async def hook_url(client: PrintifyClient, emulator_config: EmulatorConfig) -> AsyncIterator[str]:
    """A URL of this test only; its subscriptions are removed afterwards, since the
    module's emulator would otherwise deliver every later publish to it. Port 9 on
    loopback refuses at once, so such a delivery costs nothing."""
    url = f"http://127.0.0.1:9/hooks/{uuid.uuid4().hex}"
    yield url
    shop = emulator_config.printify_shop_id
    for hook in await client.list_webhooks(shop):
        if hook["url"].startswith(url):
            await client.delete_webhook(shop, hook["id"])


async def test_create_list_update_delete(
    client: PrintifyClient,
    transport: RecordingTransport,
    emulator_config: EmulatorConfig,
    hook_url: str,
) -> None:
    shop = emulator_config.printify_shop_id
    made = await client.create_webhook(shop, TOPIC, hook_url, "s3cret")
    sent = transport.requests[-1]
    assert (sent.method, sent.url.path) == ("POST", f"/printify/v1/shops/{shop}/webhooks.json")
    assert json.loads(sent.content) == {"topic": TOPIC, "url": hook_url, "secret": "s3cret"}
    assert made == {"topic": TOPIC, "url": hook_url, "shop_id": shop, "id": made["id"]}
    assert made in await client.list_webhooks(shop)

    moved = await client.update_webhook(shop, made["id"], f"{hook_url}/moved")
    sent = transport.requests[-1]
    assert (sent.method, json.loads(sent.content)) == ("PUT", {"url": f"{hook_url}/moved"})
    assert moved == {**made, "url": f"{hook_url}/moved"}

    assert await client.delete_webhook(shop, made["id"]) == {"id": made["id"]}
    assert made["id"] not in [hook["id"] for hook in await client.list_webhooks(shop)]


async def test_without_a_secret_none_is_sent(
    client: PrintifyClient,
    transport: RecordingTransport,
    emulator_config: EmulatorConfig,
    hook_url: str,
) -> None:
    await client.create_webhook(emulator_config.printify_shop_id, "order:created", hook_url)
    assert json.loads(transport.requests[-1].content) == {"topic": "order:created", "url": hook_url}


async def test_refusals_are_vendor_errors(
    client: PrintifyClient, emulator_config: EmulatorConfig, hook_url: str
) -> None:
    shop = emulator_config.printify_shop_id
    with pytest.raises(VendorError) as invalid:
        await client.create_webhook(shop, "product:everything", hook_url, "s3cret")
    error = invalid.value
    assert (error.status, error.code, error.retryable) == (400, "PRINTIFY_VALIDATION", False)
    assert "s3cret" not in str(error) + json.dumps(error.details)
    with pytest.raises(VendorError) as missing:
        await client.delete_webhook(shop, "0" * 24)
    assert (missing.value.status, missing.value.code) == (404, "PRINTIFY_NOT_FOUND")
    with pytest.raises(VendorError) as missing:
        await client.update_webhook(shop, "0" * 24, hook_url)
    assert missing.value.code == "PRINTIFY_NOT_FOUND"


@pytest.mark.usefixtures("clear_faults")
async def test_a_lost_create_is_not_repeated_by_the_client(
    client: PrintifyClient,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    hook_url: str,
) -> None:
    """A POST whose answer was lost is not sent again (ADR 0003): the caller lists the
    subscriptions first and finds the one the vendor did make."""
    shop = emulator_config.printify_shop_id
    add_fault(
        emulator,
        method="POST",
        path_regex=f"/shops/{shop}/webhooks.json$",
        status=502,
        mode="after",
    )
    with pytest.raises(VendorError) as lost:
        await client.create_webhook(shop, TOPIC, hook_url, "s3cret")
    assert lost.value.retryable
    made = [hook for hook in await client.list_webhooks(shop) if hook["url"] == hook_url]
    assert len(made) == 1
    log = httpx.get(f"{emulator.url}/__admin/requests").json()
    assert [r["method"] for r in log if r["path"].endswith("/webhooks.json")] == ["POST", "GET"]
