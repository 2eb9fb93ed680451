"""Workflow runs of a tenant and their model cost lines.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.repositories.errors import NotFoundError
from models.tables import (
    CostLine,
    WorkflowRun,
    utcnow,
)


async def create_run_if_absent(
    session: AsyncSession,
    *,
    tenant_id: str,
    workflow_id: str,
    request_key: str,
    request_hash: str,
    keyword: str,
    input: dict[str, Any],
    status: str,
    stage: str,
    kind: str = "design_to_listing",
) -> tuple[WorkflowRun, bool]:
    """Insert the run unless this tenant already used the request key; return (run, created)."""
    statement = (
        insert(WorkflowRun)
        .values(
            workflow_id=workflow_id,
            tenant_id=tenant_id,
            kind=kind,
            request_key=request_key,
            request_hash=request_hash,
            keyword=keyword,
            input=input,
            status=status,
            stage=stage,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(WorkflowRun)  # the new row itself: no second round trip to read it
    )
    inserted = (await session.scalars(statement)).first()
    if inserted is not None:
        return inserted, True
    run = await get_run_by_request_key(session, tenant_id=tenant_id, request_key=request_key)
    if run is None:  # only on a workflow-id hash collision with another request: never share
        raise NotFoundError("workflow", workflow_id)
    return run, False


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
