"""Starting scrapes and campaigns, and reading a running campaign's progress."""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.common import (
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core.settings import Settings
from domain import errors
from domain.errors import DomainError
from models import repositories
from models.requests import CampaignOptionsIn, ScrapeRequest, body_digest, source_options
from models.tables import Campaign
from models.trends import (
    CampaignInput,
    CampaignOptions,
    TrendScrapeInput,
    TrendScrapeResult,
)
from services import billing
from services.runs import (
    QUERY_TIMEOUT,
    listing_target,
    resolve_template,
    start_once,
    temporal_unavailable,
)
from services.vendors import VendorGateway
from workflows.campaign import CampaignWorkflow
from workflows.contract import (
    TENANT_ATTRIBUTE,
    WORKFLOW_QUEUE,
    on_demand_scrape_id,
    run_workflow_id,
    tenant_attributes,
)
from workflows.trend_scrape import TrendScrapeWorkflow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartedScrape:
    workflow_id: str
    run_id: str | None
    started: bool  # False: the tenant's running scrape was joined


async def start_scrape(
    *, temporal: Client, settings: Settings, tenant_id: str, body: ScrapeRequest
) -> StartedScrape:
    """Start a scrape now, unless one of this tenant's on-demand scrapes is running."""
    workflow_id = on_demand_scrape_id(tenant_id)
    request = TrendScrapeInput(
        tenant_id=tenant_id,
        request_key="now",
        sources=list(body.sources),
        options=source_options(body.options),
    )
    await _ensure_cooled_down(temporal, workflow_id, settings.trend_scrape_cooldown_seconds)
    try:
        handle = await temporal.start_workflow(
            TrendScrapeWorkflow.run,
            request,
            id=workflow_id,
            task_queue=WORKFLOW_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=tenant_attributes(tenant_id),
            static_summary=f"trend scrape of {', '.join(body.sources)}, tenant {tenant_id}",
        )
        run_id, started = handle.result_run_id, True
    except WorkflowAlreadyStartedError as running:
        run_id, started = running.run_id, False
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNAVAILABLE:
            raise
        raise temporal_unavailable() from None
    return StartedScrape(workflow_id, run_id, started)


@dataclass(frozen=True)
class ScrapeState:
    """A scrape as Temporal knows it: its status and, once it completed, its report."""

    workflow_id: str
    run_id: str | None
    status: str  # running, completed, failed, cancelled, terminated, timed_out
    started_at: datetime | None
    closed_at: datetime | None
    result: TrendScrapeResult | None


_SCRAPE_STATUS = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "running",
}


