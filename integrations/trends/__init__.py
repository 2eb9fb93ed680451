"""Clients of the trend sources (`external-apis.md` §4), one module each.

- `google_trends`: Google Trends "trending now" RSS, cached per geo;
- `reddit`: subreddit listings, post titles turned into niche keywords;
- `pinterest`: Pinterest v5 trending keywords;
- `etsy_search`: Etsy active listings per keyword, the competition signal.

`build_trend_sources` builds all four from the settings, once per worker process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.settings import Settings
from domain.trends import TrendSource
from integrations.http import Limit
from integrations.trends.etsy_search import EtsySearchClient
from integrations.trends.google_trends import GoogleTrendsClient
from integrations.trends.pinterest import PinterestTrendsClient
from integrations.trends.reddit import RedditClient
from models.trends import SourceBatch, SourceOptions


@dataclass
class TrendSources:
    """The four trend-source clients of one process."""

    google: GoogleTrendsClient
    reddit: RedditClient
    pinterest: PinterestTrendsClient
    etsy: EtsySearchClient

    async def fetch(self, source: str, options: SourceOptions) -> SourceBatch:
        """One source's trends as `options` ask for them (Etsy has no trends of its own:
        ask `etsy.competition` per keyword)."""
        match source:
            case TrendSource.GOOGLE_TRENDS:
                return await self.google.trending(options.google_geo)
            case TrendSource.REDDIT:
                return await self.reddit.listing(
                    options.reddit_subreddits,
                    listing=options.reddit_listing,
                    period=options.reddit_period,
                    pages=options.reddit_pages,
                )
            case TrendSource.PINTEREST:
                return await self.pinterest.top_keywords(
                    options.pinterest_region, options.pinterest_trend_type
                )
        raise ValueError(f"{source!r} is not a source of trends")

    async def aclose(self) -> None:
        """Close every client's connections."""
        for client in (self.google, self.reddit, self.pinterest, self.etsy):
            await client.aclose()


def build_trend_sources(
    settings: Settings, *, etsy_limits: Sequence[Limit] | None = None
) -> TrendSources:
    """The four clients from the settings. `etsy_limits` are the app's Etsy limits shared
    with the other Etsy clients of the process (search spends the same quota); without
    them the search client keeps its own at `ETSY_RATE_PER_SECOND`."""
    timeout = settings.http_timeout_seconds
    return TrendSources(
        google=GoogleTrendsClient(
            base_url=settings.google_trends_url,
            rate_per_minute=settings.google_trends_rate_per_minute,
            cache_seconds=settings.google_trends_cache_seconds,
            user_agent=settings.user_agent,
            timeout=timeout,
        ),
        reddit=RedditClient(
            base_url=settings.reddit_url,
            user_agent=settings.reddit_user_agent,
            rate_per_minute=settings.reddit_rate_per_minute,
            timeout=timeout,
        ),
        pinterest=PinterestTrendsClient(
            base_url=settings.pinterest_url,
            access_token=settings.pinterest_access_token.get_secret_value(),
            rate_per_second=settings.pinterest_rate_per_second,
            user_agent=settings.user_agent,
            timeout=timeout,
        ),
        etsy=EtsySearchClient(
            base_url=settings.etsy_url,
            keystring=settings.etsy_keystring.get_secret_value(),
            shared_secret=settings.etsy_shared_secret.get_secret_value(),
            rate_per_second=settings.etsy_rate_per_second,
            limits=etsy_limits,
            user_agent=settings.user_agent,
            timeout=timeout,
        ),
    )


__all__ = [
    "EtsySearchClient",
    "GoogleTrendsClient",
    "PinterestTrendsClient",
    "RedditClient",
    "TrendSources",
    "build_trend_sources",
]
