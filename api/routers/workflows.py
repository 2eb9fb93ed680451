"""Routes of the design-to-listing workflow: start, read, list, approve, reject, cancel."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from collections.abc import Set as AbstractSet
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from temporalio.service import RPCError, RPCStatusCode

from api import run_views
from api.auth import WorkflowsRead, WorkflowsWrite
from api.cached_reads import cached_page
from api.deps import ReadsDep, SessionDep, SettingsDep, TemporalDep, VendorsDep
from api.hygiene import KnownQueryRoute
from api.live_state import LiveStates
from api.schemas import (
    ErrorBody,
    ModelCost,
    RejectRequest,
    WorkflowPage,
    WorkflowView,
)
from core.read_cache import ReadCache
from domain import errors
from domain.errors import DomainError
from models import repositories
from models.payloads import LIVE_STATUSES, RejectSignal, RunStatus
from models.requests import DesignToListingRequest
from models.tables import WorkflowRun
from services import runs
from workflows.design_to_listing import DesignToListingWorkflow

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/workflows", tags=["workflows"])
RUNS = "workflow_runs"  # the read cache's group of runs and their cost lines (ADR 0030)
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such workflow for this tenant"},
}
ERRORS: dict[int | str, dict[str, object]] = {
    **NOT_FOUND,
    409: {"model": ErrorBody, "description": "The workflow is not in a state for this"},
}
WorkflowId = Annotated[str, Path(min_length=1, max_length=200)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="Repeating a request with the same key returns the same workflow.",
    ),
]


@router.post(
    "/design-to-listing",
    operation_id="start_design_to_listing",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkflowView,
    responses={409: {"model": ErrorBody, "description": "Key reused with another body"}},
)
async def start_design_to_listing(
    body: DesignToListingRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    vendors: VendorsDep,
    principal: WorkflowsWrite,
    idempotency_key: IdempotencyKey = None,
) -> WorkflowView:
    """Start turning a keyword into a live listing. Answers at once with the run."""
    key = idempotency_key or f"auto-{uuid.uuid4()}"
    run, created = await runs.start_design_to_listing(
        session=session,
        temporal=temporal,
        vendors=vendors,
        tenant_id=principal.tenant_id,
        idempotency_key=key,
        body=body,
        setups=request.app.state.start_setups,
        pool=request.app.state.reads,
    )
    return run_views.accepted(run, created, response, settings=settings)


@router.get("", operation_id="list_workflows", response_model=WorkflowPage)
async def list_workflows(
    request: Request,
    reads: ReadsDep,
    settings: SettingsDep,
    principal: WorkflowsRead,
    status_filter: Annotated[RunStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The tenant's runs, newest first (recorded state; no live queries)."""

    async def read() -> WorkflowPage:
        runs, count = await repositories.reads.runs_page(
            reads, tenant_id=principal.tenant_id, status=status_filter, limit=limit, offset=offset
        )
        return WorkflowPage(
            data=[run_views.recorded_view(run, settings=settings) for run in runs], count=count
        )

    return await cached_page(
        request,
        table=RUNS,
        tenant_id=principal.tenant_id,
        key=("page", status_filter, limit, offset),
        read=read,
    )


@router.get(
    "/{workflow_id}", operation_id="get_workflow", response_model=WorkflowView, responses=NOT_FOUND
)
async def get_workflow(
    workflow_id: WorkflowId,
    request: Request,
    reads: ReadsDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: WorkflowsRead,
) -> Response:
    """One run: stage, progress, artifacts, result or error, and what its models cost;
    while it runs, also the activities it waits on (`pending_activities`)."""
    # An ended run's answer holds until its rows change; a live run's also depends on its
    # workflow's state, shared for a moment (`LiveStates`), so it is kept for that period.
    cache: ReadCache[bytes] = request.app.state.read_cache
    live_states: LiveStates = request.app.state.live_states
    tenant_id = principal.tenant_id
    ended_key = ("run", workflow_id)
    period = live_states.period()
    live_key = ("live run", workflow_id, period)
    body = cache.get(RUNS, tenant_id, ended_key) or cache.get(RUNS, tenant_id, live_key)
    if body is None:
        stamp = cache.stamp(RUNS, tenant_id)
        run, lines = await repositories.reads.run_with_costs(
            reads, tenant_id=tenant_id, workflow_id=workflow_id
        )
        view = await run_views.describe_run(
            run, temporal=temporal, settings=settings, live=live_states, with_pending=True
        )
        view.model_costs = [ModelCost(**line) for line in lines]
        body = WorkflowView.__pydantic_serializer__.to_json(view, by_alias=True)
        if view.status not in LIVE_STATUSES:
            cache.put(stamp, RUNS, tenant_id, ended_key, body)
        elif period is not None:
            cache.put(stamp, RUNS, tenant_id, live_key, body)
    return Response(body, media_type="application/json")


