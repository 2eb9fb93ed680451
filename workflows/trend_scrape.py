"""TrendScrapeWorkflow: every configured source, one upsert of the signals, Etsy's
competition for the best of them, a new score for all; optionally a campaign after.

A source that fails after its retries is reported in the result and the scrape goes on
with the others; only a failure to store anything fails the run.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.scrape import ScrapeActivities
    from activities.trends import TrendActivities, TrendRecords
    from core.settings import QUEUES
    from models.trends import (
        CampaignInput,
        CompetitionInput,
        CompetitionResult,
        ScrapeSourceInput,
        SourceBatch,
        SourceOutcome,
        StoreCompetitionInput,
        StoreSignalsInput,
        TrendScrapeInput,
        TrendScrapeResult,
        TrendSource,
    )
    from workflows.campaign import CampaignWorkflow
    from workflows.policies import SCRAPE, TREND_STORE, call_activity, failure_text

TENANT_ATTRIBUTE = SearchAttributeKey.for_keyword("TenantId")

# The activity that asks each keyword source for its trends.
SOURCE_ACTIVITIES: dict[str, Callable[[Any, ScrapeSourceInput], Awaitable[SourceBatch]]] = {
    TrendSource.GOOGLE_TRENDS: ScrapeActivities.google_trends,
    TrendSource.REDDIT: ScrapeActivities.reddit,
    TrendSource.PINTEREST: ScrapeActivities.pinterest,
}


@workflow.defn
class TrendScrapeWorkflow:
    """Scrape each source on `pod-scrape` (a failing source is reported, not fatal)."""

    @workflow.run
    async def run(self, request: TrendScrapeInput) -> TrendScrapeResult:
        result = TrendScrapeResult(tenant_id=request.tenant_id)
        keyword_sources = [s for s in request.sources if s in SOURCE_ACTIVITIES]
        answers = await asyncio.gather(
            *(
                call_activity(
                    SOURCE_ACTIVITIES[source],
                    ScrapeSourceInput(request.tenant_id, source, request.options),
                    "scrape",
                    SCRAPE,
                )
                for source in keyword_sources
            ),
            return_exceptions=True,
        )
        batches: list[SourceBatch] = []
        for source, answer in zip(keyword_sources, answers, strict=True):
            if isinstance(answer, SourceBatch):
                batches.append(answer)
                result.sources.append(
                    SourceOutcome(source, True, len(answer.trends), answer.skipped)
                )
            elif isinstance(answer, Exception):
                workflow.logger.warning("source %s failed: %s", source, failure_text(answer))
                result.sources.append(SourceOutcome(source, False, error=failure_text(answer)))
            else:  # a cancellation: not a source failure
                raise answer
        etsy = TrendSource.ETSY in request.sources
        stored = await call_activity(
            TrendActivities.store_signals,
            StoreSignalsInput(
                request.tenant_id,
                batches,
                competition_limit=request.options.etsy_keywords if etsy else 0,
            ),
            "ideation",
            TREND_STORE,
        )
        result.created, result.merged = stored.created, stored.merged
        measured = CompetitionResult()
        if etsy:
            measured = await self._competition(request, stored.needs_competition, result)
        await call_activity(
            TrendRecords.store_competition,
            StoreCompetitionInput(request.tenant_id, measured.measured),
            "records",
            TREND_STORE,  # rescoring a large tenant takes longer than a plain write
        )
        if request.campaign is not None:
            result.campaign_id = await self._start_campaign(request)
        return result

    async def _competition(
        self, request: TrendScrapeInput, needed: list[Any], result: TrendScrapeResult
    ) -> CompetitionResult:
        if not needed:
            result.sources.append(SourceOutcome(TrendSource.ETSY, True, 0))
            return CompetitionResult()
        try:
            measured = await call_activity(
                ScrapeActivities.etsy_competition,
                CompetitionInput(request.tenant_id, needed),
                "scrape",
                SCRAPE,
            )
        except ActivityError as exc:
            workflow.logger.warning("source etsy failed: %s", failure_text(exc))
            result.sources.append(SourceOutcome(TrendSource.ETSY, False, error=failure_text(exc)))
            return CompetitionResult()
        result.sources.append(
            SourceOutcome(TrendSource.ETSY, True, len(measured.measured), measured.skipped)
        )
        return measured

    async def _start_campaign(self, request: TrendScrapeInput) -> str:
        """A campaign on the fresh signals, left running on its own (ABANDON): a listing
        half-made is finished, not cut off, when the scrape's run ends."""
        assert request.campaign is not None
        scrape_id = workflow.info().workflow_id
        digest = hashlib.sha256(scrape_id.encode()).hexdigest()[:24]
        campaign_id = f"cmp-{request.tenant_id}-{digest}"
        await workflow.start_child_workflow(
            CampaignWorkflow.run,
            CampaignInput(
                tenant_id=request.tenant_id,
                campaign_id=campaign_id,
                request_key=f"scrape:{scrape_id}",
                options=request.campaign,
            ),
            id=campaign_id,
            task_queue=QUEUES["workflows"],
            parent_close_policy=ParentClosePolicy.ABANDON,
            execution_timeout=timedelta(days=7),
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(TENANT_ATTRIBUTE, request.tenant_id)]
            ),
        )
        return campaign_id
