"""Campaign activities (`pod-records`): choose the signals, record each listing run before
it starts (plan quota and integrations checked as for an API start), keep the outcomes."""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import asdict
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.providers import build_local_screen, tenant_names
from core.db import SessionFactory
from core.settings import Settings
from domain.errors import DomainError
from domain.niches import normalise_keyword, same_niche
from domain.performance import POOR_SALES
from integrations.embeddings import threshold_for_model
from integrations.errors import VendorError
from integrations.ip_screen import IpMatcher
from integrations.safety import ContentScreen
from models import repositories
from models.payloads import (
    DesignToListingInput,
    ProductTemplate,
    RunKind,
)
from models.repositories import NotFoundError
from models.requests import body_digest, recorded_input
from models.tables import Campaign, TrendSignal, utcnow
from models.trends import (
    CampaignInput,
    CampaignOutcome,
    CampaignPlan,
    OutcomeStatus,
    PreparedListingRun,
    PrepareListingRunInput,
    RecordCampaignInput,
)
from services import billing, shop_setup
from services.runs import ListingTarget, listing_target
from services.vendors import VendorGateway
from workflows.contract import PLAN_CAMPAIGN, PREPARE_LISTING_RUN, RECORD_CAMPAIGN, run_workflow_id

logger = logging.getLogger(__name__)
# Briefs compared with each chosen signal (nearest first).
BRIEF_NEIGHBOURS = 5
# A campaign reads at most this many times `top_k` signals looking for listable ones.
SCAN_FACTOR = 5


def signal_request_key(signal_id: str) -> str:
    """The one request key of a signal's listing run, whichever campaign asks: a second
    campaign finds the first's run instead of making another listing. (The `/` keeps it
    apart from any client's Idempotency-Key, which may not contain one.)"""
    return f"campaign/trend/{signal_id}"


