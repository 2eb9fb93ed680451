"""Pages of trends and listings answered from the API process's cache until Postgres
says their rows changed (issue 15, ADR 0030): real Postgres, its triggers and NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from temporalio.client import Client

from api.app import create_app
from core.db import SessionFactory, libpq_url
from core.read_cache import CHANNEL, ChangeFeed, Groups, ReadCache, Stamp
from core.settings import Settings
from core.storage import LocalStorage
from domain.trends import ScrapedTrend
from integrations.embeddings import LocalE5Embedder
from models import repositories
from models.payloads import ProductTemplate, RunKind, RunStatus, Stage
from models.requests import recorded_input
from models.tables import CostLine, Design, Listing, WorkflowRun, utcnow
from sandbox.app import EmulatorConfig
from services.runs import SETUP_GROUPS, StartSetups
from tests.accounts import Account, create_account
from tests.conftest import api_client
from tests.models.test_trend_store import observe


@pytest.fixture(scope="module")
def embedder() -> LocalE5Embedder:
    return LocalE5Embedder()


def cache(app: FastAPI) -> ReadCache[bytes]:
    read_cache: ReadCache[bytes] = app.state.read_cache
    return read_cache


async def listening(app: FastAPI) -> ReadCache[bytes]:
    async with asyncio.timeout(10):
        await cache(app).feed.wait_listening()
    return cache(app)


async def moved(feed: ChangeFeed, table: Groups, tenant_id: str, since: Stamp | None) -> Stamp:
    """The stamp once a notice for the tenant's rows has arrived since `since` (None: the
    first notice of a tenant made for the test)."""
    async with asyncio.timeout(10):
        while True:
            now = feed.stamp(table, tenant_id)
            if now is not None and (now != since if since is not None else now.tenant > 0):
                return now
            await asyncio.sleep(0.01)


async def add_listing(sessions: SessionFactory, tenant_id: str, title: str) -> None:
    run = f"cache-{uuid.uuid4().hex[:8]}"
    async with sessions() as session:
        brief = await repositories.briefs.save_brief(
            session,
            tenant_id=tenant_id,
            workflow_id=run,
            keyword="cache otter",
            data={"title": "Cache Otter"},
        )
        design = await repositories.designs.save_design(
            session,
            tenant_id=tenant_id,
            design=Design(
                tenant_id=tenant_id,
                workflow_id=run,
                brief_id=brief.id,
                storage_key=f"{tenant_id}/designs/{run}.png",
                preview_key=f"{tenant_id}/designs/{run}.jpg",
                sha256="0" * 64,
                width=4500,
                height=5400,
                dpi=300,
                size_bytes=1,
            ),
        )
        await repositories.listings.upsert_listing(
            session,
            tenant_id=tenant_id,
            listing=Listing(
                tenant_id=tenant_id,
                workflow_id=run,
                design_id=design.id,
                title=title,
                printify_shop_id=1,
                printify_product_id=f"p-{run}",
                printify_image_id=f"i-{run}",
                etsy_shop_id=2,
                etsy_listing_id=int(uuid.uuid4().int % 10**12),
                url=f"https://etsy.test/listing/{run}",
                state="active",
            ),
        )
        await session.commit()


async def test_a_trend_page_is_served_from_the_cache_until_a_signal_changes(
    app: FastAPI,
    api: httpx.AsyncClient,
    tenant: str,
    sessions: SessionFactory,
    embedder: LocalE5Embedder,
) -> None:
    read_cache = await listening(app)
    await observe(sessions, embedder, tenant, [ScrapedTrend("reddit", "cached otter mug")])
    stamp = await moved(read_cache.feed, "trend_signals", tenant, None)

    first = await api.get("/v1/trends", params={"limit": 5})
    assert first.status_code == 200, first.text
    assert [s["keyword"] for s in first.json()["data"]] == ["cached otter mug"]
    hits = read_cache.hits
    again = await api.get("/v1/trends", params={"limit": 5})
    assert again.content == first.content and read_cache.hits == hits + 1
    assert again.headers["content-type"] == "application/json"
    # Another page (other parameters) is read and kept on its own.
    other = await api.get("/v1/trends", params={"limit": 5, "q": "nothing like it"})
    assert other.json() == {"data": [], "count": 0} and read_cache.hits == hits + 1

    # A worker stores a signal: the page is read again.
    await observe(sessions, embedder, tenant, [ScrapedTrend("reddit", "cached beaver hoodie")])
    await moved(read_cache.feed, "trend_signals", tenant, stamp)
    fresh = await api.get("/v1/trends", params={"limit": 5})
    assert read_cache.hits == hits + 1
    keywords = {s["keyword"] for s in fresh.json()["data"]}
    assert keywords == {"cached otter mug", "cached beaver hoodie"}
    assert fresh.json()["count"] == 2


async def test_similar_trends_are_cached_and_forgotten_with_the_signals(
    app: FastAPI,
    api: httpx.AsyncClient,
    tenant: str,
    sessions: SessionFactory,
    embedder: LocalE5Embedder,
) -> None:
    read_cache = await listening(app)
    await observe(
        sessions,
        embedder,
        tenant,
        [ScrapedTrend("reddit", "hiking dog dad"), ScrapedTrend("reddit", "quantum textbook")],
    )
    stamp = await moved(read_cache.feed, "trend_signals", tenant, None)
    signal = next(
        s for s in (await api.get("/v1/trends")).json()["data"] if s["keyword"] == "hiking dog dad"
    )
    path = f"/v1/trends/{signal['id']}/similar"
    first = await api.get(path)
    names = [n["signal"]["keyword"] for n in first.json()["data"]]
    assert names == ["quantum textbook"]
    hits = read_cache.hits
    assert (await api.get(path)).content == first.content and read_cache.hits == hits + 1

    await observe(sessions, embedder, tenant, [ScrapedTrend("reddit", "camping dog dad")])
    await moved(read_cache.feed, "trend_signals", tenant, stamp)
    names = [n["signal"]["keyword"] for n in (await api.get(path)).json()["data"]]
    assert names == ["camping dog dad", "quantum textbook"]
    assert read_cache.hits == hits + 1
    # Not found is answered, not cached.
    missing = await api.get(f"/v1/trends/{uuid.uuid4()}/similar")
    assert missing.status_code == 404 and read_cache.hits == hits + 1


async def test_one_tenants_changes_keep_another_tenants_pages(
    app: FastAPI,
    api: httpx.AsyncClient,
    tenant: str,
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
) -> None:
    read_cache = await listening(app)
    await add_listing(sessions, tenant, "Cached Otter Shirt")
    stamp = await moved(read_cache.feed, "listings", tenant, None)
    first = await api.get("/v1/listings")
    assert [item["title"] for item in first.json()["data"]] == ["Cached Otter Shirt"]

    other_tenant = (
        await create_account(sessions, settings.cipher, emulator_config, connect=False)
    ).tenant_id
    await add_listing(sessions, other_tenant, "Someone Else's Shirt")
    await moved(read_cache.feed, "listings", other_tenant, None)
    assert read_cache.feed.stamp("listings", tenant) == stamp
    hits = read_cache.hits
    assert (await api.get("/v1/listings")).content == first.content
    assert read_cache.hits == hits + 1

    # A listing removed by a compensation: forgotten too.
    async with sessions() as session:
        await session.execute(
            text("DELETE FROM listings WHERE tenant_id = :tenant_id"), {"tenant_id": tenant}
        )
        await session.commit()
    await moved(read_cache.feed, "listings", tenant, stamp)
    assert (await api.get("/v1/listings")).json() == {"data": [], "count": 0}


async def test_without_the_feed_nothing_is_served_from_the_cache(
    app: FastAPI, api: httpx.AsyncClient, database_url: str
) -> None:
    """The listening connection is killed: pages are read again (a notice may have been
    missed), and once it listens again nothing kept before is served."""
    read_cache = await listening(app)
    first = await api.get("/v1/listings")
    hits = read_cache.hits
    await api.get("/v1/listings")
    assert read_cache.hits == hits + 1

    async with await psycopg.AsyncConnection.connect(
        libpq_url(database_url), autocommit=True
    ) as conn:
        killed = await (
            await conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = %s",
                (f"LISTEN {CHANNEL}",),
            )
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    async with asyncio.timeout(10):
        while read_cache.feed.listening:
            await asyncio.sleep(0.01)
    assert (await api.get("/v1/listings")).content == first.content
    assert read_cache.hits == hits + 1  # read from Postgres, not the cache

    await listening(app)
    assert (await api.get("/v1/listings")).content == first.content
    assert read_cache.hits == hits + 1  # the new epoch read it again
    await api.get("/v1/listings")
    assert read_cache.hits == hits + 2


async def test_a_truncate_notice_forgets_every_tenants_pages(
    app: FastAPI, database_url: str
) -> None:
    read_cache = await listening(app)
    before = read_cache.feed.stamp("listings", "any-tenant")
    async with await psycopg.AsyncConnection.connect(
        libpq_url(database_url), autocommit=True
    ) as conn:
        await conn.execute(f"NOTIFY {CHANNEL}, 'listings:*'")
    after = await moved(read_cache.feed, "listings", "any-tenant", before)
    assert after.table == (before.table if before else 0) + 1


@contextlib.asynccontextmanager
async def app_with(
    settings: Settings,
    database_url: str,
    temporal: Client,
    storage: LocalStorage,
    **changes: float,
) -> AsyncIterator[FastAPI]:
    """Another API process, with `changes` to the session's settings."""
    changed = settings.model_copy(update=changes)
    app = create_app(changed, database_url=database_url, temporal=temporal, storage=storage)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def uncached_app(
    settings: Settings, database_url: str, temporal_client: Client, storage: LocalStorage
) -> AsyncIterator[FastAPI]:
    async with app_with(
        settings, database_url, temporal_client, storage, api_read_cache_seconds=0
    ) as app:
        yield app


