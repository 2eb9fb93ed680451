"""The API app in the test's event loop, with its lifespan, over real Postgres and Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from api.deps import get_tenant
from core.settings import Settings
from core.storage import LocalStorage


@pytest.fixture
async def app(
    settings: Settings,
    database_url: str,
    temporal_client: Client,
    storage: LocalStorage,
    tenant: str,
) -> AsyncIterator[FastAPI]:
    app = create_app(settings, database_url=database_url, temporal=temporal_client, storage=storage)
    app.dependency_overrides[get_tenant] = lambda: tenant
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield client
