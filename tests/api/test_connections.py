"""No request needs two database connections at once (issue 15): once a minute, when
every request in flight with a key found its `last_used_at` stale, each asked for a
second connection to record the use while holding its first; with more requests than
the pool has connections none was given back, and the API froze for the pool's 30 s
timeout. Here more requests than connections arrive together with a key never used."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from core.db import SessionFactory
from core.settings import Settings
from sandbox.app import EmulatorConfig
from tests.accounts import create_account
from tests.conftest import api_client

# The API's pool: 5 connections and 5 more on demand (core.db.make_engine).
POOL = 10


async def test_a_burst_with_a_key_never_used_gets_every_answer(
    app: FastAPI, sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    account = await create_account(sessions, settings.cipher, emulator_config)
    async with api_client(app, account.headers) as api:
        answers = await asyncio.wait_for(
            asyncio.gather(*(api.get("/v1/me") for _ in range(4 * POOL))), timeout=60
        )
    assert [answer.status_code for answer in answers] == [200] * 4 * POOL
    async with api_client(app, account.headers) as api:
        used = answers[0].json()["key_id"]
        keys = (await api.get("/v1/api-keys")).json()["data"]
    [key] = [key for key in keys if key["id"] == used]
    assert key["last_used_at"] is not None  # the use is still recorded
