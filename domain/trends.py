"""What trend sources report: the value types the trend rules reason about.

Pure data with no I/O, below the payloads that carry them (`models.trends`) and the
rules that score and merge them (`domain.trend_score`, `domain.niches`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, get_args


class TrendSource(StrEnum):
    """Where a trend was seen (`external-apis.md` §4)."""

    GOOGLE_TRENDS = "google_trends"  # "trending now" RSS
    REDDIT = "reddit"  # subreddit listings
    PINTEREST = "pinterest"  # trending keywords v5
    ETSY = "etsy"  # findAllListingsActive: competition for a keyword


@dataclass
class ScrapedTrend:
    """One keyword as one source reported it, its numbers parsed and bounded.

    Metrics a source does not have stay None; the score treats a missing metric as
    neutral, not as zero.
    """

    source: str  # a TrendSource value
    keyword: str  # cleaned text, at most 200 characters
    traffic: float | None = None  # approximate searches (Google "500K+" → 500000)
    growth_pct: float | None = None  # percent growth over the source's period
    engagement: float | None = None  # upvotes + comments, or the latest interest index
    seasonal: bool = False  # the source says it rises with a yearly pattern
    observed_at: str | None = None  # ISO 8601 UTC, when the source dated it
    url: str | None = None  # where a person can see it (post, article)
    extra: dict[str, Any] = field(default_factory=dict)  # small source-specific facts


@dataclass
class Competition:
    """Etsy's active listings for one keyword: how crowded the niche is."""

    keyword: str
    listing_count: int  # Etsy's `count`: every active listing that matches
    sampled: int = 0  # listings in the page the numbers below come from
    median_price: float | None = None  # in the listings' currency units
    mean_favorers: float | None = None
    newest_listing_at: str | None = None  # ISO 8601 UTC


ALL_SOURCES: tuple[str, ...] = tuple(source.value for source in TrendSource)

# What Pinterest's trending-keywords endpoint accepts (`external-apis.md` §4).
Region = Literal[
    "US",
    "CA",
    "DE",
    "FR",
    "ES",
    "IT",
    "DE+AT+CH",
    "GB+IE",
    "IT+ES+PT+GR+MT",
    "PL+RO+HU+SK+CZ",
    "SE+DK+FI+NO",
    "NL+BE+LU",
    "AR",
    "BR",
    "CO",
    "MX",
    "MX+AR+CO+CL",
    "AU+NZ",
]
REGIONS: tuple[str, ...] = get_args(Region)
TrendType = Literal["growing", "monthly", "yearly", "seasonal"]
TREND_TYPES: tuple[str, ...] = get_args(TrendType)

# The sources by name, as requests spell them.
SourceName = Literal["google_trends", "reddit", "pinterest", "etsy"]
