"""How the API shows trend signals and campaigns."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from api.trend_schemas import CampaignOutcomePublic, CampaignView, TrendSignalPublic
from core.settings import Settings
from core.temporal import workflow_ui_url
from models.tables import Campaign, TrendSignal
from models.trends import OutcomeStatus
from services import trends


def public_signal(signal: TrendSignal) -> TrendSignalPublic:
    return TrendSignalPublic(
        id=signal.id,
        keyword=signal.keyword,
        normalized_keyword=signal.normalized_keyword,
        aliases=list(signal.aliases or []),
        sources=dict(signal.sources or {}),
        metrics=dict(signal.metrics or {}),
        observations=signal.observations,
        score=round(signal.score, 3),
        components=dict(signal.score_components or {}),
        embedding_model=signal.embedding_model,
        first_seen=signal.first_seen,
        last_seen=signal.last_seen,
    )


async def describe_campaign(
    campaign: Campaign, *, temporal: Client, settings: Settings
) -> CampaignView:
    """The campaign as recorded; while it runs, its live progress."""
    status, outcomes = await trends.campaign_progress(campaign, temporal=temporal)
    return campaign_view(campaign, status, outcomes, settings=settings)


def recorded_campaign_view(campaign: Campaign, *, settings: Settings) -> CampaignView:
    """The campaign as recorded in Postgres, without asking its workflow: what a start
    answers (a query to a just-started run waits for a workflow worker, up to 3 s)."""
    outcomes = list(campaign.outcomes or [])
    return campaign_view(campaign, campaign.status, outcomes, settings=settings)


def campaign_view(
    campaign: Campaign, status: str, outcomes: list[dict[str, Any]], *, settings: Settings
) -> CampaignView:
    counted = [CampaignOutcomePublic(**outcome) for outcome in outcomes]
    return CampaignView(
        id=campaign.id,
        status=status,  # type: ignore[arg-type]  # one of the recorded statuses
        options=dict(campaign.options or {}),
        outcomes=counted,
        listings=sum(1 for o in counted if o.status == OutcomeStatus.COMPLETED),
        skipped=sum(1 for o in counted if o.status == OutcomeStatus.SKIPPED),
        failed=sum(1 for o in counted if o.status == OutcomeStatus.FAILED),
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        temporal_ui=workflow_ui_url(settings, campaign.id),
    )
