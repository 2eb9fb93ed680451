"""Dependencies shared by the routers (Annotated aliases)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from core.settings import Settings
from core.storage import ObjectStorage
from services.vendors import VendorGateway


# Async (though they only read app state): a sync dependency runs on the thread pool,
# a hop that costs more than the lookup itself on every request.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def get_storage(request: Request) -> ObjectStorage:
    storage: ObjectStorage = request.app.state.storage
    return storage


async def get_vendors(request: Request) -> VendorGateway:
    vendors: VendorGateway = request.app.state.vendors
    return vendors


async def get_reads(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.reads
    return pool


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
StorageDep = Annotated[ObjectStorage, Depends(get_storage)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
# The pool of `models.repositories.reads`: a route that only reads takes no session.
ReadsDep = Annotated[AsyncConnectionPool, Depends(get_reads)]
VendorsDep = Annotated[VendorGateway, Depends(get_vendors)]