async def test_with_the_cache_off_pages_are_read_every_time_and_say_the_same(
    app: FastAPI,
    uncached_app: FastAPI,
    api: httpx.AsyncClient,
    tenant: str,
    sessions: SessionFactory,
    embedder: LocalE5Embedder,
    account: Account,
) -> None:
    await listening(app)
    await observe(sessions, embedder, tenant, [ScrapedTrend("reddit", "uncached otter")])
    await add_listing(sessions, tenant, "Uncached Otter Shirt")
    off = cache(uncached_app)
    assert not off.enabled and not off.feed.listening
    async with api_client(uncached_app, account.headers) as plain:
        for path in ("/v1/trends", "/v1/listings"):
            answers = [await plain.get(path) for _ in range(2)]
            assert off.hits == 0
            async with asyncio.timeout(10):  # the cached app's notice may still be coming
                while (await api.get(path)).json() != answers[0].json():
                    await asyncio.sleep(0.05)
            assert answers[0].content == answers[1].content


async def add_run(sessions: SessionFactory, tenant_id: str, status: RunStatus) -> str:
    workflow_id = f"dtl-cache-{uuid.uuid4().hex[:12]}"
    at = utcnow()
    async with sessions() as session:
        session.add(
            WorkflowRun(
                workflow_id=workflow_id,
                tenant_id=tenant_id,
                kind=RunKind.DESIGN_TO_LISTING,
                request_key=workflow_id,
                request_hash="0" * 64,
                keyword="cached otter",
                input={},
                status=status,
                stage=Stage.DONE if status == RunStatus.COMPLETED else Stage.BRIEF,
                created_at=at,
                updated_at=at,
            )
        )
        await session.commit()
    return workflow_id