def _similarity(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def poor_sales(signal: TrendSignal) -> str | None:
    """Why a niche whose listings did not sell is passed over (its performance, set by
    the order sync from its listings' sales, is at most `POOR_SALES`; ADR 0031)."""
    metrics = signal.metrics or {}
    performance = metrics.get("performance")
    if not isinstance(performance, int | float) or performance > POOR_SALES:
        return None
    sales = metrics.get("sales") or {}
    return (
        f"POOR_SALES: the niche's {sales.get('listings', 0)} listing(s) sold "
        f"{sales.get('orders', 0)} order(s), against {sales.get('norm', 0)} per listing "
        "in the shop"
    )


class CampaignActivities:
    """The database side of `CampaignWorkflow`."""

    def __init__(
        self, sessions: SessionFactory, settings: Settings, vendors: VendorGateway | None = None
    ) -> None:
        """`vendors` reads an Etsy shop's setup that was never read (a schedule's campaign
        starts without a request that would have); without it such a signal is skipped."""
        self._sessions = sessions
        self._settings = settings
        self._vendors = vendors
        self._screen: ContentScreen | None = None  # built at first use (a worker's lists)

    @activity.defn(name=PLAN_CAMPAIGN.name)
    async def plan_campaign(self, request: CampaignInput) -> CampaignPlan:
        """The best fresh signals until `top_k` of them are chosen for a listing, each
        signal passed over on the way recorded as skipped with the reason (its niche has a
        brief, it names a protected name, ...). At most `SCAN_FACTOR` times `top_k`
        signals are read, so a tenant whose best signals are all covered still gets a
        quick answer."""
        options = request.options
        now = utcnow()
        own_names = await tenant_names(self._sessions, request.tenant_id)
        chosen: list[TrendSignal] = []
        outcomes: list[CampaignOutcome] = []
        async with self._sessions() as session:
            await self._record_start(session, request)
            offset, budget = 0, options.top_k * SCAN_FACTOR
            while len(chosen) < options.top_k and offset < budget:
                page = min(options.top_k * 2, budget - offset)
                signals, _ = await repositories.trends.list_signals(
                    session,
                    tenant_id=request.tenant_id,
                    min_score=options.min_score,
                    since=now - timedelta(hours=options.fresh_hours),
                    limit=page,
                    offset=offset,
                    with_vectors=True,  # compared with the briefs' and each other's
                )
                offset += len(signals)
                for signal in signals:
                    if len(chosen) == options.top_k:
                        break
                    reason = await self._screened_out(signal, own_names)
                    if reason is None:
                        reason = poor_sales(signal)
                    if reason is None:
                        reason = await self._duplicate_of(
                            session, request.tenant_id, signal, chosen
                        )
                    outcomes.append(
                        CampaignOutcome(
                            signal_id=str(signal.id),
                            keyword=signal.keyword,
                            score=round(signal.score, 2),
                            status=OutcomeStatus.SKIPPED if reason else OutcomeStatus.PENDING,
                            reason=reason,
                        )
                    )
                    if reason is None:
                        chosen.append(signal)
                if len(signals) < page:
                    break  # no more fresh signals
            await session.commit()
        return CampaignPlan(outcomes)

    async def _screened_out(self, signal: TrendSignal, own_names: IpMatcher | None) -> str | None:
        """Why the signal's keyword may not become a listing: the local lists refuse it."""
        if self._screen is None:
            self._screen = build_local_screen(self._settings)
        verdict = await self._screen.check({"keyword": signal.keyword}, own_names, moderate=False)
        return None if verdict.safe else f"UNSAFE_CONTENT: {verdict.summary()}"

    async def _duplicate_of(
        self, session: AsyncSession, tenant_id: str, signal: TrendSignal, chosen: list[TrendSignal]
    ) -> str | None:
        """Why a listing for `signal` would repeat one the tenant has or is making."""
        keyword = signal.normalized_keyword
        threshold = threshold_for_model(self._settings, signal.embedding_model)
        if signal.embedding is not None and signal.embedding_model is not None:
            vector = list(signal.embedding)
            briefs = await repositories.trends.nearest_briefs(
                session,
                tenant_id=tenant_id,
                embedding=vector,
                model=signal.embedding_model,
                limit=BRIEF_NEIGHBOURS,
            )
            for brief, similarity in briefs:
                match = same_niche(keyword, normalise_keyword(brief.keyword), similarity, threshold)
                if match.same:
                    return (
                        f"near-duplicate of brief {brief.id} ('{brief.keyword}',"
                        f" similarity {similarity:.2f}): {match.reason}"
                    )
        for other in chosen:
            similarity = (
                _similarity(list(signal.embedding), list(other.embedding))
                if signal.embedding is not None
                and other.embedding is not None
                and signal.embedding_model == other.embedding_model
                else 0.0
            )
            match = same_niche(keyword, other.normalized_keyword, similarity, threshold)
            if match.same:
                return f"near-duplicate of '{other.keyword}' in this campaign: {match.reason}"
        return None

    async def _record_start(self, session: AsyncSession, request: CampaignInput) -> None:
        """The campaign's record, made here when a schedule (not the API) started it."""
        found = await session.get(Campaign, request.campaign_id)
        if found is None:
            session.add(
                Campaign(
                    id=request.campaign_id,
                    tenant_id=request.tenant_id,
                    request_key=request.request_key,
                    request_hash=body_digest(asdict(request.options)),
                    options=asdict(request.options),
                    outcomes=[],
                )
            )

    @activity.defn(name=PREPARE_LISTING_RUN.name)
    async def prepare_listing_run(self, data: PrepareListingRunInput) -> PreparedListingRun:
        """Record the signal's design-to-listing run, as an API start would (quota,
        integrations, template); or say why it may not start."""
        request_key = signal_request_key(data.signal_id)
        workflow_id = run_workflow_id(RunKind.DESIGN_TO_LISTING, data.tenant_id, request_key)
        digest = body_digest({"campaign": data.campaign_id, "signal": data.signal_id})
        async with self._sessions() as session:
            await repositories.accounts.lock_tenant(session, tenant_id=data.tenant_id)
            run = await repositories.runs.get_run_by_request_key(
                session, tenant_id=data.tenant_id, request_key=request_key
            )
            if run is not None and run.request_hash != digest:
                return PreparedListingRun(
                    workflow_id=run.workflow_id,
                    status=run.status,
                    skipped_reason=(
                        f"this signal already has a listing run ({run.status}): {run.workflow_id}"
                    ),
                )
            if run is None:
                refusal = await self._refusal(session, data.tenant_id)
                if refusal is not None:  # no run is recorded, so none is named
                    return PreparedListingRun(skipped_reason=refusal)
                try:
                    workflow_input = await self._input(session, data, request_key)
                except NotFoundError:
                    return PreparedListingRun(
                        skipped_reason=f"TEMPLATE_NOT_FOUND: no template {data.template_id}"
                    )
                except DomainError as exc:  # the Etsy shop's profiles: no choice made
                    return PreparedListingRun(skipped_reason=f"{exc.code}: {exc.message}")
                except VendorError as exc:
                    if exc.retryable:
                        raise
                    return PreparedListingRun(skipped_reason=f"{exc.code}: {exc.message}")
                run, _ = await repositories.runs.create_run_if_absent(
                    session,
                    repositories.runs.new_run(
                        tenant_id=data.tenant_id,
                        workflow_id=workflow_id,
                        kind=RunKind.DESIGN_TO_LISTING,
                        request_key=request_key,
                        request_hash=digest,
                        workflow_input=workflow_input,
                    ),
                )
            await session.commit()
            # This campaign's own run (a retry after the commit above starts it too).
            return PreparedListingRun(
                workflow_id=run.workflow_id,
                created=True,
                status=run.status,
                input=asdict(recorded_input(run)),
            )

    async def _refusal(self, session: AsyncSession, tenant_id: str) -> str | None:
        try:
            await billing.ensure_can_start_workflow(
                session,
                tenant_id=tenant_id,
                kind=RunKind.DESIGN_TO_LISTING,
            )
        except billing.QuotaExceeded as exc:
            return f"QUOTA_EXCEEDED: {exc}"
        # Etsy is needed only by a custom Printify shop: `_input` checks it with the target.
        vendors = ("printify",) if self._vendors is not None else ("printify", "etsy")
        for vendor in vendors:
            integration = await repositories.integrations.find_integration(
                session,
                tenant_id=tenant_id,
                vendor=vendor,
            )
            if integration is None or integration.status != "active":
                return f"INTEGRATION_REQUIRED: connect a {vendor} integration first"
        return None

    async def _input(
        self, session: AsyncSession, data: PrepareListingRunInput, request_key: str
    ) -> DesignToListingInput:
        if data.template_id:
            saved = await repositories.templates.get_template(
                session,
                tenant_id=data.tenant_id,
                template_id=uuid.UUID(data.template_id),
            )
            template = repositories.templates.template_from_record(saved)
        else:
            default = await repositories.templates.get_default_template(
                session,
                tenant_id=data.tenant_id,
            )
            template = (
                repositories.templates.template_from_record(default)
                if default
                else ProductTemplate()
            )
        target = await self._target(session, data.tenant_id, template)
        return DesignToListingInput(
            tenant_id=data.tenant_id,
            request_key=request_key,
            keyword=" ".join(data.keyword.split()),
            printify_integration_id=target.printify_integration_id,
            etsy_integration_id=target.etsy_integration_id,
            template=template,
            require_approval=data.require_approval,
            trend_signal_id=data.signal_id,
            etsy_listing=target.etsy_listing,
            printify_channel=target.channel,
        )

    async def _target(
        self, session: AsyncSession, tenant_id: str, template: ProductTemplate
    ) -> ListingTarget:
        """Where the run lists (as an API request would be refused, when it cannot be);
        without vendor clients, a custom shop's with the Etsy setup already read."""
        if self._vendors is not None:
            return await listing_target(
                session, self._vendors, tenant_id=tenant_id, template=template
            )
        rows = {}
        for vendor in ("printify", "etsy"):
            found = await repositories.integrations.find_integration(
                session, tenant_id=tenant_id, vendor=vendor
            )
            assert found is not None  # `_refusal` checked both
            rows[vendor] = found
        setup = shop_setup.chosen_setup(rows["etsy"], template)
        return ListingTarget(str(rows["printify"].id), str(rows["etsy"].id), "", setup)

    @activity.defn(name=RECORD_CAMPAIGN.name)
    async def record_campaign(self, data: RecordCampaignInput) -> None:
        async with self._sessions() as session:
            campaign = await session.get(Campaign, data.campaign_id)
            if campaign is None or campaign.tenant_id != data.tenant_id:
                raise NotFoundError("campaign", data.campaign_id)
            campaign.status = data.status
            campaign.outcomes = [asdict(outcome) for outcome in data.outcomes]
            campaign.updated_at = utcnow()
            await session.commit()
