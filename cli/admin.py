"""Operator commands: create a tenant with its owner key, change its plan, manage
encryption keys. Each runs in one transaction of its own."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from core.crypto import new_key
from core.db import run_in_transaction
from core.settings import Settings
from services import accounts


def create_tenant(
    settings: Settings, database_url: str, tenant_id: str, name: str, plan: str, owner: str
) -> str:
    """The new tenant's owner key (printed once by the CLI, stored only as a hash)."""

    async def work(session: AsyncSession) -> str:
        _, _, plain = await accounts.create_tenant(
            session, tenant_id=tenant_id, name=name, plan=plan, owner_email=owner
        )
        return plain

    return run_in_transaction(database_url, work)


def change_plan(
    database_url: str, tenant_id: str, plan: str, overrides: dict[str, int] | None = None
) -> None:
    run_in_transaction(
        database_url,
        lambda session: accounts.change_plan(
            session, tenant_id=tenant_id, plan=plan, overrides=overrides
        ),
    )


def rotate(settings: Settings, database_url: str) -> int:
    """Re-encrypt every stored token with the first key of POD_ENCRYPTION_KEYS."""
    return run_in_transaction(
        database_url, lambda session: accounts.rotate_encryption(session, settings.cipher)
    )


def generate_key() -> str:
    return new_key()