async def test_the_run_list_and_an_ended_run_are_cached_until_a_run_changes(
    app: FastAPI, api: httpx.AsyncClient, tenant: str, sessions: SessionFactory
) -> None:
    read_cache = await listening(app)
    ended = await add_run(sessions, tenant, RunStatus.COMPLETED)
    stamp = await moved(read_cache.feed, "workflow_runs", tenant, None)
    page = await api.get("/v1/workflows")
    assert [r["workflow_id"] for r in page.json()["data"]] == [ended]
    run = await api.get(f"/v1/workflows/{ended}")
    assert run.json()["status"] == "completed" and run.json()["model_costs"] == []
    hits = read_cache.hits
    assert (await api.get("/v1/workflows")).content == page.content
    assert (await api.get(f"/v1/workflows/{ended}")).content == run.content
    assert read_cache.hits == hits + 2

    # A cost line recorded for the run: the run's answer is read again.
    async with sessions() as session:
        await repositories.runs.add_cost_line(
            session,
            line=CostLine(
                tenant_id=tenant,
                workflow_id=ended,
                stage="generate_brief",
                vendor="openai",
                model="gpt-test",
                calls=1,
            ),
        )
        await session.commit()
    stamp = await moved(read_cache.feed, "workflow_runs", tenant, stamp)
    costs = (await api.get(f"/v1/workflows/{ended}")).json()["model_costs"]
    assert [line["model"] for line in costs] == ["gpt-test"]

    # A new run, and a run's status moved by its workflow: the list is read again.
    live = await add_run(sessions, tenant, RunStatus.RUNNING)
    stamp = await moved(read_cache.feed, "workflow_runs", tenant, stamp)
    listed = (await api.get("/v1/workflows")).json()["data"]
    assert [r["workflow_id"] for r in listed] == [live, ended]
    async with sessions() as session:
        await session.execute(
            text("UPDATE workflow_runs SET status = 'failed' WHERE workflow_id = :id"),
            {"id": ended},
        )
        await session.commit()
    await moved(read_cache.feed, "workflow_runs", tenant, stamp)
    listed = (await api.get("/v1/workflows")).json()["data"]
    assert [r["status"] for r in listed] == ["running", "failed"]
    assert (await api.get(f"/v1/workflows/{ended}")).json()["status"] == "failed"


