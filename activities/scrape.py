"""Scrape activities (`pod-scrape` queue): one per trend source, and Etsy's competition
numbers for the keywords a scrape stored. Slow, flaky network lives here alone."""

from __future__ import annotations

import logging

from temporalio import activity

from activities.heartbeat import heartbeating
from domain.trends import TrendSource
from integrations.errors import VendorError
from integrations.trends import TrendSources
from models.trends import (
    CompetitionInput,
    CompetitionResult,
    MeasuredCompetition,
    ScrapeSourceInput,
    SourceBatch,
)
from workflows.contract import (
    ETSY_COMPETITION,
    SCRAPE_GOOGLE_TRENDS,
    SCRAPE_PINTEREST,
    SCRAPE_REDDIT,
)

logger = logging.getLogger(__name__)
# A source's answer travels in the workflow's history (2 MB a payload at most): a feed
# gone wild is cut here, with a note of how much was dropped.
MAX_TRENDS = 500
MAX_SKIPPED = 50


def bounded(batch: SourceBatch) -> SourceBatch:
    """At most MAX_TRENDS trends and MAX_SKIPPED reasons, saying what was cut."""
    skipped = batch.skipped[:MAX_SKIPPED]
    if len(batch.skipped) > MAX_SKIPPED:
        skipped.append(f"and {len(batch.skipped) - MAX_SKIPPED} more skipped")
    if len(batch.trends) > MAX_TRENDS:
        skipped.append(f"{len(batch.trends) - MAX_TRENDS} trends beyond the first {MAX_TRENDS}")
    return SourceBatch(batch.source, batch.trends[:MAX_TRENDS], skipped)


class ScrapeActivities:
    """The trend sources of one worker process, asked on behalf of a tenant's scrape."""

    def __init__(self, sources: TrendSources) -> None:
        self._sources = sources

    async def _fetch(self, data: ScrapeSourceInput, source: TrendSource) -> SourceBatch:
        batch = await heartbeating(self._sources.fetch(source, data.options), f"asking {source}")
        for reason in batch.skipped[:MAX_SKIPPED]:
            logger.warning("%s for %s skipped: %s", source, data.tenant_id, reason)
        return bounded(batch)

    @activity.defn(name=SCRAPE_GOOGLE_TRENDS.name)
    async def google_trends(self, data: ScrapeSourceInput) -> SourceBatch:
        """Google Trends "trending now" for the tenant's geo (cached a few minutes)."""
        return await self._fetch(data, TrendSource.GOOGLE_TRENDS)

    @activity.defn(name=SCRAPE_REDDIT.name)
    async def reddit(self, data: ScrapeSourceInput) -> SourceBatch:
        """The tenant's subreddits' listing, page by page."""
        return await self._fetch(data, TrendSource.REDDIT)

    @activity.defn(name=SCRAPE_PINTEREST.name)
    async def pinterest(self, data: ScrapeSourceInput) -> SourceBatch:
        """Pinterest's trending keywords for the tenant's region and trend type."""
        return await self._fetch(data, TrendSource.PINTEREST)

    @activity.defn(name=ETSY_COMPETITION.name)
    async def etsy_competition(self, data: CompetitionInput) -> CompetitionResult:
        """Etsy's active listings per keyword. A keyword Etsy refuses is skipped with the
        reason; when Etsy stays busy or down (after the client's own retries) the numbers
        so far are kept and the rest skipped, so no look-up is paid for twice; refused
        credentials fail the call."""
        result = CompetitionResult()
        for index, request in enumerate(data.requests):
            try:
                found = await heartbeating(
                    self._sources.etsy.competition(request.keyword), "asking Etsy"
                )
            except VendorError as exc:
                if exc.status in (401, 403):
                    raise
                if not exc.retryable:
                    result.skipped.append(f"{request.keyword!r}: {exc.code} {exc.message}")
                    continue
                left = len(data.requests) - index
                result.skipped.append(f"{left} keywords not looked up: {exc.code} {exc.message}")
                break
            result.measured.append(MeasuredCompetition(request.signal_id, found))
        return result
