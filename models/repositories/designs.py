"""Designs (print files) of a tenant, and their payload form.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.payloads import PrintFile
from models.repositories.errors import NotFoundError
from models.tables import (
    Design,
)


async def get_design_for_workflow(
    session: AsyncSession, *, tenant_id: str, workflow_id: str
) -> Design | None:
    query = select(Design).where(Design.tenant_id == tenant_id, Design.workflow_id == workflow_id)
    return (await session.exec(query)).first()


async def save_design(session: AsyncSession, *, tenant_id: str, design: Design) -> Design:
    """Store the workflow's design once (keyed by workflow id)."""
    if design.tenant_id != tenant_id:
        raise ValueError("design belongs to another tenant")
    existing = await get_design_for_workflow(
        session, tenant_id=tenant_id, workflow_id=design.workflow_id
    )
    if existing is not None:
        return existing
    session.add(design)
    await session.flush()
    return design


async def get_design(session: AsyncSession, *, tenant_id: str, design_id: uuid.UUID) -> Design:
    query = select(Design).where(Design.tenant_id == tenant_id, Design.id == design_id)
    design = (await session.exec(query)).first()
    if design is None:
        raise NotFoundError("design", design_id)
    return design


def print_file_of(design: Design) -> PrintFile:
    """The payload form of a stored design."""
    return PrintFile(
        design_id=str(design.id),
        storage_key=design.storage_key,
        preview_key=design.preview_key,
        sha256=design.sha256,
        width=design.width,
        height=design.height,
        dpi=design.dpi,
        size_bytes=design.size_bytes,
    )
