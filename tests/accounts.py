"""Real tenants, members and keys for tests, made through the same code as `pod tenant`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from core.crypto import TokenCipher
from core.db import SessionFactory
from models import repositories
from models.tables import WorkflowRun
from sandbox.app import EmulatorConfig
from services import accounts


@dataclass
class Account:
    tenant_id: str
    owner_id: uuid.UUID
    owner_key: str
    integrations: dict[str, str]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.owner_key)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def create_account(
    sessions: SessionFactory,
    cipher: TokenCipher,
    emulator_config: EmulatorConfig,
    *,
    plan: str = "business",
    limits: dict[str, Any] | None = None,
    connect: bool = True,
) -> Account:
    """A new tenant with an owner key and, unless `connect=False`, both integrations."""
    tenant_id = f"t{uuid.uuid4().hex[:10]}"
    async with sessions() as session:
        tenant, owner, key = await accounts.create_tenant(
            session,
            tenant_id=tenant_id,
            name=f"Test {tenant_id}",
            plan=plan,
            owner_email=f"owner@{tenant_id}.test",
        )
        if limits:
            tenant.limits = limits
            session.add(tenant)
        integrations = (
            await connect_integrations(session, cipher, tenant_id, emulator_config)
            if connect
            else {}
        )
        await session.commit()
    return Account(tenant_id, owner.id, key, integrations)


async def connect_integrations(
    session: AsyncSession, cipher: TokenCipher, tenant_id: str, emulator_config: EmulatorConfig
) -> dict[str, str]:
    """Connect the tenant's Printify and Etsy with the emulators' tokens (replacing any
    earlier connection); the integrations' ids by vendor."""
    tokens = {"printify": emulator_config.printify_token, "etsy": emulator_config.etsy_access_token}
    # A seller names the Printify shop to use (other tests add shops to the account).
    shops = {"printify": emulator_config.printify_shop_id, "etsy": None}
    integrations: dict[str, str] = {}
    for vendor, token in tokens.items():
        row = await accounts.store_integration(
            session,
            cipher,
            tenant_id=tenant_id,
            vendor=vendor,
            access_token=token,
            shop_id=shops[vendor],
        )
        integrations[vendor] = str(row.id)
    return integrations


async def member_key(
    sessions: SessionFactory, tenant_id: str, role: str, *, scopes: list[str] | None = None
) -> str:
    """A key of a new member with `role` in the tenant."""
    async with sessions() as session:
        member = await repositories.accounts.add_member(
            session, tenant_id=tenant_id, email=f"{role}-{uuid.uuid4().hex[:6]}@x.test", role=role
        )
        _, key = await accounts.issue_key(
            session, tenant_id=tenant_id, member_id=member.id, name=role, scopes=scopes
        )
        await session.commit()
    return key


async def record_waiting_run(
    sessions: SessionFactory, tenant_id: str, workflow_id: str, keyword: str
) -> None:
    """A run record that waits for approval, with no workflow behind it in Temporal (one
    that ended, or never reached it)."""
    async with sessions() as session:
        await repositories.runs.create_run_if_absent(
            session,
            WorkflowRun(
                tenant_id=tenant_id,
                workflow_id=workflow_id,
                request_key=workflow_id,
                request_hash="x",
                keyword=keyword,
                input={},
                status="awaiting_approval",
                stage="awaiting_approval",
            ),
        )
        await session.commit()