@pytest.fixture
async def slow_states_app(
    settings: Settings, database_url: str, temporal_client: Client, storage: LocalStorage
) -> AsyncIterator[FastAPI]:
    """An API process whose readers share a live run's state for a minute."""
    async with app_with(
        settings, database_url, temporal_client, storage, api_live_state_seconds=60
    ) as app:
        yield app


async def test_a_live_runs_view_is_kept_while_its_state_is_shared(
    slow_states_app: FastAPI, account: Account, sessions: SessionFactory
) -> None:
    """A live run's view comes from its workflow's state too (here no workflow answers,
    so the record stands): kept as long as readers share that state, and read again after
    a signal, or when its row changes."""
    read_cache = await listening(slow_states_app)
    live = await add_run(sessions, account.tenant_id, RunStatus.RUNNING)
    stamp = await moved(read_cache.feed, "workflow_runs", account.tenant_id, None)
    # The page is kept within a 60 s window of the monotonic clock: start well inside one.
    while time.monotonic() % 60 > 50:
        await asyncio.sleep(0.1)
    async with api_client(slow_states_app, account.headers) as api:
        first = await api.get(f"/v1/workflows/{live}")
        assert first.json()["status"] == "running"
        hits = read_cache.hits
        assert (await api.get(f"/v1/workflows/{live}")).content == first.content
        assert read_cache.hits == hits + 1

        await slow_states_app.state.live_states.forget()  # what a signal or cancel does
        assert (await api.get(f"/v1/workflows/{live}")).content == first.content
        assert read_cache.hits == hits + 1

        async with sessions() as session:
            await session.execute(
                text("UPDATE workflow_runs SET stage = 'screen_brief' WHERE workflow_id = :id"),
                {"id": live},
            )
            await session.commit()
        await moved(read_cache.feed, "workflow_runs", account.tenant_id, stamp)
        assert (await api.get(f"/v1/workflows/{live}")).json()["stage"] == "screen_brief"
        assert read_cache.hits == hits + 1


