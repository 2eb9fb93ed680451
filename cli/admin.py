"""Operator commands: create a tenant with its owner key, manage encryption keys."""

from __future__ import annotations

import asyncio

from core import accounts
from core.crypto import new_key
from core.db import make_engine, make_session_factory
from core.settings import Settings


async def _create_tenant(
    settings: Settings, database_url: str, tenant_id: str, name: str, plan: str, owner: str
) -> str:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            _, _, plain = await accounts.create_tenant(
                session, tenant_id=tenant_id, name=name, plan=plan, owner_email=owner
            )
            await session.commit()
            return plain
    finally:
        await engine.dispose()


def create_tenant(
    settings: Settings, database_url: str, tenant_id: str, name: str, plan: str, owner: str
) -> str:
    """The new tenant's owner key (printed once by the CLI, stored only as a hash)."""
    return asyncio.run(_create_tenant(settings, database_url, tenant_id, name, plan, owner))


async def _change_plan(database_url: str, tenant_id: str, plan: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            await accounts.change_plan(session, tenant_id=tenant_id, plan=plan)
            await session.commit()
    finally:
        await engine.dispose()


def change_plan(database_url: str, tenant_id: str, plan: str) -> None:
    asyncio.run(_change_plan(database_url, tenant_id, plan))


async def _rotate(settings: Settings, database_url: str) -> int:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            count = await accounts.rotate_encryption(session, settings.cipher)
            await session.commit()
            return count
    finally:
        await engine.dispose()


def rotate(settings: Settings, database_url: str) -> int:
    """Re-encrypt every stored token with the first key of POD_ENCRYPTION_KEYS."""
    return asyncio.run(_rotate(settings, database_url))


def generate_key() -> str:
    return new_key()
