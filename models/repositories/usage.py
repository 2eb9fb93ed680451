"""Metered usage and the counts plan quotas are checked against.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.plans import period_bounds
from models.payloads import LIVE_STATUSES
from models.tables import (
    UsageEvent,
    WorkflowRun,
    utcnow,
)

# --- tenants -----------------------------------------------------------------------------


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
