"""Starting and describing design-to-listing runs (the logic behind the workflow routes)."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from fastapi import Response
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.errors import ApiError
from api.schemas import (
    DesignToListingRequest,
    ProductTemplateIn,
    WorkflowLinks,
    WorkflowView,
)
from core import billing
from core.settings import QUEUES, Settings
from core.temporal import run_workflow_id, workflow_ui_url
from models import repositories, tenancy
from models.payloads import (
    LIVE_STATUSES,
    DesignToListingInput,
    ProductTemplate,
    RunKind,
    RunStatus,
    Stage,
    WorkflowState,
)
from models.repositories import NotFoundError
from models.requests import body_digest, recorded_input
from models.tables import ProductTemplateRecord, WorkflowRun
from workflows.design_to_listing import PROGRESS, DesignToListingWorkflow
from workflows.services import BriefWorkflow, DesignWorkflow, PublishDesignWorkflow

logger = logging.getLogger(__name__)
TENANT_ATTRIBUTE = SearchAttributeKey.for_keyword("TenantId")
STAGES = {stage.value for stage in Stage}
# A live query needs a workflow worker; without one, answer from the record quickly.
QUERY_TIMEOUT = timedelta(seconds=3)
# The workflow of each kind of run (its run method).
WORKFLOWS: dict[RunKind, Callable[[Any, DesignToListingInput], Awaitable[Any]]] = {
    RunKind.DESIGN_TO_LISTING: DesignToListingWorkflow.run,
    RunKind.BRIEF: BriefWorkflow.run,
    RunKind.DESIGN: DesignWorkflow.run,
    RunKind.PUBLISH: PublishDesignWorkflow.run,
}


def request_hash(body: DesignToListingRequest) -> str:
    data = body.model_dump(mode="json")
    if data["template_id"] is None:
        del data["template_id"]  # requests from before saved templates hash as they did
    return body_digest(data)


async def start_design_to_listing(
    *,
    session: AsyncSession,
    temporal: Client,
    tenant_id: str,
    idempotency_key: str,
    body: DesignToListingRequest,
) -> tuple[WorkflowRun, bool]:
    """Record the request and start its workflow once; returns (run, created).

    A new request must fit the tenant's plan (402) and needs the tenant's Printify and
    Etsy integrations (409); a repeated one is answered from its record without either check.
    """

    async def make_input() -> DesignToListingInput:
        integrations = {
            vendor: await active_integration(session, tenant_id, vendor)
            for vendor in ("printify", "etsy")
        }
        return DesignToListingInput(
            tenant_id=tenant_id,
            request_key=idempotency_key,
            keyword=" ".join(body.keyword.split()),
            printify_integration_id=integrations["printify"],
            etsy_integration_id=integrations["etsy"],
            template=await resolve_template(
                session,
                tenant_id,
                template_id=body.template_id,
                inline=body.template if "template" in body.model_fields_set else None,
            ),
            require_approval=body.require_approval,
            approval_timeout_seconds=body.approval_timeout_seconds,
            printify_shop_id=body.printify_shop_id,
            etsy_shop_id=body.etsy_shop_id,
        )

    return await start_run(
        session=session,
        temporal=temporal,
        tenant_id=tenant_id,
        kind=RunKind.DESIGN_TO_LISTING,
        request_key=idempotency_key,
        digest=request_hash(body),
        make_input=make_input,
    )


async def start_run(
    *,
    session: AsyncSession,
    temporal: Client,
    tenant_id: str,
    kind: RunKind,
    request_key: str,
    digest: str,
    make_input: Callable[[], Awaitable[DesignToListingInput]],
) -> tuple[WorkflowRun, bool]:
    """Record a run of `kind` once per request key and start its workflow once.

    A new request must fit the tenant's plan (402) and is built by `make_input` (which
    may refuse it); a repeated one is answered from its record, and a repeat with another
    body (`digest`) is 409.
    """
    workflow_id = run_workflow_id(kind, tenant_id, request_key)
    run = await repositories.get_run_by_request_key(
        session, tenant_id=tenant_id, request_key=request_key
    )
    created = False
    if run is None:
        # Serialises the tenant's starts until commit: quota check and insert stay together.
        await tenancy.lock_tenant(session, tenant_id=tenant_id)
        # Under the lock: a concurrent repeat of this request may have recorded it meanwhile.
        run = await repositories.get_run_by_request_key(
            session, tenant_id=tenant_id, request_key=request_key
        )
    if run is None:
        await billing.ensure_can_start_workflow(session, tenant_id=tenant_id, kind=kind)
        workflow_input = await make_input()
        run, created = await repositories.create_run_if_absent(
            session,
            tenant_id=tenant_id,
            workflow_id=workflow_id,
            kind=kind,
            request_key=request_key,
            request_hash=digest,
            keyword=workflow_input.keyword,
            input=asdict(workflow_input),
            status=RunStatus.RUNNING,
            stage=Stage.QUEUED,
        )
    await session.commit()
    workflow_input = recorded_input(run)
    if run.request_hash != digest or run.kind != kind:
        raise ApiError(
            409,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was used with a different request body",
            {"workflow_id": run.workflow_id},
        )
    with contextlib.suppress(WorkflowAlreadyStartedError):
        # Safe to repeat: a run recorded but never started (a crash in between) starts now,
        # a running one is reused, a finished one is never started again.
        await temporal.start_workflow(
            WORKFLOWS[RunKind(run.kind)],
            workflow_input,
            id=run.workflow_id,
            task_queue=QUEUES["workflows"],
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(TENANT_ATTRIBUTE, tenant_id)]
            ),
        )
    return run, created


async def resolve_template(
    session: AsyncSession,
    tenant_id: str,
    *,
    template_id: uuid.UUID | None = None,
    inline: ProductTemplateIn | None = None,
) -> ProductTemplate:
    """A run's copy of its template: the one named, the inline one, the tenant's default,
    or the built-in default, in that order."""
    saved: ProductTemplateRecord | None
    if template_id is not None:
        try:
            saved = await repositories.get_template(
                session, tenant_id=tenant_id, template_id=template_id
            )
        except NotFoundError:
            raise ApiError(
                422,
                "TEMPLATE_NOT_FOUND",
                "no such template in this tenant",
                {"template_id": str(template_id)},
            ) from None
    elif inline is not None:
        return ProductTemplate(**inline.model_dump())
    else:
        saved = await repositories.get_default_template(session, tenant_id=tenant_id)
        if saved is None:
            return ProductTemplate(**ProductTemplateIn().model_dump())
    return repositories.template_from_record(saved)


async def active_integration(session: AsyncSession, tenant_id: str, vendor: str) -> str:
    integration = await tenancy.find_integration(session, tenant_id=tenant_id, vendor=vendor)
    if integration is None or integration.status != "active":
        raise ApiError(
            409,
            "INTEGRATION_REQUIRED",
            f"connect a {vendor} integration first (PUT /v1/integrations/{vendor})",
            {"vendor": vendor, "status": integration.status if integration else "missing"},
        )
    return str(integration.id)


def handle(temporal: Client, workflow_id: str) -> WorkflowHandle[Any, Any]:
    return temporal.get_workflow_handle_for(DesignToListingWorkflow.run, workflow_id)


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
