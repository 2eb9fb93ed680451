from __future__ import annotations

import asyncio
import uuid
from typing import Literal

from fastapi import APIRouter, Response

from api.auth import DesignsRead
from api.deps import SessionDep, StorageDep
from api.schemas import DesignPublic, ErrorBody
from models import repositories

router = APIRouter(prefix="/v1/designs", tags=["designs"])
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
    design = await repositories.get_design(
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
    design = await repositories.get_design(
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
