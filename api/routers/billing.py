"""The tenant's plan and its usage (plans are changed by an operator: `pod plan`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import BillingRead
from api.deps import SessionDep
from api.hygiene import KnownQueryRoute
from api.schemas import PlanLimits, UsageCounts, UsagePublic
from domain import plans
from services import billing

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/billing", tags=["billing"])
PERIOD = r"^2\d{3}-(0[1-9]|1[0-2])$"  # years 2000-2999


async def _usage(session: SessionDep, tenant_id: str, period: str | None) -> UsagePublic:
    usage = await billing.usage(session, tenant_id=tenant_id, period=period)
    stages = usage.stages
    return UsagePublic(
        plan=usage.plan,
        period=usage.period,
        limits=PlanLimits(**vars(usage.limits)),
        used=UsageCounts(
            seats=usage.seats_used,
            workflows=usage.workflows,
            briefs=stages.get(plans.BRIEFS, 0),
            images=stages.get(plans.IMAGES, 0),
            products=stages.get(plans.PRODUCTS, 0),
            listings=stages.get(plans.LISTINGS, 0),
        ),
    )


@router.get("/usage", operation_id="get_usage", response_model=UsagePublic)
async def get_usage(
    session: SessionDep,
    principal: BillingRead,
    period: Annotated[str | None, Query(pattern=PERIOD, max_length=7)] = None,
) -> UsagePublic:
    """Plan limits and what was used in a month (`YYYY-MM`, UTC; the current one by default).

    Completed stages are metered once each, however often a step was retried.
    """
    return await _usage(session, principal.tenant_id, period)
