"""A tenant's own protected names (beside the platform's bundled list).

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.repositories.errors import NotFoundError
from models.tables import ProtectedNameRecord


async def list_names(
    session: AsyncSession, *, tenant_id: str, limit: int, offset: int
) -> tuple[Sequence[ProtectedNameRecord], int]:
    """One page of the tenant's names, alphabetical by their normalised form, and the
    number in all."""
    where = ProtectedNameRecord.tenant_id == tenant_id
    query = (
        select(ProtectedNameRecord)
        .where(where)
        .order_by(col(ProtectedNameRecord.key), col(ProtectedNameRecord.id))
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.exec(query)).all()
    total = (
        await session.exec(select(func.count()).select_from(ProtectedNameRecord).where(where))
    ).one()
    return rows, int(total)


async def all_names(session: AsyncSession, *, tenant_id: str) -> Sequence[ProtectedNameRecord]:
    """Every name the tenant protects: what its briefs and signals are screened against."""
    query = select(ProtectedNameRecord).where(ProtectedNameRecord.tenant_id == tenant_id)
    return (await session.exec(query.order_by(col(ProtectedNameRecord.key)))).all()


async def get_by_key(
    session: AsyncSession, *, tenant_id: str, key: str
) -> ProtectedNameRecord | None:
    query = select(ProtectedNameRecord).where(
        ProtectedNameRecord.tenant_id == tenant_id, ProtectedNameRecord.key == key
    )
    return (await session.exec(query)).first()


async def add_name(
    session: AsyncSession, *, tenant_id: str, name: ProtectedNameRecord
) -> ProtectedNameRecord:
    """Insert `name`; one with the same key raises `IntegrityError` at flush."""
    name.tenant_id = tenant_id
    session.add(name)
    await session.flush()
    return name


async def delete_name(session: AsyncSession, *, tenant_id: str, name_id: uuid.UUID) -> None:
    row = await session.get(ProtectedNameRecord, name_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError("protected name", name_id)
    await session.delete(row)
