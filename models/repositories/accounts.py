"""Tenants, members and API keys.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.repositories.errors import NotFoundError
from models.tables import (
    ApiKey,
    Member,
    Tenant,
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


async def find_api_key(session: AsyncSession, *, prefix: str) -> ApiKey | None:
    """The key with this public prefix, whatever its state (the development key's
    bootstrap checks it; requests authenticate through `repositories.reads.api_key`)."""
    return (await session.exec(select(ApiKey).where(col(ApiKey.prefix) == prefix))).first()


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
