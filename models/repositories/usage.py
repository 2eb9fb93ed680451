"""Metered usage and the counts plan quotas are checked against.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.plans import IMAGES, period_bounds
from models.payloads import LIVE_STATUSES
from models.repositories.errors import NotFoundError
from models.tables import (
    Tenant,
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


def _live_runs_without(tenant_id: str, metric: str, kinds: Sequence[str]) -> Any:
    """Runs of `kinds` still under way that have not been metered for `metric` yet."""
    metered = select(UsageEvent.workflow_id).where(
        UsageEvent.tenant_id == tenant_id,
        UsageEvent.workflow_id == WorkflowRun.workflow_id,
        UsageEvent.metric == metric,
    )
    return (
        select(func.count())
        .select_from(WorkflowRun)
        .where(
            WorkflowRun.tenant_id == tenant_id,
            col(WorkflowRun.kind).in_(kinds),
            col(WorkflowRun.status).in_(sorted(LIVE_STATUSES)),
            ~metered.exists(),
        )
    )


async def count_live_runs_without(
    session: AsyncSession, *, tenant_id: str, metric: str, kinds: Sequence[str]
) -> int:
    """Runs of `kinds` still under way that have not been metered for `metric` yet."""
    return int((await session.exec(_live_runs_without(tenant_id, metric, kinds))).one())


@dataclass(frozen=True)
class StartCounts:
    """What a start's quota check reads: the tenant's plan and its own limits, runs
    started in the period, images made in it and images runs under way will make, and
    whether a run with the request's key is recorded already."""

    plan: str
    limits: dict[str, Any] | None
    started: int
    images_made: int
    images_coming: int
    recorded: bool


async def start_counts(
    session: AsyncSession,
    *,
    tenant_id: str,
    period: str,
    image_kinds: Sequence[str],
    request_key: str | None = None,
    lock: bool = False,
) -> StartCounts:
    """Everything a start's quota check needs, in one statement; with `lock`, the tenant
    row is locked until the transaction ends (it serialises the tenant's starts: one
    statement under the lock, not five, keeps that queue short)."""
    started = _runs_started(tenant_id, period)
    images = select(func.coalesce(func.sum(UsageEvent.quantity), 0)).where(
        UsageEvent.tenant_id == tenant_id,
        UsageEvent.period == period,
        UsageEvent.metric == IMAGES,
    )
    coming = _live_runs_without(tenant_id, IMAGES, image_kinds)
    recorded = select(WorkflowRun.workflow_id).where(
        WorkflowRun.tenant_id == tenant_id, WorkflowRun.request_key == request_key
    )
    query = sa_select(
        col(Tenant.plan),
        col(Tenant.limits),
        started.scalar_subquery(),
        images.scalar_subquery(),
        coming.scalar_subquery(),
        recorded.exists() if request_key is not None else false(),
    ).where(col(Tenant.id) == tenant_id)
    if lock:
        query = query.with_for_update(of=Tenant)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFoundError("tenant", tenant_id)
    plan, limits, started_count, images_made, images_coming, is_recorded = row
    return StartCounts(
        plan, limits, int(started_count), int(images_made), int(images_coming), bool(is_recorded)
    )


async def count_runs_started(session: AsyncSession, *, tenant_id: str, period: str) -> int:
    """Workflows the tenant started in the period (the workflow quota counts these)."""
    return int((await session.exec(_runs_started(tenant_id, period))).one())


def _runs_started(tenant_id: str, period: str) -> Any:
    """The count of the tenant's runs created in the period."""
    start, end = period_bounds(period)
    return (
        select(func.count())
        .select_from(WorkflowRun)
        .where(
            WorkflowRun.tenant_id == tenant_id,
            col(WorkflowRun.created_at) >= start,
            col(WorkflowRun.created_at) < end,
        )
    )
