"""A tenant's vendor integrations (tokens encrypted) and OAuth states.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.payloads import LIVE_STATUSES
from models.repositories.errors import NotFoundError
from models.tables import (
    Integration,
    OAuthState,
    WorkflowRun,
    utcnow,
)

# --- tenants -----------------------------------------------------------------------------


async def get_integration(
    session: AsyncSession, *, tenant_id: str, integration_id: uuid.UUID
) -> Integration:
    query = select(Integration).where(
        Integration.tenant_id == tenant_id, Integration.id == integration_id
    )
    integration = (await session.exec(query)).first()
    if integration is None:
        raise NotFoundError("integration", integration_id)
    return integration


async def find_integration(
    session: AsyncSession, *, tenant_id: str, vendor: str
) -> Integration | None:
    query = select(Integration).where(
        Integration.tenant_id == tenant_id, Integration.vendor == vendor
    )
    return (await session.exec(query)).first()


async def list_integrations(session: AsyncSession, *, tenant_id: str) -> Sequence[Integration]:
    query = (
        select(Integration)
        .where(Integration.tenant_id == tenant_id)
        .order_by(col(Integration.vendor))
    )
    return (await session.exec(query)).all()


async def put_integration(
    session: AsyncSession,
    *,
    tenant_id: str,
    vendor: str,
    access_token_enc: str,
    refresh_token_enc: str | None = None,
    token_expires_at: datetime | None = None,
    shop_id: int | None = None,
    external_user_id: str | None = None,
) -> Integration:
    """Create or replace the tenant's integration with `vendor` (tokens already encrypted)."""
    values = {
        "status": "active",
        "access_token_enc": access_token_enc,
        "refresh_token_enc": refresh_token_enc,
        "token_expires_at": token_expires_at,
        "shop_id": shop_id,
        "external_user_id": external_user_id,
        # What the shop offers is read again for the new connection (services.shop_setup).
        "shop_setup": None,
        "updated_at": utcnow(),
    }
    statement = (
        insert(Integration)
        .values(id=uuid.uuid4(), tenant_id=tenant_id, vendor=vendor, created_at=utcnow(), **values)
        .on_conflict_do_update(constraint="uq_integration_vendor", set_=values)
        .returning(col(Integration.id))
    )
    integration_id: uuid.UUID = (await session.exec(statement)).scalar_one()
    integration = await get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    await session.refresh(integration)
    return integration


async def delete_integration(
    session: AsyncSession, *, tenant_id: str, integration_id: uuid.UUID
) -> None:
    integration = await get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    await session.delete(integration)
    await session.flush()


async def lock_integration(
    session: AsyncSession, *, tenant_id: str, integration_id: uuid.UUID
) -> Integration:
    """The integration, locked until the transaction ends (serialises token refreshes)."""
    query = (
        select(Integration)
        .where(Integration.tenant_id == tenant_id, Integration.id == integration_id)
        .with_for_update()
    )
    integration = (await session.exec(query)).first()
    if integration is None:
        raise NotFoundError("integration", integration_id)
    return integration


async def add_oauth_state(session: AsyncSession, *, tenant_id: str, state: OAuthState) -> None:
    if state.tenant_id != tenant_id:
        raise ValueError("state belongs to another tenant")
    session.add(state)
    await session.flush()


async def purge_expired_oauth_states(session: AsyncSession, *, tenant_id: str) -> None:
    """Forget the tenant's authorizations that were never completed in time."""
    await session.exec(
        delete(OAuthState).where(
            col(OAuthState.tenant_id) == tenant_id, col(OAuthState.expires_at) < utcnow()
        )
    )


async def take_oauth_state(session: AsyncSession, *, state_hash: str) -> OAuthState | None:
    """Remove and return a pending authorization (single use). Like `find_api_key`, this
    resolves *to* the tenant: the state's digest is all the callback knows."""
    statement = (
        delete(OAuthState).where(col(OAuthState.state_hash) == state_hash).returning(OAuthState)
    )
    row = (await session.exec(statement)).first()
    return row[0] if row is not None else None


async def runs_using_integration(
    session: AsyncSession, *, tenant_id: str, integration_id: uuid.UUID, limit: int = 5
) -> list[str]:
    """Runs still under way that were started with the integration (their ids)."""
    value = str(integration_id)
    run_input = col(WorkflowRun.input)
    query = (
        select(WorkflowRun.workflow_id)
        .where(
            WorkflowRun.tenant_id == tenant_id,
            col(WorkflowRun.status).in_(sorted(LIVE_STATUSES)),
            or_(
                run_input["printify_integration_id"].astext == value,
                run_input["etsy_integration_id"].astext == value,
            ),
        )
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def all_integrations_for_rotation(session: AsyncSession) -> Sequence[Integration]:
    """Every tenant's integrations: only for re-encrypting under a new key (operator task)."""
    query = select(Integration).order_by(col(Integration.id)).with_for_update()
    return (await session.exec(query)).all()
