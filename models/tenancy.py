"""Tenant-scoped queries for accounts: tenants, members, API keys, integrations, usage.

Like `models.repositories`, every function takes the session and the tenant keyword-only
and none commits. The one lookup that cannot know the tenant in advance is
`find_api_key`, which resolves a presented key's public prefix *to* its tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.plans import period_bounds
from models.payloads import LIVE_STATUSES
from models.repositories import NotFoundError
from models.tables import (
    ApiKey,
    Integration,
    Member,
    OAuthState,
    Tenant,
    UsageEvent,
    WorkflowRun,
    utcnow,
)

# --- tenants -----------------------------------------------------------------------------


async def get_tenant(session: AsyncSession, *, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFoundError("tenant", tenant_id)
    return tenant


async def lock_tenant(session: AsyncSession, *, tenant_id: str) -> Tenant:
    """The tenant row, locked until the transaction ends (serialises quota checks)."""
    query = select(Tenant).where(Tenant.id == tenant_id).with_for_update()
    tenant = (await session.exec(query)).first()
    if tenant is None:
        raise NotFoundError("tenant", tenant_id)
    return tenant


async def create_tenant_if_absent(
    session: AsyncSession, *, tenant_id: str, name: str, plan: str
) -> tuple[Tenant, bool]:
    statement = (
        insert(Tenant)
        .values(id=tenant_id, name=name, plan=plan, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(Tenant.id))
    )
    created = (await session.exec(statement)).first() is not None
    return await get_tenant(session, tenant_id=tenant_id), created


# --- members -----------------------------------------------------------------------------


async def list_members(session: AsyncSession, *, tenant_id: str) -> Sequence[Member]:
    query = (
        select(Member)
        .where(Member.tenant_id == tenant_id)
        .order_by(col(Member.created_at), col(Member.email))
    )
    return (await session.exec(query)).all()


async def count_members(session: AsyncSession, *, tenant_id: str) -> int:
    query = select(func.count()).select_from(Member).where(Member.tenant_id == tenant_id)
    return int((await session.exec(query)).one())


async def get_member(session: AsyncSession, *, tenant_id: str, member_id: uuid.UUID) -> Member:
    query = select(Member).where(Member.tenant_id == tenant_id, Member.id == member_id)
    member = (await session.exec(query)).first()
    if member is None:
        raise NotFoundError("member", member_id)
    return member


async def find_member_by_email(
    session: AsyncSession, *, tenant_id: str, email: str
) -> Member | None:
    query = select(Member).where(Member.tenant_id == tenant_id, Member.email == email)
    return (await session.exec(query)).first()


async def add_member(session: AsyncSession, *, tenant_id: str, email: str, role: str) -> Member:
    member = Member(tenant_id=tenant_id, email=email, role=role)
    session.add(member)
    await session.flush()
    return member


async def remove_member(session: AsyncSession, *, tenant_id: str, member_id: uuid.UUID) -> None:
    """Delete the seat and revoke every key of it in the same transaction."""
    member = await get_member(session, tenant_id=tenant_id, member_id=member_id)
    await session.exec(
        update(ApiKey)
        .where(
            col(ApiKey.tenant_id) == tenant_id,
            col(ApiKey.member_id) == member.id,
            col(ApiKey.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    await session.delete(member)
    await session.flush()


async def count_owners(session: AsyncSession, *, tenant_id: str) -> int:
    query = (
        select(func.count())
        .select_from(Member)
        .where(Member.tenant_id == tenant_id, Member.role == "owner")
    )
    return int((await session.exec(query)).one())


# --- API keys ----------------------------------------------------------------------------


async def find_api_key(session: AsyncSession, *, prefix: str) -> tuple[ApiKey, Member] | None:
    """The key with this public prefix and its member (keys of removed members are gone)."""
    row = (await session.exec(_api_key_query(), params={"prefix": prefix})).first()
    return (row[0], row[1]) if row is not None else None


@cache
def _api_key_query() -> Any:
    """`find_api_key`'s query, built once: every request runs it."""
    return (
        select(ApiKey, Member)
        .join(Member, col(Member.id) == col(ApiKey.member_id))
        .where(
            col(ApiKey.prefix) == bindparam("prefix"),
            col(Member.tenant_id) == col(ApiKey.tenant_id),
        )
    )


