"""Workflow runs of a tenant and their model cost lines.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.plans import IMAGE_MAKING_KINDS, IMAGES
from models.payloads import LIVE_STATUSES, DesignToListingInput, RunStatus, Stage
from models.repositories.errors import NotFoundError
from models.tables import (
    CostLine,
    WorkflowRun,
    utcnow,
)


async def create_run_if_absent(session: AsyncSession, run: WorkflowRun) -> tuple[WorkflowRun, bool]:
    """Insert `run` (`new_run`) unless its tenant already used the request key; return
    (the request's run, created)."""
    columns = WorkflowRun.__table__.columns.keys()  # type: ignore[attr-defined]
    # Unset columns (a new run's result, error) stay SQL NULL, not JSON null.
    values = {name: value for name in columns if (value := getattr(run, name)) is not None}
    statement = (
        insert(WorkflowRun)
        .values(values)
        .on_conflict_do_nothing()
        .returning(WorkflowRun)  # the new row itself: no second round trip to read it
    )
    inserted = (await session.scalars(statement)).first()
    if inserted is not None:
        return inserted, True
    recorded = await get_run_by_request_key(
        session, tenant_id=run.tenant_id, request_key=run.request_key
    )
    if recorded is None:  # only on a workflow-id hash collision with another request
        raise NotFoundError("workflow", run.workflow_id)
    return recorded, False


# Plain psycopg: the start's one statement skips SQLAlchemy's compile and its greenlet
# (docs/performance.md, "A start in one statement").
_START_WITHIN_QUOTA = (
    "SELECT outcome, used FROM start_run_within_quota(%(tenant_id)s, %(plan)s, %(limits)s,"
    " %(period)s, %(workflow_limit)s, %(image_limit)s, %(image_kinds)s, %(live)s, %(images)s,"
    " %(workflow_id)s, %(kind)s, %(request_key)s, %(request_hash)s, %(keyword)s, %(input)s,"
    " %(status)s, %(stage)s, %(now)s)"
)


async def start_within_quota(
    connection: psycopg.AsyncConnection[Any],
    *,
    tenant_id: str,
    plan: str,
    limits: dict[str, Any] | None,
    period: str,
    workflow_limit: int,
    image_limit: int,
    run: WorkflowRun,
) -> tuple[str, int | None]:
    """Record `run` unless its tenant's plan (`plan` and `limits` as the caller read
    them) has no room for it: one call of `start_run_within_quota` (migration 0012),
    which locks the tenant, counts and inserts. `connection` is in autocommit, so the
    tenant's lock is held for the call alone (a pool's, or a session's through
    `core.db.autocommit_driver`).

    Returns (outcome, used): `inserted`; `recorded` (the request key has a run);
    `workflows_per_month` or `images_per_month` with the count the limit met; `stale`
    (the plan changed since it was read); `no_tenant`; `conflict` (the workflow id is
    another request's)."""
    cursor = await connection.execute(
        _START_WITHIN_QUOTA,
        {
            "tenant_id": tenant_id,
            "plan": plan,
            "limits": None if limits is None else Jsonb(limits),
            "period": period,
            "workflow_limit": workflow_limit,
            "image_limit": image_limit,
            # What counts as image-making, live and an image: as `quota_counts`.
            "image_kinds": list(IMAGE_MAKING_KINDS),
            "live": sorted(LIVE_STATUSES),
            "images": IMAGES,
            "workflow_id": run.workflow_id,
            "kind": run.kind,
            "request_key": run.request_key,
            "request_hash": run.request_hash,
            "keyword": run.keyword,
            "input": Jsonb(run.input),
            "status": run.status,
            "stage": run.stage,
            "now": run.created_at,
        },
    )
    row = await cursor.fetchone()
    assert row is not None  # the function always answers one row
    outcome, used = row
    return str(outcome), None if used is None else int(used)


def new_run(
    *,
    tenant_id: str,
    workflow_id: str,
    kind: str,
    request_key: str,
    request_hash: str,
    workflow_input: DesignToListingInput,
) -> WorkflowRun:
    """A request's run as it is recorded before its workflow starts: queued."""
    at = utcnow()
    return WorkflowRun(
        workflow_id=workflow_id,
        tenant_id=tenant_id,
        kind=kind,
        request_key=request_key,
        request_hash=request_hash,
        keyword=workflow_input.keyword,
        input=asdict(workflow_input),
        status=RunStatus.RUNNING,
        stage=Stage.QUEUED,
        created_at=at,
        updated_at=at,
    )


async def delete_run(session: AsyncSession, *, tenant_id: str, workflow_id: str) -> None:
    """Remove a run's record (one whose workflow could not be started)."""
    run = await get_run(session, tenant_id=tenant_id, workflow_id=workflow_id)
    if run is not None:
        await session.delete(run)


async def get_run_by_request_key(
    session: AsyncSession, *, tenant_id: str, request_key: str
) -> WorkflowRun | None:
    query = select(WorkflowRun).where(
        WorkflowRun.tenant_id == tenant_id, WorkflowRun.request_key == request_key
    )
    return (await session.exec(query)).first()


async def get_run(session: AsyncSession, *, tenant_id: str, workflow_id: str) -> WorkflowRun | None:
    query = select(WorkflowRun).where(
        WorkflowRun.tenant_id == tenant_id, WorkflowRun.workflow_id == workflow_id
    )
    return (await session.exec(query)).first()


async def get_run_or_raise(
    session: AsyncSession, *, tenant_id: str, workflow_id: str
) -> WorkflowRun:
    run = await get_run(session, tenant_id=tenant_id, workflow_id=workflow_id)
    if run is None:
        raise NotFoundError("workflow", workflow_id)
    return run


async def update_run(
    session: AsyncSession,
    *,
    tenant_id: str,
    workflow_id: str,
    stage: str,
    status: str,
    error: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
) -> WorkflowRun:
    run = await get_run_or_raise(session, tenant_id=tenant_id, workflow_id=workflow_id)
    run.stage = stage
    run.status = status
    run.error = error
    if result is not None:
        run.result = result
    run.updated_at = utcnow()
    session.add(run)
    return run


async def add_cost_line(session: AsyncSession, *, line: CostLine) -> None:
    """Record what one attempt of a stage consumed; recording it again changes nothing."""
    values = line.model_dump(exclude={"id"})
    await session.exec(insert(CostLine).values(**values).on_conflict_do_nothing())


async def list_cost_lines(
    session: AsyncSession, *, tenant_id: str, workflow_id: str
) -> Sequence[CostLine]:
    query = (
        select(CostLine)
        .where(CostLine.tenant_id == tenant_id, CostLine.workflow_id == workflow_id)
        .order_by(col(CostLine.created_at))
    )
    return (await session.exec(query)).all()