async def _signal_target(
    session: SessionDep, tenant: str, workflow_id: str, allowed: AbstractSet[RunStatus]
) -> WorkflowRun:
    """The tenant's run, if its status allows the signal (else 404 / 409)."""
    run = await repositories.runs.get_run_or_raise(
        session, tenant_id=tenant, workflow_id=workflow_id
    )
    if RunStatus(run.status) not in allowed:
        raise DomainError(
            errors.INVALID_STATE,
            f"the workflow is {run.status}",
            {"status": run.status, "allowed": sorted(allowed)},
        )
    return run


async def _deliver(run: WorkflowRun, sent: Awaitable[None]) -> None:
    """Send a signal or cancel request: 409 when the run closed meanwhile (the record
    lags the workflow by a moment), 503 when Temporal cannot be reached."""
    try:
        await sent
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(
                errors.INVALID_STATE,
                "the workflow has ended",
                {"status": run.status, "ended": True},
            ) from None
        raise runs.temporal_unavailable("nothing was sent") from None


@router.post(
    "/{workflow_id}/approve",
    operation_id="approve_workflow",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkflowView,
    responses=ERRORS,
)
async def approve_workflow(
    workflow_id: WorkflowId,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: WorkflowsWrite,
) -> WorkflowView:
    """Approve the brief of a run that waits for approval."""
    run = await _signal_target(
        session, principal.tenant_id, workflow_id, {RunStatus.AWAITING_APPROVAL}
    )
    await _deliver(run, runs.handle(temporal, workflow_id).signal(DesignToListingWorkflow.approve))
    await request.app.state.live_states.forget()
    return await run_views.describe_run(run, temporal=temporal, settings=settings)


@router.post(
    "/{workflow_id}/reject",
    operation_id="reject_workflow",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkflowView,
    responses=ERRORS,
)
async def reject_workflow(
    workflow_id: WorkflowId,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: WorkflowsWrite,
    body: RejectRequest | None = None,
) -> WorkflowView:
    """Reject the brief of a run that waits for approval; the run ends, nothing is listed.
    The body (a reason) is optional."""
    run = await _signal_target(
        session, principal.tenant_id, workflow_id, {RunStatus.AWAITING_APPROVAL}
    )
    reason = RejectSignal(reason=body.reason if body else "")
    await _deliver(
        run, runs.handle(temporal, workflow_id).signal(DesignToListingWorkflow.reject, reason)
    )
    await request.app.state.live_states.forget()
    return await run_views.describe_run(run, temporal=temporal, settings=settings)


@router.post(
    "/{workflow_id}/cancel",
    operation_id="cancel_workflow",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkflowView,
    responses=ERRORS,
)
async def cancel_workflow(
    workflow_id: WorkflowId,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: WorkflowsWrite,
) -> WorkflowView:
    """Stop a running run at the next stage boundary; what it made is taken down, and
    the run closes as cancelled (CANCELED in Temporal)."""
    run = await _signal_target(session, principal.tenant_id, workflow_id, LIVE_STATUSES)
    # Temporal's cancel request, which the workflow takes gracefully (ADR 0007): the
    # step under way finishes, so nothing it makes is left behind.
    await _deliver(run, runs.handle(temporal, workflow_id).cancel())
    await request.app.state.live_states.forget()
    return await run_views.describe_run(run, temporal=temporal, settings=settings)