async def test_a_live_runs_view_is_not_kept_when_states_are_not_shared(
    uncached_states_app: FastAPI, account: Account, sessions: SessionFactory
) -> None:
    read_cache = await listening(uncached_states_app)
    live = await add_run(sessions, account.tenant_id, RunStatus.RUNNING)
    await moved(read_cache.feed, "workflow_runs", account.tenant_id, None)
    async with api_client(uncached_states_app, account.headers) as api:
        for _ in range(2):
            assert (await api.get(f"/v1/workflows/{live}")).json()["status"] == "running"
    assert read_cache.hits == 0


@pytest.fixture
async def uncached_states_app(
    settings: Settings, database_url: str, temporal_client: Client, storage: LocalStorage
) -> AsyncIterator[FastAPI]:
    async with app_with(
        settings, database_url, temporal_client, storage, api_live_state_seconds=0
    ) as app:
        yield app


async def test_a_starts_setup_is_kept_until_the_tenants_templates_or_integrations_change(
    app: FastAPI, api: httpx.AsyncClient, account: Account, sessions: SessionFactory
) -> None:
    await listening(app)
    setups: StartSetups = app.state.start_setups
    tenant = account.tenant_id

    async def start(keyword: str, key: str) -> httpx.Response:
        return await api.post(
            "/v1/workflows/design-to-listing",
            json={"keyword": keyword, "require_approval": True},
            headers={"Idempotency-Key": key},
        )

    async def variants_of(response: httpx.Response) -> list[int]:
        assert response.status_code == 202, response.text
        async with sessions() as session:
            run = await repositories.runs.get_run(
                session, tenant_id=tenant, workflow_id=response.json()["workflow_id"]
            )
        assert run is not None
        return recorded_input(run).template.variant_ids

    built_in = ProductTemplate().variant_ids
    first = await start("setup otter one", "setup-1")
    assert await variants_of(first) == built_in
    # The first start read the Printify shops onto the integration, a change of its own.
    stamp = await moved(setups.feed, SETUP_GROUPS, tenant, None)
    assert await variants_of(await start("setup otter two", "setup-2")) == built_in
    hits = setups.hits
    assert await variants_of(await start("setup otter two b", "setup-2b")) == built_in
    assert setups.hits == hits + 1

    # The seller saves a default template: the next start is made with it.
    saved = await api.post(
        "/v1/templates",
        json={
            "name": "Dear tee",
            "blueprint_id": 6,
            "print_provider_id": 99,
            "variant_ids": [12101],
            "is_default": True,
        },
    )
    assert saved.status_code == 201, saved.text
    stamp = await moved(setups.feed, SETUP_GROUPS, tenant, stamp)
    assert await variants_of(await start("setup otter three", "setup-3")) == [12101]
    assert setups.hits == hits + 1

    # The Printify connection is lost (a worker marks it): starts are refused again.
    async with sessions() as session:
        await session.execute(
            text("UPDATE integrations SET status = 'revoked' WHERE id = :id"),
            {"id": account.integrations["printify"]},
        )
        await session.commit()
    await moved(setups.feed, SETUP_GROUPS, tenant, stamp)
    refused = await start("setup otter four", "setup-4")
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "INTEGRATION_REQUIRED"
    # A repeat of an accepted start is still answered from its record.
    repeat = await start("setup otter one", "setup-1")
    assert repeat.status_code == 202, repeat.text
    assert repeat.json()["workflow_id"] == first.json()["workflow_id"]
