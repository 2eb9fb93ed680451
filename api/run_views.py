"""How the API shows a run: its record, brought up to date by the workflow's `state` query
while it runs (`WorkflowView`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

from fastapi import Response
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from api.live_state import LiveStates
from api.schemas import PendingActivityView, WorkflowLinks, WorkflowView
from core.settings import Settings
from core.temporal import workflow_ui_url
from models.payloads import LIVE_STATUSES, PROGRESS, RunKind, RunStatus, Stage, WorkflowState
from services.run_watch import pending_activities
from services.runs import QUERY_TIMEOUT, handle
from workflows.design_to_listing import DesignToListingWorkflow

logger = logging.getLogger(__name__)
STAGES = {stage.value for stage in Stage}


class RunRecord(Protocol):
    """What the views read of a run's record: a `WorkflowRun`, or a row of
    `repositories.reads`."""

    workflow_id: str
    kind: str
    status: str
    stage: str
    keyword: str
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


def recorded_view(run: RunRecord, *, settings: Settings) -> WorkflowView:
    """The run as recorded in Postgres."""
    status = RunStatus(run.status)
    progress = PROGRESS.get(Stage(run.stage), 0.0) if run.stage in STAGES else 0.0
    result = run.result or {}
    artifacts = {k: v for k, v in result.items() if k not in ("workflow_id", "status")}
    return WorkflowView(
        workflow_id=run.workflow_id,
        kind=RunKind(run.kind),
        status=status,
        stage=run.stage,
        progress=1.0 if status == RunStatus.COMPLETED else progress,
        keyword=run.keyword,
        artifacts=artifacts,
        result=run.result,
        error=run.error,
        created_at=run.created_at,
        updated_at=run.updated_at,
        links=WorkflowLinks(
            self=f"/v1/workflows/{run.workflow_id}",
            temporal_ui=workflow_ui_url(settings, run.workflow_id),
        ),
    )


def accepted(
    run: RunRecord, created: bool, response: Response, *, settings: Settings
) -> WorkflowView:
    """The 202 answer to a start: the run as recorded, where to follow it, and whether it
    is a repeat. No `state` query: a run just started has nothing newer to tell, and
    without a workflow worker the query would hold every start for its timeout."""
    response.headers["Location"] = f"/v1/workflows/{run.workflow_id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return recorded_view(run, settings=settings)


async def describe_run(
    run: RunRecord,
    *,
    temporal: Client,
    settings: Settings,
    live: LiveStates | None = None,
    with_pending: bool = False,
) -> WorkflowView:
    """The run's view: the workflow's `state` query while it runs, the record after.
    With `live`, reads of the run share the query's answer for a moment (a read; an
    answer to a signal asks afresh). `with_pending` adds what a live run waits on."""
    view = recorded_view(run, settings=settings)
    if view.status not in LIVE_STATUSES:
        return view
    if with_pending:
        # Asked beside the state query, not after it: the read waits for the slower one.
        pending, view = await asyncio.gather(
            _pending(temporal, run.workflow_id),
            describe_run(run, temporal=temporal, settings=settings, live=live),
        )
        view.pending_activities = pending
        return view

    async def query() -> WorkflowState:
        return await handle(temporal, run.workflow_id).query(
            DesignToListingWorkflow.state, rpc_timeout=QUERY_TIMEOUT
        )

    try:
        if live is None:
            state = await query()
        else:
            state = await live.get((run.workflow_id, run.status, run.updated_at), query)
    except (RPCError, WorkflowQueryFailedError) as exc:
        # Not started yet, or just finished: the record is the best answer we have.
        logger.info("state query of %s unavailable: %s", run.workflow_id, exc)
        return view
    return with_live_state(view, state)


async def _pending(temporal: Client, workflow_id: str) -> list[PendingActivityView] | None:
    try:
        pending = await pending_activities(temporal, workflow_id)
    except RPCError as exc:
        logger.info("description of %s unavailable: %s", workflow_id, exc)
        return None
    return [PendingActivityView.model_validate(asdict(activity)) for activity in pending]


def with_live_state(view: WorkflowView, state: WorkflowState) -> WorkflowView:
    """The recorded view brought up to date by the workflow's `state` query.

    A run the query already shows ended has recorded its end (the workflow records
    first), but after this request read the record: its result and error are not in
    `view`, so the record's live view stands until the next read finds them."""
    if RunStatus(state.status) not in LIVE_STATUSES:
        return view
    view.stage = state.stage
    view.status = RunStatus(state.status)
    view.progress = state.progress
    view.artifacts = {k: v for k, v in asdict(state.artifacts).items() if v is not None}
    if state.last_error is not None:
        view.error = asdict(state.last_error)
    return view
