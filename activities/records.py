"""Records activities (`pod-records` queue): the database writes the workflow needs."""

from __future__ import annotations

import uuid

from temporalio import activity

from core.db import SessionFactory
from domain.plans import current_period
from models import repositories
from models.payloads import MeterInput, RecordListingInput, RunStatus, RunUpdate, Stage
from models.tables import Listing
from workflows.contract import METER_USAGE, RECORD_LISTING, UPDATE_RUN


def _brief_status(update: RunUpdate) -> str | None:
    """What the run's step says of its brief: a design asked for, or the run stopped."""
    if update.status == RunStatus.RUNNING and update.stage == Stage.DESIGN:
        return "approved"
    if update.status == RunStatus.REJECTED:
        return "rejected"
    if update.status == RunStatus.CANCELLED:
        return "cancelled"
    return None


class RecordsActivities:
    """Writes workflow progress and results to Postgres; every write is idempotent."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @activity.defn(name=UPDATE_RUN.name)
    async def update_run(self, update: RunUpdate) -> None:
        async with self._sessions() as session:
            await repositories.runs.update_run(
                session,
                tenant_id=update.tenant_id,
                workflow_id=update.workflow_id,
                stage=update.stage,
                status=update.status,
                error=update.error,
                result=update.result,
            )
            brief_status = _brief_status(update)
            if brief_status is not None:
                await repositories.briefs.follow_run(
                    session,
                    tenant_id=update.tenant_id,
                    workflow_id=update.workflow_id,
                    status=brief_status,
                )
            await session.commit()

    @activity.defn(name=METER_USAGE.name)
    async def meter_usage(self, data: MeterInput) -> bool:
        """Count the stage for billing; a retried or repeated call counts nothing more."""
        async with self._sessions() as session:
            counted = await repositories.usage.meter_once(
                session,
                tenant_id=data.tenant_id,
                workflow_id=data.workflow_id,
                metric=data.metric,
                period=current_period(),
            )
            await session.commit()
            return counted

    @activity.defn(name=RECORD_LISTING.name)
    async def record_listing(self, data: RecordListingInput) -> str:
        """Record the finished listing; returns our listing record id."""
        async with self._sessions() as session:
            listing = await repositories.listings.upsert_listing(
                session,
                tenant_id=data.tenant_id,
                listing=Listing(
                    tenant_id=data.tenant_id,
                    workflow_id=data.workflow_id,
                    design_id=uuid.UUID(data.design_id),
                    title=data.title,
                    printify_shop_id=data.product.shop_id,
                    printify_product_id=data.product.product_id,
                    printify_image_id=data.image_id,
                    etsy_shop_id=data.listing.shop_id,
                    etsy_listing_id=data.listing.listing_id,
                    url=data.listing.url,
                    state=data.state,
                ),
            )
            await session.commit()
            return str(listing.id)
