"""Metered usage and the counts plan quotas are checked against.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, func, true
from sqlalchemy import cast as sa_cast
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.plans import IMAGES
from models.payloads import LIVE_STATUSES
from models.repositories.errors import NotFoundError
from models.tables import (
    RunCount,
    Tenant,
    UsageEvent,
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


@dataclass(frozen=True)
class StartCounts:
    """What a start's quota check reads: the tenant's plan and its own limits, runs
    started in the period, images made in it and images runs under way will make."""

    plan: str
    limits: dict[str, Any] | None
    started: int
    images_made: int
    images_coming: int


def quota_counts(tenant_id: str, period: str, image_kinds: Sequence[str]) -> Any:
    """The counts a start is checked against, as a table: `quota_counts` (migration
    0012) defines them once, for this and for `start_run_within_quota`."""
    return func.quota_counts(
        tenant_id,
        period,
        sa_cast(list(image_kinds), ARRAY(Text)),
        sa_cast(sorted(LIVE_STATUSES), ARRAY(Text)),
        IMAGES,
    ).table_valued("started", "images_made", "images_coming")


async def start_counts(
    session: AsyncSession, *, tenant_id: str, period: str, image_kinds: Sequence[str]
) -> StartCounts:
    """Everything a start's quota check needs, in one statement. Take the tenant's lock
    in an earlier statement of the transaction: a statement that waits for the lock
    counts from the snapshot it started with."""
    counts = quota_counts(tenant_id, period, image_kinds)
    query = sa_select(
        col(Tenant.plan), col(Tenant.limits), counts.c.started, counts.c.images_made,
        counts.c.images_coming,
    ).join_from(Tenant, counts, true()).where(col(Tenant.id) == tenant_id)  # fmt: skip
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFoundError("tenant", tenant_id)
    plan, limits, started, images_made, images_coming = row
    return StartCounts(plan, limits, int(started), int(images_made), int(images_coming))


async def count_runs_started(session: AsyncSession, *, tenant_id: str, period: str) -> int:
    """Workflows the tenant started in the period (the workflow quota counts these)."""
    return int((await session.exec(_runs_started(tenant_id, period))).one())


def _runs_started(tenant_id: str, period: str) -> Any:
    """The count of the tenant's runs created in the period: one row the trigger of
    migration 0012 keeps, none before the period's first run."""
    started = select(RunCount.started).where(
        RunCount.tenant_id == tenant_id, RunCount.period == period
    )
    return select(func.coalesce(started.scalar_subquery(), 0))
