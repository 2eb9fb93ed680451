from __future__ import annotations

import asyncio
import uuid
from typing import Literal

from fastapi import APIRouter, Response, status

from api.auth import DesignsRead, WorkflowsWrite
from api.deps import SessionDep, SettingsDep, StorageDep, TemporalDep, VendorsDep
from api.hygiene import KnownQueryRoute
from api.routers.workflows import IdempotencyKey
from api.run_views import accepted
from api.schemas import (
    DesignPublic,
    ErrorBody,
    WorkflowView,
)
from models import repositories
from models.requests import PublishRequest
from services import service_runs

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/designs", tags=["designs"])
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such design for this tenant"}
}


@router.get(
    "/{design_id}", operation_id="get_design", response_model=DesignPublic, responses=NOT_FOUND
)
async def get_design(
    design_id: uuid.UUID, session: SessionDep, principal: DesignsRead
) -> DesignPublic:
    """A print-ready design: size, DPI, sha256 and links to its files."""
    design = await repositories.designs.get_design(
        session, tenant_id=principal.tenant_id, design_id=design_id
    )
    return DesignPublic(
        id=design.id,
        workflow_id=design.workflow_id,
        brief_id=design.brief_id,
        sha256=design.sha256,
        width=design.width,
        height=design.height,
        dpi=design.dpi,
        size_bytes=design.size_bytes,
        created_at=design.created_at,
        file_url=f"/v1/designs/{design.id}/file",
        preview_url=f"/v1/designs/{design.id}/file?variant=preview",
    )


@router.get(
    "/{design_id}/file",
    operation_id="get_design_file",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "The image"},
        **NOT_FOUND,
    },
)
async def get_design_file(
    design_id: uuid.UUID,
    session: SessionDep,
    storage: StorageDep,
    principal: DesignsRead,
    variant: Literal["print", "preview"] = "print",
) -> Response:
    """The print file (transparent PNG at the print area's size) or the listing preview."""
    design = await repositories.designs.get_design(
        session, tenant_id=principal.tenant_id, design_id=design_id
    )
    key = design.storage_key if variant == "print" else design.preview_key
    data = await asyncio.to_thread(storage.get, key)
    media = "image/png" if variant == "print" else "image/jpeg"
    return Response(
        content=data,
        media_type=media,
        headers={"ETag": f'"{design.sha256}"' if variant == "print" else f'"{design.id}-p"'},
    )


@router.post(
    "/{design_id}/listings",
    operation_id="publish_design",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkflowView,
    responses={
        **NOT_FOUND,
        409: {"model": ErrorBody, "description": "Already listed, no integration, key reused"},
    },
)
async def publish_design(
    design_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    vendors: VendorsDep,
    principal: WorkflowsWrite,
    body: PublishRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> WorkflowView:
    """Publish a design: the Printify product (with the template it was made for), then
    the Etsy listing — the second half of the chain. One listing per design."""
    run, created = await service_runs.start_publish(
        session=session,
        temporal=temporal,
        vendors=vendors,
        tenant_id=principal.tenant_id,
        design_id=design_id,
        key=idempotency_key or "default",
        body=body or PublishRequest(),
    )
    return accepted(run, created, response, settings=settings)
