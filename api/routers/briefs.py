"""Ideation and image generation on their own: ask for briefs, read them, and make a
print-ready design for a chosen one (publishing a design is `POST /v1/designs/{id}/listings`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.auth import BriefsRead, WorkflowsWrite
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.hygiene import KnownQueryRoute
from api.routers.workflows import IdempotencyKey
from api.run_views import accepted
from api.schemas import (
    BriefPage,
    BriefPublic,
    ErrorBody,
    WorkflowView,
)
from models import repositories
from models.requests import BriefRequest, DesignRequest
from models.tables import Brief
from services import service_runs

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/briefs", tags=["briefs"])
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such brief for this tenant"}
}
BriefStatus = Annotated[
    Literal["pending", "ready", "refused", "approved", "rejected", "cancelled"] | None,
    Query(alias="status"),
]


def public(brief: Brief) -> BriefPublic:
    return BriefPublic(
        id=brief.id,
        workflow_id=brief.workflow_id,
        keyword=brief.keyword,
        title=brief.title,
        status=brief.status,  # type: ignore[arg-type]  # checked by the model
        brief=brief.data or {},
        screening=brief.screening,
        approved_at=brief.approved_at,
        created_at=brief.created_at,
    )


@router.post(
    "",
    operation_id="request_brief",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkflowView,
    responses={409: {"model": ErrorBody, "description": "Key reused with another body"}},
)
async def request_brief(
    body: BriefRequest,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: WorkflowsWrite,
    idempotency_key: IdempotencyKey = None,
) -> WorkflowView:
    """Write and screen a brief for a keyword or trend signal (a short run; its result
    names the brief). Nothing is designed or published."""
    run, created = await service_runs.start_brief(
        session=session,
        temporal=temporal,
        tenant_id=principal.tenant_id,
        key=idempotency_key or f"auto-{uuid.uuid4()}",
        body=body,
    )
    return accepted(run, created, response, settings=settings)


@router.get("", operation_id="list_briefs", response_model=BriefPage)
async def list_briefs(
    session: SessionDep,
    principal: BriefsRead,
    status_filter: BriefStatus = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> BriefPage:
    """The tenant's briefs, newest first (from brief requests and from whole runs)."""
    rows, count = await repositories.briefs.list_briefs(
        session, tenant_id=principal.tenant_id, status=status_filter, limit=limit, offset=offset
    )
    return BriefPage(data=[public(row) for row in rows], count=count)


@router.get(
    "/{brief_id}", operation_id="get_brief", response_model=BriefPublic, responses=NOT_FOUND
)
async def get_brief(brief_id: uuid.UUID, session: SessionDep, principal: BriefsRead) -> BriefPublic:
    brief = await repositories.briefs.get_brief(
        session, tenant_id=principal.tenant_id, brief_id=brief_id
    )
    return public(brief)


@router.post(
    "/{brief_id}/designs",
    operation_id="request_design",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkflowView,
    responses={
        **NOT_FOUND,
        409: {"model": ErrorBody, "description": "Brief not screened, or key reused"},
    },
)
async def request_design(
    brief_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: WorkflowsWrite,
    body: DesignRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> WorkflowView:
    """Approve a screened brief and make its artwork and print file (a short run; its
    result names the design). Without an Idempotency-Key a brief gets one design."""
    run, created = await service_runs.start_design(
        session=session,
        temporal=temporal,
        tenant_id=principal.tenant_id,
        brief_id=brief_id,
        key=idempotency_key or "default",
        body=body or DesignRequest(),
    )
    return accepted(run, created, response, settings=settings)