async def add_api_key(session: AsyncSession, *, tenant_id: str, key: ApiKey) -> ApiKey:
    if key.tenant_id != tenant_id:
        raise ValueError("key belongs to another tenant")
    session.add(key)
    await session.flush()
    return key


async def list_api_keys(session: AsyncSession, *, tenant_id: str) -> Sequence[ApiKey]:
    query = (
        select(ApiKey)
        .where(ApiKey.tenant_id == tenant_id)
        .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id))
    )
    return (await session.exec(query)).all()


async def get_api_key(session: AsyncSession, *, tenant_id: str, key_id: uuid.UUID) -> ApiKey:
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id)
    key = (await session.exec(query)).first()
    if key is None:
        raise NotFoundError("api key", key_id)
    return key


async def revoke_api_key(session: AsyncSession, *, tenant_id: str, key_id: uuid.UUID) -> ApiKey:
    key = await get_api_key(session, tenant_id=tenant_id, key_id=key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
    return key


async def touch_api_key(
    session: AsyncSession, *, tenant_id: str, key_id: uuid.UUID, at: datetime, older_than: datetime
) -> None:
    """Record use of the key, unless a request already did since `older_than`."""
    await session.exec(
        update(ApiKey)
        .where(
            col(ApiKey.tenant_id) == tenant_id,
            col(ApiKey.id) == key_id,
            or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < older_than),
        )
        .values(last_used_at=at)
    )


# --- integrations ------------------------------------------------------------------------


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


# --- usage -------------------------------------------------------------------------------


async def meter_once(
    session: AsyncSession, *, tenant_id: str, workflow_id: str, metric: str, period: str
) -> bool:
    """Count one unit of `metric` for the workflow; a repeat (a retry) counts nothing."""
    statement = (
        insert(UsageEvent)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            workflow_id=workflow_id,
            metric=metric,
            period=period,
            quantity=1,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(constraint="uq_usage_once")
        .returning(col(UsageEvent.id))
    )
    return (await session.exec(statement)).first() is not None


async def usage_by_metric(session: AsyncSession, *, tenant_id: str, period: str) -> dict[str, int]:
    query = (
        select(UsageEvent.metric, func.sum(UsageEvent.quantity))
        .where(UsageEvent.tenant_id == tenant_id, UsageEvent.period == period)
        .group_by(col(UsageEvent.metric))
    )
    return {metric: int(total) for metric, total in (await session.exec(query)).all()}


async def count_live_runs_without(
    session: AsyncSession, *, tenant_id: str, metric: str, kinds: Sequence[str]
) -> int:
    """Runs of `kinds` still under way that have not been metered for `metric` yet."""
    metered = select(UsageEvent.workflow_id).where(
        UsageEvent.tenant_id == tenant_id,
        UsageEvent.workflow_id == WorkflowRun.workflow_id,
        UsageEvent.metric == metric,
    )
    query = (
        select(func.count())
        .select_from(WorkflowRun)
        .where(
            WorkflowRun.tenant_id == tenant_id,
            col(WorkflowRun.kind).in_(kinds),
            col(WorkflowRun.status).in_(sorted(LIVE_STATUSES)),
            ~metered.exists(),
        )
    )
    return int((await session.exec(query)).one())


async def count_runs_started(session: AsyncSession, *, tenant_id: str, period: str) -> int:
    """Workflows the tenant started in the period (the workflow quota counts these)."""
    start, end = period_bounds(period)
    query = (
        select(func.count())
        .select_from(WorkflowRun)
        .where(
            WorkflowRun.tenant_id == tenant_id,
            col(WorkflowRun.created_at) >= start,
            col(WorkflowRun.created_at) < end,
        )
    )
    return int((await session.exec(query)).one())
