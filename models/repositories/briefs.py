"""Design briefs of a tenant: stored, screened, approved.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.repositories.errors import NotFoundError
from models.tables import (
    Brief,
    utcnow,
)


async def get_brief_for_workflow(
    session: AsyncSession, *, tenant_id: str, workflow_id: str
) -> Brief | None:
    query = select(Brief).where(Brief.tenant_id == tenant_id, Brief.workflow_id == workflow_id)
    return (await session.exec(query)).first()


async def save_brief(
    session: AsyncSession,
    *,
    tenant_id: str,
    workflow_id: str,
    keyword: str,
    data: dict[str, Any],
    embedding: list[float] | None = None,
    embedding_model: str | None = None,
) -> Brief:
    """Store the workflow's brief once; a retried activity gets the stored one back."""
    existing = await get_brief_for_workflow(session, tenant_id=tenant_id, workflow_id=workflow_id)
    if existing is not None:
        return existing
    brief = Brief(
        tenant_id=tenant_id,
        workflow_id=workflow_id,
        keyword=keyword,
        title=str(data["title"]),
        data=data,
        embedding=embedding,
        embedding_model=embedding_model if embedding is not None else None,
    )
    session.add(brief)
    await session.flush()
    return brief


async def list_briefs(
    session: AsyncSession, *, tenant_id: str, status: str | None, limit: int, offset: int
) -> tuple[Sequence[Brief], int]:
    """A page of the tenant's briefs, newest first, and the total count."""
    where = [Brief.tenant_id == tenant_id]
    if status is not None:
        where.append(Brief.status == status)
    query = (
        select(Brief)
        .where(*where)
        .order_by(col(Brief.created_at).desc(), col(Brief.id))
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.exec(query)).all()
    total = (await session.exec(select(func.count()).select_from(Brief).where(*where))).one()
    return rows, int(total)


async def get_brief(session: AsyncSession, *, tenant_id: str, brief_id: uuid.UUID) -> Brief:
    brief = await session.get(Brief, brief_id)
    if brief is None or brief.tenant_id != tenant_id:
        raise NotFoundError("brief", brief_id)
    return brief


async def approve_brief(session: AsyncSession, *, brief: Brief) -> None:
    """Mark a screened brief as chosen by the seller (the first approval is kept)."""
    if brief.approved_at is None:
        brief.approved_at = utcnow()
    brief.status = "approved"
    session.add(brief)
    await session.flush()


async def follow_run(
    session: AsyncSession, *, tenant_id: str, workflow_id: str, status: str
) -> None:
    """The run's brief takes the seller's decision: `approved` when the run goes on to
    make a design (an approval, or a run that needed none), `rejected` or `cancelled`
    when it stops first. A brief already approved keeps that (its design exists)."""
    values: dict[str, Any] = {"status": status}
    if status == "approved":
        values["approved_at"] = utcnow()
    await session.exec(
        update(Brief)
        .where(
            col(Brief.tenant_id) == tenant_id,
            col(Brief.workflow_id) == workflow_id,
            col(Brief.status).in_(("pending", "ready")),
        )
        .values(**values)
    )


async def set_brief_screening(
    session: AsyncSession,
    *,
    tenant_id: str,
    workflow_id: str,
    status: str,
    screening: dict[str, Any] | None = None,
) -> None:
    """Record the content screening verdict of the workflow's brief (ready or refused)."""
    await session.exec(
        update(Brief)
        .where(
            col(Brief.tenant_id) == tenant_id,
            col(Brief.workflow_id) == workflow_id,
            col(Brief.status) == "pending",
        )
        .values(status=status, screening=screening)
    )
