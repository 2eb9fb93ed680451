"""Scrape activities (`pod-scrape` queue): one per trend source, and Etsy's competition
numbers for the keywords a scrape stored. Slow, flaky network lives here alone."""

from __future__ import annotations

import logging

from temporalio import activity

from activities.errors import vendor_failure
from activities.heartbeat import heartbeating
from integrations.errors import VendorError
from integrations.trends import TrendSources
from models.trends import (
    CompetitionInput,
    CompetitionResult,
    MeasuredCompetition,
    ScrapeSourceInput,
    SourceBatch,
    TrendSource,
)

logger = logging.getLogger(__name__)


class ScrapeActivities:
    """The trend sources of one worker process, asked on behalf of a tenant's scrape."""

    def __init__(self, sources: TrendSources) -> None:
        self._sources = sources

    async def _fetch(self, data: ScrapeSourceInput, source: TrendSource) -> SourceBatch:
        try:
            batch = await heartbeating(
                self._sources.fetch(source, data.options), f"asking {source}"
            )
        except VendorError as exc:
            raise vendor_failure(exc) from exc
        for reason in batch.skipped:
            logger.warning("%s for %s skipped: %s", source, data.tenant_id, reason)
        return batch

    @activity.defn(name="scrape.google_trends")
    async def google_trends(self, data: ScrapeSourceInput) -> SourceBatch:
        """Google Trends "trending now" for the tenant's geo (cached a few minutes)."""
        return await self._fetch(data, TrendSource.GOOGLE_TRENDS)

    @activity.defn(name="scrape.reddit")
    async def reddit(self, data: ScrapeSourceInput) -> SourceBatch:
        """The tenant's subreddits' listing, page by page."""
        return await self._fetch(data, TrendSource.REDDIT)

    @activity.defn(name="scrape.pinterest")
    async def pinterest(self, data: ScrapeSourceInput) -> SourceBatch:
        """Pinterest's trending keywords for the tenant's region and trend type."""
        return await self._fetch(data, TrendSource.PINTEREST)

    @activity.defn(name="scrape.etsy_competition")
    async def etsy_competition(self, data: CompetitionInput) -> CompetitionResult:
        """Etsy's active listings per keyword. A keyword Etsy refuses is skipped with the
        reason; an error that no keyword can pass (credentials, outage) fails the call."""
        result = CompetitionResult()
        for request in data.requests:
            try:
                found = await heartbeating(
                    self._sources.etsy.competition(request.keyword), "asking Etsy"
                )
            except VendorError as exc:
                if not exc.retryable and exc.status not in (401, 403):
                    result.skipped.append(f"{request.keyword!r}: {exc.code} {exc.message}")
                    continue
                raise vendor_failure(exc) from exc
            result.measured.append(MeasuredCompetition(request.signal_id, found))
        return result
