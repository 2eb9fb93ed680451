"""A tenant's campaigns, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Campaign


async def list_campaigns(
    session: AsyncSession, *, tenant_id: str, status: str | None, limit: int, offset: int
) -> tuple[Sequence[Campaign], int]:
    """One page of the tenant's campaigns (of one status, if given) and how many in all."""
    where = Campaign.tenant_id == tenant_id
    if status is not None:
        where = where & (Campaign.status == status)
    query = (
        select(Campaign)
        .where(where)
        .order_by(col(Campaign.created_at).desc(), col(Campaign.id))
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.exec(query)).all()
    total = (await session.exec(select(func.count()).select_from(Campaign).where(where))).one()
    return rows, int(total)