async def scrape_state(
    *, temporal: Client, tenant_id: str, workflow_id: str, run_id: str | None = None
) -> ScrapeState:
    """One of the tenant's scrapes (on demand or scheduled), by the workflow id its start
    or schedule named; 404 `SCRAPE_NOT_FOUND` for another tenant's or another workflow."""
    try:
        described = await temporal.get_workflow_handle(workflow_id, run_id=run_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.UNAVAILABLE:
            raise temporal_unavailable("the scrape's state is unknown for now") from None
        described = None
    if (
        described is None
        or described.workflow_type != TrendScrapeWorkflow.__name__
        or described.typed_search_attributes.get(TENANT_ATTRIBUTE) != tenant_id
    ):
        raise DomainError(errors.SCRAPE_NOT_FOUND, "no such scrape in this tenant")
    status = _SCRAPE_STATUS.get(described.status, "running") if described.status else "running"
    result = None
    if status == "completed":
        result = await temporal.get_workflow_handle(
            workflow_id, run_id=described.run_id, result_type=TrendScrapeResult
        ).result()
    return ScrapeState(
        workflow_id=workflow_id,
        run_id=described.run_id,
        status=status,
        started_at=described.start_time,
        closed_at=described.close_time,
        result=result,
    )


async def _ensure_cooled_down(temporal: Client, workflow_id: str, cooldown: int) -> None:
    """429 `SCRAPE_TOO_SOON` when the tenant's last on-demand scrape ended (or began)
    less than `cooldown` seconds ago; a running one is joined, not refused."""
    try:
        described = await temporal.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.UNAVAILABLE:
            raise temporal_unavailable() from None
        return  # never scraped on demand
    if described.status == WorkflowExecutionStatus.RUNNING or cooldown == 0:
        return
    last = described.close_time or described.start_time
    wait = cooldown - (datetime.now(UTC) - last).total_seconds()
    if wait > 0:
        raise DomainError(
            errors.SCRAPE_TOO_SOON,
            "this tenant scraped moments ago; the sources' quotas are shared",
            {"retry_after_seconds": math.ceil(wait), "last_scrape": workflow_id},
            retry_after=wait,
        )


async def start_campaign(
    *,
    session: AsyncSession,
    temporal: Client,
    vendors: VendorGateway,
    tenant_id: str,
    key: str,
    body: CampaignOptionsIn,
) -> tuple[Campaign, bool]:
    """Record the campaign once per key and start its workflow once; (campaign, created).

    A new one must fit the plan (402) and needs both integrations and a decided choice of
    the Etsy shop's profiles for its template (409); the outcome of each signal is decided
    by the workflow.
    """
    digest = body_digest(body.model_dump(mode="json"))
    campaign_id = run_workflow_id("campaign", tenant_id, key)
    campaign = await session.get(Campaign, campaign_id)
    created = False
    if campaign is None:
        await repositories.accounts.lock_tenant(session, tenant_id=tenant_id)
        campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        await billing.ensure_can_start_workflow(session, tenant_id=tenant_id)
        # 422 TEMPLATE_NOT_FOUND and the 409s of the listing target now, not per signal.
        template = await resolve_template(session, tenant_id, template_id=body.template_id)
        await listing_target(session, vendors, tenant_id=tenant_id, template=template)
        campaign = Campaign(
            id=campaign_id,
            tenant_id=tenant_id,
            request_key=key,
            request_hash=digest,
            options=body.model_dump(mode="json"),
            outcomes=[],
        )
        session.add(campaign)
        created = True
    await session.commit()
    if campaign.tenant_id != tenant_id or campaign.request_hash != digest:
        raise DomainError(
            errors.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was used with a different request body",
            {"campaign_id": campaign_id},
        )
    options = CampaignOptions(**(campaign.options or {}))

    async def forget() -> None:
        await session.delete(campaign)
        await session.commit()

    await start_once(
        temporal,
        CampaignWorkflow.run,
        CampaignInput(tenant_id, campaign_id, key, options),
        workflow_id=campaign_id,
        tenant_id=tenant_id,
        forget=forget if created else None,
        summary=f"campaign {key} → listings, tenant {tenant_id}",
    )
    return campaign, created


async def campaign_progress(
    campaign: Campaign, *, temporal: Client
) -> tuple[str, list[dict[str, Any]]]:
    """(status, outcomes) of the campaign: as recorded; while it runs, its live `state`. A
    run that ended without recording it (terminated, timed out) shows as failed, never as
    running for ever."""
    outcomes: list[dict[str, Any]] = list(campaign.outcomes or [])
    status = campaign.status
    if status == "running":
        handle = temporal.get_workflow_handle_for(CampaignWorkflow.run, campaign.id)
        # Without a workflow worker the query cannot answer: the record is shown then.
        with contextlib.suppress(RPCError, WorkflowQueryFailedError):
            described = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
            if described.status == WorkflowExecutionStatus.RUNNING:
                state = await handle.query(CampaignWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
                outcomes = [asdict(outcome) for outcome in state.outcomes] or outcomes
            elif described.status == WorkflowExecutionStatus.CANCELED:
                status = "cancelled"
            elif described.status != WorkflowExecutionStatus.COMPLETED:
                status = "failed"
    return status, outcomes
