"""Two API hosts sharing one Redis (issue 15, ADR 0027): each with its own state
directory, so only Redis can carry a revoke, a signal or a key's rate from one to the
other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.client import Client

from api.app import create_app
from core.redis_shared import RedisCounter
from core.settings import Settings
from core.storage import LocalStorage
from tests.accounts import Account, bearer
from tests.api.test_accounts import create_key, error
from tests.conftest import api_client
from tests.redis_server import RedisServer


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.close()


def _host(settings: Settings, redis_server: RedisServer, home: Path, **update: object) -> Settings:
    return settings.model_copy(
        update={"pod_home": home, "redis_url": SecretStr(redis_server.url), **update}
    )


@pytest.fixture(scope="module")
async def hosts(
    settings: Settings,
    redis_server: RedisServer,
    database_url: str,
    temporal_client: Client,
    storage: LocalStorage,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    apps = [
        create_app(
            _host(
                settings,
                redis_server,
                tmp_path_factory.mktemp(f"host-{n}"),
                api_rate_per_second=0.01,
                api_rate_burst=3,
            ),
            database_url=database_url,
            temporal=temporal_client,
            storage=storage,
        )
        for n in (1, 2)
    ]
    async with (
        apps[0].router.lifespan_context(apps[0]),
        apps[1].router.lifespan_context(apps[1]),
    ):
        for app in apps:
            for counter in (app.state.key_cache.generation, app.state.live_states.generation):
                assert isinstance(counter.counter, RedisCounter)
                assert await counter.counter.wait_following(5)
        yield apps[0], apps[1]


async def _me(app: FastAPI, key: str) -> httpx.Response:
    async with api_client(app, bearer(key)) as client:
        return await client.get("/v1/me")


async def test_a_key_revoked_on_one_host_is_refused_by_the_other(
    hosts: tuple[FastAPI, FastAPI], account: Account
) -> None:
    here, there = hosts
    async with api_client(here, account.headers) as owner:
        created = await create_key(owner)
        assert (await _me(there, created["key"])).status_code == 200  # verified and cached

        revoked = await owner.delete(f"/v1/api-keys/{created['id']}")
        assert revoked.status_code == 200, revoked.text

    # The revoke is published before its answer; delivery to the other host is
    # asynchronous, so allow it a moment — but far less than the key cache's 5 s.
    for _ in range(100):
        response = await _me(there, created["key"])
        if response.status_code == 401:
            break
        await asyncio.sleep(0.01)
    body = error(response, 401, "UNAUTHENTICATED")
    assert "revoked" in body["message"]


async def test_a_keys_rate_is_counted_across_hosts(
    hosts: tuple[FastAPI, FastAPI], account: Account
) -> None:
    here, there = hosts
    async with api_client(here, account.headers) as owner:
        key = (await create_key(owner))["key"]
    answers = [(await _me(app, key)).status_code for app in (here, there, here, there)]
    assert answers == [200, 200, 200, 429]
