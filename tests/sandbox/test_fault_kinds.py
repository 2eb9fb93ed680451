"""The emulators' fault kinds (rates, slow answers, expired tokens) and how our clients
meet them, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.http_server import ThreadedServer
from integrations.errors import VendorError
from integrations.etsy import EtsyClient, is_invalid_token
from integrations.printify import PrintifyClient
from sandbox.app import EmulatorConfig

CONFIG = EmulatorConfig()
SHOPS = "/printify/v1/shops.json"


@pytest.fixture
def faults(emulator: ThreadedServer, clear_faults: None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url) as admin:
        yield admin


def add(admin: httpx.Client, **rule: Any) -> None:
    assert admin.post("/__admin/faults", json=rule).status_code == 204


def statuses(admin: httpx.Client, count: int) -> list[int]:
    headers = {"Authorization": f"Bearer {CONFIG.printify_token}", "User-Agent": "tests"}
    return [admin.get(SHOPS, headers=headers).status_code for _ in range(count)]


def test_a_rate_hits_about_that_share_and_repeats_with_its_seed(faults: httpx.Client) -> None:
    rule = {"method": "GET", "path_regex": "shops\\.json$", "rate": 0.2, "times": 1000}
    add(faults, **rule, seed=7)
    first = statuses(faults, 200)
    assert 20 <= first.count(503) <= 60, first.count(503)
    assert set(first) == {200, 503}
    faults.delete("/__admin/faults")
    add(faults, **rule, seed=7)
    assert statuses(faults, 200) == first


def test_a_slow_answer_arrives_late_but_whole(faults: httpx.Client) -> None:
    add(faults, method="GET", path_regex="shops\\.json$", mode="slow", delay_seconds=0.4)
    started = time.monotonic()
    slow = statuses(faults, 1)
    assert slow == [200] and time.monotonic() - started >= 0.4
    started = time.monotonic()
    assert statuses(faults, 1) == [200] and time.monotonic() - started < 0.4  # once only


def etsy(emulator: ThreadedServer, refresher: Any = None) -> EtsyClient:
    return EtsyClient(
        base_url=f"{emulator.url}/etsy/v3",
        keystring=CONFIG.etsy_keystring,
        shared_secret=CONFIG.etsy_shared_secret,
        access_token=CONFIG.etsy_access_token,
        backoff_base=0.01,
        token_refresher=refresher,
    )


async def test_an_expired_etsy_token_is_refreshed_once_and_the_call_repeated(
    faults: httpx.Client, emulator: ThreadedServer
) -> None:
    add(faults, method="GET", path_regex="users/me$", mode="expired_token")
    refused: list[str] = []

    async def refresh(stale: str) -> str:
        refused.append(stale)
        return CONFIG.etsy_access_token  # the emulator's valid token

    client = etsy(emulator, refresh)
    try:
        me = await client.get_me()
    finally:
        await client.aclose()
    assert me["shop_id"] == CONFIG.etsy_shop_id
    assert refused == [CONFIG.etsy_access_token]
    log = faults.get("/__admin/requests").json()
    assert [row["status"] for row in log if row["path"].endswith("users/me")] == [401, 200]


async def test_without_a_refresher_the_expiry_is_a_clear_error(
    faults: httpx.Client, emulator: ThreadedServer
) -> None:
    add(faults, method="GET", path_regex="users/me$", mode="expired_token")
    client = etsy(emulator)
    try:
        with pytest.raises(VendorError) as failure:
            await client.get_me()
    finally:
        await client.aclose()
    assert is_invalid_token(failure.value)
    assert not failure.value.retryable
    assert CONFIG.etsy_access_token not in str(failure.value)


async def test_an_expired_printify_token_is_a_permanent_401(
    faults: httpx.Client, emulator: ThreadedServer
) -> None:
    add(faults, method="GET", path_regex="shops\\.json$", mode="expired_token")
    client = PrintifyClient(
        base_url=f"{emulator.url}/printify/v1", token=CONFIG.printify_token, user_agent="tests"
    )
    try:
        with pytest.raises(VendorError) as failure:
            await client.list_shops()
    finally:
        await client.aclose()
    assert failure.value.status == 401 and not failure.value.retryable
    assert "expired" in failure.value.message.lower() or "unauthenticated" in (
        failure.value.message.lower()
    )
