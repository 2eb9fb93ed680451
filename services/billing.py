"""Usage metering and plan quotas.

Quotas are checked with the tenant row locked (`SELECT … FOR UPDATE`), so two requests
racing for the last unit of a quota cannot both pass. Usage is metered by the workflow
once per completed stage (`repositories.usage.meter_once`, unique per workflow and metric).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from cachetools import TTLCache
from psycopg_pool import AsyncConnectionPool
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import autocommit_driver
from domain import errors
from domain.errors import DomainError
from domain.plans import IMAGE_MAKING_KINDS, Limits, current_period, limits_for
from models import repositories
from models.repositories import NotFoundError
from models.tables import WorkflowRun


class QuotaExceeded(DomainError):
    """A plan limit would be passed (`QUOTA_EXCEEDED`)."""

    def __init__(self, metric: str, limit: int, used: int, period: str | None = None) -> None:
        details: dict[str, Any] = {"metric": metric, "limit": limit, "used": used}
        if period:
            details["period"] = period
        message = f"the plan allows {limit} {metric.replace('_', ' ')}; {used} used"
        super().__init__(errors.QUOTA_EXCEEDED, message, details)
        self.metric = metric
        self.limit = limit
        self.used = used
        self.period = period


# Each tenant's plan and own limits as this process last read them for a start. The
# quota call refuses a start made under a plan that has changed since (`stale`), and
# the plan is read again then, so a kept plan can cost a retry but never let a start
# past a limit; it saves a start one round trip (docs/performance.md).
_KNOWN_PLANS: TTLCache[str, tuple[str, dict[str, Any] | None]] = TTLCache(maxsize=10_000, ttl=300)


@dataclass
class Usage:
    plan: str
    period: str
    limits: Limits
    seats_used: int
    workflows: int
    stages: dict[str, int]


async def tenant_limits(session: AsyncSession, *, tenant_id: str, lock: bool = False) -> Limits:
    get = repositories.accounts.lock_tenant if lock else repositories.accounts.get_tenant
    tenant = await get(session, tenant_id=tenant_id)
    return limits_for(tenant.plan, tenant.limits)


async def ensure_can_start_workflow(
    session: AsyncSession, *, tenant_id: str, kind: str = "design_to_listing"
) -> None:
    """Raise `QuotaExceeded` unless the tenant may start one more run of `kind` this month
    (and, for a run that makes an image, one more image).

    Call it with the tenant row locked (`repositories.accounts.lock_tenant`) in the transaction that
    records the run, so the count it checked is the count the run adds to.
    """
    period = current_period()
    counts = await repositories.usage.start_counts(
        session, tenant_id=tenant_id, period=period, image_kinds=IMAGE_MAKING_KINDS
    )
    _check_start(counts, kind, period)


async def record_start(
    session: AsyncSession, run: WorkflowRun, *, pool: AsyncConnectionPool | None = None
) -> tuple[WorkflowRun, bool]:
    """Record a new run (`repositories.runs.new_run`) if one more of its kind fits the
    tenant's plan this month, and for a run that makes an image one more image; once per
    request key. Returns (the request's run, whether this call recorded it); raises
    `QuotaExceeded`.

    The tenant's lock, the counts and the insert are one call in the database (migration
    0012): the lock is held for that call only, not across round trips, and the counts
    are read after it is taken. The call is made on a connection of `pool` (autocommit,
    no pre-ping: the API's read pool) when given, else on the session's, whose open
    transaction is committed first unless it is in autocommit already
    (`core.db.autocommit`).
    """
    period = current_period()
    for attempt in range(3):  # the plan changed between reading it and the call: read again
        known = _KNOWN_PLANS.get(run.tenant_id) if attempt == 0 else None
        if known is None:
            tenant = await repositories.accounts.get_tenant(session, tenant_id=run.tenant_id)
            known = _KNOWN_PLANS[run.tenant_id] = (tenant.plan, tenant.limits)
        plan, overrides = known
        limits = limits_for(plan, overrides)
        # Taken for the call alone, after anything the session reads: a request never
        # holds a pool's connection while it waits for the other pool's.
        async with _autocommit_connection(session, pool) as connection:
            outcome, used = await repositories.runs.start_within_quota(
                connection,
                tenant_id=run.tenant_id,
                plan=plan,
                limits=overrides,
                period=period,
                workflow_limit=limits.workflows_per_month,
                image_limit=limits.images_per_month,
                run=run,
            )
        if outcome != "stale":
            break
        _KNOWN_PLANS.pop(run.tenant_id, None)
        session.expire_all()
    if outcome == "inserted":
        return run, True
    if outcome in ("workflows_per_month", "images_per_month"):
        limit = getattr(limits, outcome)
        raise QuotaExceeded(outcome, limit, used if used is not None else limit, period)
    if outcome == "no_tenant":
        _KNOWN_PLANS.pop(run.tenant_id, None)
        raise NotFoundError("tenant", run.tenant_id)
    recorded = await repositories.runs.get_run_by_request_key(
        session, tenant_id=run.tenant_id, request_key=run.request_key
    )
    if recorded is None:  # a workflow-id collision with another request: never share
        raise NotFoundError("workflow", run.workflow_id)
    return recorded, False


@asynccontextmanager
async def _autocommit_connection(
    session: AsyncSession, pool: AsyncConnectionPool | None
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection of `pool` for one statement, or the session's own in autocommit."""
    if pool is None:
        yield await autocommit_driver(session)
    else:
        async with pool.connection() as connection:
            yield connection


def _check_start(counts: repositories.usage.StartCounts, kind: str, period: str) -> None:
    limits = limits_for(counts.plan, counts.limits)
    if counts.started >= limits.workflows_per_month:
        raise QuotaExceeded(
            "workflows_per_month", limits.workflows_per_month, counts.started, period
        )
    if kind not in IMAGE_MAKING_KINDS:
        return
    # Runs under way will each make an image: count them now, so starts cannot overshoot.
    images = counts.images_made + counts.images_coming
    if images >= limits.images_per_month:
        raise QuotaExceeded("images_per_month", limits.images_per_month, images, period)


async def ensure_seat_available(session: AsyncSession, *, tenant_id: str) -> None:
    limits = await tenant_limits(session, tenant_id=tenant_id, lock=True)
    seats = await repositories.accounts.count_members(session, tenant_id=tenant_id)
    if seats >= limits.seats:
        raise QuotaExceeded("seats", limits.seats, seats)


async def usage(session: AsyncSession, *, tenant_id: str, period: str | None = None) -> Usage:
    tenant = await repositories.accounts.get_tenant(session, tenant_id=tenant_id)
    period = period or current_period()
    return Usage(
        plan=tenant.plan,
        period=period,
        limits=limits_for(tenant.plan, tenant.limits),
        seats_used=await repositories.accounts.count_members(session, tenant_id=tenant_id),
        workflows=await repositories.usage.count_runs_started(
            session, tenant_id=tenant_id, period=period
        ),
        stages=await repositories.usage.usage_by_metric(
            session, tenant_id=tenant_id, period=period
        ),
    )
