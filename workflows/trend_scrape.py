"""TrendScrapeWorkflow: every configured source, one upsert of the signals, Etsy's
competition for the best of them, a new score for all; optionally a campaign after.

A source that fails after its retries is reported in the result and the scrape goes on
with the others; only a failure to store anything fails the run.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain.trends import TrendSource
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
    )
    from workflows.campaign import CampaignWorkflow
    from workflows.contract import (
        ETSY_COMPETITION,
        SCRAPE_GOOGLE_TRENDS,
        SCRAPE_PINTEREST,
        SCRAPE_REDDIT,
        STORE_COMPETITION,
        STORE_SIGNALS,
        WORKFLOW_QUEUE,
        ActivityDef,
        call,
        scrape_campaign_id,
        tenant_attributes,
    )
    from workflows.failures import failure_text


# The activity that asks each keyword source for its trends.
SOURCE_ACTIVITIES: dict[str, ActivityDef[ScrapeSourceInput, SourceBatch]] = {
    TrendSource.GOOGLE_TRENDS: SCRAPE_GOOGLE_TRENDS,
    TrendSource.REDDIT: SCRAPE_REDDIT,
    TrendSource.PINTEREST: SCRAPE_PINTEREST,
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
                call(
                    SOURCE_ACTIVITIES[source],
                    ScrapeSourceInput(request.tenant_id, source, request.options),
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
        stored = await call(
            STORE_SIGNALS,
            StoreSignalsInput(
                request.tenant_id,
                batches,
                competition_limit=request.options.etsy_keywords if etsy else 0,
            ),
        )
        result.created, result.merged = stored.created, stored.merged
        measured = CompetitionResult()
        if etsy:
            measured = await self._competition(request, stored.needs_competition, result)
        await call(STORE_COMPETITION, StoreCompetitionInput(request.tenant_id, measured.measured))
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
            measured = await call(ETSY_COMPETITION, CompetitionInput(request.tenant_id, needed))
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
        campaign_id = scrape_campaign_id(request.tenant_id, scrape_id)
        await workflow.start_child_workflow(
            CampaignWorkflow.run,
            CampaignInput(
                tenant_id=request.tenant_id,
                campaign_id=campaign_id,
                request_key=f"scrape:{scrape_id}",
                options=request.campaign,
            ),
            id=campaign_id,
            task_queue=WORKFLOW_QUEUE,
            parent_close_policy=ParentClosePolicy.ABANDON,
            execution_timeout=timedelta(days=7),
            search_attributes=tenant_attributes(request.tenant_id),
        )
        return campaign_id
