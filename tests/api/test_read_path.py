"""The API's read path (issue 15): keys cached but changes applied at once in every API
process, pages counted in their own statement, live states shared by the reads of a run."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pydantic_core
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from api.live_state import LiveStates
from core.db import make_read_pool
from core.settings import Settings
from core.shared_counter import LocalCounter, SharedCounter
from core.storage import LocalStorage
from models.payloads import WorkflowState
from tests.accounts import bearer
from tests.api.test_accounts import add_member, create_key, error
from tests.conftest import api_client


@pytest.fixture(scope="module")
async def second_app(
    settings: Settings, database_url: str, temporal_client: Client, storage: LocalStorage
) -> AsyncIterator[FastAPI]:
    """Another API process's app: the same settings (state directory included), its own
    caches."""
    app = create_app(settings, database_url=database_url, temporal=temporal_client, storage=storage)
    async with app.router.lifespan_context(app):
        yield app


async def _me(app: FastAPI, key: str) -> httpx.Response:
    async with api_client(app, bearer(key)) as client:
        return await client.get("/v1/me")


async def test_a_key_revoked_by_one_api_process_is_refused_by_another_at_once(
    api: httpx.AsyncClient, second_app: FastAPI
) -> None:
    created = await create_key(api)
    # The second process has verified (and cached) the key.
    assert (await _me(second_app, created["key"])).status_code == 200
    assert (await _me(second_app, created["key"])).status_code == 200

    revoked = await api.delete(f"/v1/api-keys/{created['id']}")
    assert revoked.status_code == 200, revoked.text

    body = error(await _me(second_app, created["key"]), 401, "UNAUTHENTICATED")
    assert "revoked" in body["message"]


async def test_a_role_changed_by_one_api_process_applies_in_another_at_once(
    api: httpx.AsyncClient, second_app: FastAPI
) -> None:
    member = await add_member(api, role="admin")
    key = (await create_key(api, member_id=member["id"]))["key"]
    assert (await _me(second_app, key)).json()["role"] == "admin"

    changed = await api.patch(f"/v1/members/{member['id']}", json={"role": "viewer"})
    assert changed.status_code == 200, changed.text

    assert (await _me(second_app, key)).json()["role"] == "viewer"


async def test_pages_count_every_match_even_past_the_end(api: httpx.AsyncClient) -> None:
    for n in range(3):
        started = await api.post(
            "/v1/workflows/design-to-listing",
            json={"keyword": f"page otter {n}", "require_approval": True},
            headers={"Idempotency-Key": f"page-{n}"},
        )
        assert started.status_code == 202, started.text

    first = (await api.get("/v1/workflows", params={"limit": 2})).json()
    assert first["count"] == 3 and len(first["data"]) == 2
    rest = (await api.get("/v1/workflows", params={"limit": 2, "offset": 2})).json()
    assert rest["count"] == 3 and len(rest["data"]) == 1
    past = (await api.get("/v1/workflows", params={"limit": 2, "offset": 10})).json()
    assert past == {"data": [], "count": 3}
    none = (await api.get("/v1/workflows", params={"status": "completed"})).json()
    assert none == {"data": [], "count": 0}
    assert (await api.get("/v1/listings", params={"offset": 5})).json() == {"data": [], "count": 0}


def _state(stage: str) -> WorkflowState:
    return WorkflowState(workflow_id="wf", tenant_id="t", keyword="otter", stage=stage)


# JSON a column can hold that parsers are known to disagree on: numbers past 64 bits,
# floats at their limits, escapes and surrogate pairs, duplicate keys (json, not jsonb).
AWKWARD_JSON = (
    '{"n": 123456789012345678901234567890, "f": [1.0, 0.1, 1e308, -0.0, 2.5e-300],'
    ' "s": "\\ud83d\\ude00 \\u00e9 \\"q\\" \\\\ \\n", "x": null, "b": [true, false],'
    ' "nested": {"a": [{"b": {}}, []]}, "dup": 1, "dup": 2}'
)


async def test_the_read_pool_parses_json_with_pydantic_and_as_the_standard_library_does(
    database_url: str,
) -> None:
    pool = make_read_pool(database_url, size=1, wait_seconds=5)
    await pool.open()
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT %(doc)s::text::jsonb, %(doc)s::text::json, %(doc)s::text::jsonb::text",
                {"doc": AWKWARD_JSON},
            )
            as_jsonb, as_json, jsonb_text = await cursor.fetchone() or (None, None, None)
            # The loader in use is pydantic-core's (py-spy: `json.loads` was 17 % of a
            # trend page's CPU), for both JSON types.
            for name in ("json", "jsonb"):
                oid = psycopg.adapters.types[name].oid
                loader = conn.adapters.get_loader(oid, psycopg.pq.Format.TEXT)
                assert getattr(loader, "_loads", None) is pydantic_core.from_json
    finally:
        await pool.close()
    assert as_json == json.loads(AWKWARD_JSON)
    assert as_jsonb == json.loads(jsonb_text)
    assert as_json["n"] == 123456789012345678901234567890 and isinstance(as_json["n"], int)
    assert as_json["s"] == '\U0001f600 \u00e9 "q" \\ \n' and as_json["dup"] == 2


async def test_reads_of_one_run_share_one_state_query() -> None:
    live = LiveStates(60, LocalCounter())
    asked = 0

    async def query() -> WorkflowState:
        nonlocal asked
        asked += 1
        await asyncio.sleep(0.05)
        return _state("design")

    answers = await asyncio.gather(*(live.get(("wf", 1), query) for _ in range(20)))
    assert asked == 1 and {a.stage for a in answers} == {"design"}
    await live.get(("wf", 1), query)
    assert asked == 1  # fresh enough
    await live.get(("wf", 2), query)  # the record moved on: a new key
    assert asked == 2


async def test_a_state_is_asked_again_after_its_time_and_after_a_failure() -> None:
    live = LiveStates(0.05, LocalCounter())
    asked = 0
    release = asyncio.Event()

    async def failing() -> WorkflowState:
        nonlocal asked
        asked += 1
        raise RuntimeError("no worker")

    async def answering() -> WorkflowState:
        nonlocal asked
        asked += 1
        if asked > 2:
            await release.wait()
        return _state(f"stage {asked}")

    with pytest.raises(RuntimeError):
        await live.get("wf", failing)
    assert (await live.get("wf", answering)).stage == "stage 2"  # the failure not kept
    await asyncio.sleep(0.06)
    # Past its time: the next read asks again, and reads get the last answer meanwhile.
    assert (await live.get("wf", answering)).stage == "stage 2"
    await asyncio.sleep(0)  # the new query runs
    assert (await live.get("wf", answering)).stage == "stage 2"
    assert asked == 3
    release.set()
    await asyncio.sleep(0)
    assert (await live.get("wf", answering)).stage == "stage 3"
    assert asked == 3


async def test_a_signal_in_one_process_makes_every_process_ask_again(tmp_path: Path) -> None:
    here = LiveStates(60, SharedCounter(tmp_path / "signals.counter"))
    there = LiveStates(60, SharedCounter(tmp_path / "signals.counter"))
    asked = 0

    async def query() -> WorkflowState:
        nonlocal asked
        asked += 1
        return _state(f"stage {asked}")

    assert (await there.get("wf", query)).stage == "stage 1"
    await here.forget()  # e.g. approved through this process
    assert (await there.get("wf", query)).stage == "stage 2"


def _bump(path: str, times: int) -> None:
    async def bumps() -> None:
        counter = SharedCounter(Path(path))
        for _ in range(times):
            await counter.bump()

    asyncio.run(bumps())


def test_the_shared_counter_loses_no_bump_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "n.counter"
    reader = SharedCounter(path)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_bump, args=(str(path), 200)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert reader.value() == 600
