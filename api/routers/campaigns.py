"""Campaigns: the top fresh trend signals turned into listings, one outcome each."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status

from api.auth import CampaignsRead, CampaignsWrite
from api.deps import SessionDep, SettingsDep, TemporalDep, VendorsDep
from api.hygiene import KnownQueryRoute
from api.routers.workflows import IdempotencyKey
from api.schemas import ErrorBody
from api.trend_schemas import CampaignMoney, CampaignPage, CampaignView
from api.trend_views import describe_campaign, recorded_campaign_view
from domain import errors
from domain.errors import DomainError
from models import repositories
from models.requests import CampaignOptionsIn
from models.tables import Campaign
from services import trends

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/campaigns", tags=["campaigns"])
CampaignId = Annotated[str, Path(min_length=1, max_length=200)]
CampaignStatus = Literal["running", "completed", "failed", "cancelled"]


@router.post(
    "",
    operation_id="start_campaign",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CampaignView,
    responses={
        409: {
            "model": ErrorBody,
            "description": "Integrations missing, Etsy shop profiles to choose, or key reused",
        },
    },
)
async def start_campaign(
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    vendors: VendorsDep,
    principal: CampaignsWrite,
    body: CampaignOptionsIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CampaignView:
    """Turn the top K fresh signals into listings, `concurrency` at a time. A signal whose
    niche already has a brief, or already has a run, is skipped with the reason."""
    campaign, created = await trends.start_campaign(
        session=session,
        temporal=temporal,
        vendors=vendors,
        tenant_id=principal.tenant_id,
        key=idempotency_key or f"auto-{uuid.uuid4()}",
        body=body or CampaignOptionsIn(),
    )
    response.headers["Location"] = f"/v1/campaigns/{campaign.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return recorded_campaign_view(campaign, settings=settings)


@router.get("", operation_id="list_campaigns", response_model=CampaignPage)
async def list_campaigns(
    session: SessionDep,
    settings: SettingsDep,
    principal: CampaignsRead,
    status: CampaignStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CampaignPage:
    """The tenant's campaigns, newest first, as recorded (`GET /v1/campaigns/{id}` asks
    a running one's workflow for its latest outcomes)."""
    rows, count = await repositories.campaigns.list_campaigns(
        session, tenant_id=principal.tenant_id, status=status, limit=limit, offset=offset
    )
    return CampaignPage(
        data=[recorded_campaign_view(row, settings=settings) for row in rows], count=count
    )


@router.get(
    "/{campaign_id}",
    operation_id="get_campaign",
    response_model=CampaignView,
    responses={404: {"model": ErrorBody, "description": "No such campaign for this tenant"}},
)
async def get_campaign(
    campaign_id: CampaignId,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: CampaignsRead,
) -> CampaignView:
    """The campaign and each signal's outcome: listed, failed or skipped, and why; and
    its money: what its listings sold, what its runs cost, and the margin."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or campaign.tenant_id != principal.tenant_id:
        raise DomainError(errors.CAMPAIGN_NOT_FOUND, "no such campaign in this tenant")
    view = await describe_campaign(campaign, temporal=temporal, settings=settings)
    runs = [outcome.workflow_id for outcome in view.outcomes if outcome.workflow_id]
    sold = await repositories.orders.sales_of_runs(
        session, tenant_id=principal.tenant_id, workflow_ids=runs
    )
    cost = round(sold["model_cost_micros"] / 10_000)
    view.money = CampaignMoney(
        orders=sold["orders"],
        units=sold["units"],
        revenue_cents=sold["revenue_cents"],
        model_cost_cents=cost,
        margin_cents=sold["sales_margin_cents"] - cost,
    )
    return view
