"""Listings of a tenant, and the runs under way that list a design.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.payloads import LIVE_STATUSES
from models.tables import (
    Listing,
    WorkflowRun,
    utcnow,
)


async def get_listing_of_design(
    session: AsyncSession, *, tenant_id: str, design_id: uuid.UUID
) -> Listing | None:
    query = select(Listing).where(Listing.tenant_id == tenant_id, Listing.design_id == design_id)
    return (await session.exec(query)).first()


async def live_runs_listing_design(
    session: AsyncSession, *, tenant_id: str, design_id: uuid.UUID, made_by: str
) -> Sequence[str]:
    """Runs under way that will list the design: publish runs of it, and the whole run
    that made it (which lists it at its end)."""
    query = select(WorkflowRun.workflow_id).where(
        WorkflowRun.tenant_id == tenant_id,
        col(WorkflowRun.status).in_(sorted(LIVE_STATUSES)),
        or_(
            and_(
                col(WorkflowRun.kind) == "publish",
                WorkflowRun.input["print_file"]["design_id"].astext == str(design_id),  # type: ignore[index]
            ),
            and_(
                col(WorkflowRun.kind) == "design_to_listing",
                col(WorkflowRun.workflow_id) == made_by,
            ),
        ),
    )
    return (await session.exec(query)).all()


async def upsert_listing(session: AsyncSession, *, tenant_id: str, listing: Listing) -> Listing:
    """Record the workflow's listing, or update the recorded one (keyed by workflow id)."""
    query = select(Listing).where(
        Listing.tenant_id == tenant_id, Listing.workflow_id == listing.workflow_id
    )
    existing = (await session.exec(query)).first()
    if existing is None:
        session.add(listing)
        await session.flush()
        return listing
    for field in ("etsy_listing_id", "url", "state", "printify_product_id", "title"):
        setattr(existing, field, getattr(listing, field))
    existing.updated_at = utcnow()
    session.add(existing)
    return existing
