"""How the API shows a run: its record, brought up to date by the workflow's `state` query
while it runs (`WorkflowView`)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from fastapi import Response
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from api.schemas import WorkflowLinks, WorkflowView
from core.settings import Settings
from core.temporal import workflow_ui_url
from models.payloads import LIVE_STATUSES, PROGRESS, RunKind, RunStatus, Stage, WorkflowState
from models.tables import WorkflowRun
from services.runs import QUERY_TIMEOUT, handle
from workflows.design_to_listing import DesignToListingWorkflow

logger = logging.getLogger(__name__)
STAGES = {stage.value for stage in Stage}


def recorded_view(run: WorkflowRun, *, settings: Settings) -> WorkflowView:
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
    run: WorkflowRun, created: bool, response: Response, *, settings: Settings
) -> WorkflowView:
    """The 202 answer to a start: the run as recorded, where to follow it, and whether it
    is a repeat. No `state` query: a run just started has nothing newer to tell, and
    without a workflow worker the query would hold every start for its timeout."""
    response.headers["Location"] = f"/v1/workflows/{run.workflow_id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return recorded_view(run, settings=settings)


async def describe_run(run: WorkflowRun, *, temporal: Client, settings: Settings) -> WorkflowView:
    """The run's view: the workflow's `state` query while it runs, the record after."""
    view = recorded_view(run, settings=settings)
    if view.status not in LIVE_STATUSES:
        return view
    try:
        state = await handle(temporal, run.workflow_id).query(
            DesignToListingWorkflow.state, rpc_timeout=QUERY_TIMEOUT
        )
    except (RPCError, WorkflowQueryFailedError) as exc:
        # Not started yet, or just finished: the record is the best answer we have.
        logger.info("state query of %s unavailable: %s", run.workflow_id, exc)
        return view
    return with_live_state(view, state)


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
