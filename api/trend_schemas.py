"""Request and response models of the trend, scrape and campaign routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from api.pages import Page
from integrations.trends.pinterest import Region, TrendType

SourceName = Literal["google_trends", "reddit", "pinterest", "etsy"]
ALL_SOURCES: tuple[SourceName, ...] = ("google_trends", "reddit", "pinterest", "etsy")
# Reddit's rule for community names (3-21 letters, digits, underscores).
SUBREDDIT = r"^[A-Za-z0-9][A-Za-z0-9_]{2,20}$"
Subreddit = Annotated[str, StringConstraints(pattern=SUBREDDIT, max_length=21)]


class SourceOptionsIn(BaseModel):
    """What to ask each source for; every field bounded (each call spends a quota)."""

    model_config = ConfigDict(extra="forbid")

    google_geo: str = Field(default="US", pattern=r"^[A-Z]{2}$", max_length=2)
    reddit_subreddits: list[Subreddit] = Field(
        default_factory=lambda: ["etsy", "printondemand", "gifts", "CatsAreAssholes"],
        min_length=1,
        max_length=10,
    )
    reddit_listing: Literal["top", "hot", "new", "rising"] = "top"
    reddit_period: Literal["hour", "day", "week", "month", "year", "all"] = "day"
    reddit_pages: int = Field(default=1, ge=1, le=5)
    pinterest_region: Region = "US"
    pinterest_trend_type: TrendType = "growing"
    etsy_keywords: int = Field(default=20, ge=0, le=50)


class CampaignOptionsIn(BaseModel):
    """Which fresh signals become listings, and how many run at once."""

    model_config = ConfigDict(extra="forbid")

    top_k: int = Field(default=10, ge=1, le=50)
    concurrency: int = Field(default=3, ge=1, le=10)
    min_score: float = Field(default=0.0, ge=0, le=100)
    fresh_hours: int = Field(default=72, ge=1, le=24 * 30)
    template_id: uuid.UUID | None = None
    require_approval: bool = False


class ScrapeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[SourceName] = Field(
        default_factory=lambda: list(ALL_SOURCES),
        min_length=1,
        max_length=4,
    )
    options: SourceOptionsIn = Field(default_factory=SourceOptionsIn)

    @field_validator("sources")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class ScrapeStarted(BaseModel):
    """A scrape under way: one per tenant at a time (a second request joins it)."""

    workflow_id: str
    run_id: str | None = None
    started: bool  # false: a scrape of this tenant was already running and is returned
    temporal_ui: str


class TrendSignalPublic(BaseModel):
    """A trend signal: one niche, every source and day that saw it, and its score."""

    id: uuid.UUID
    keyword: str
    normalized_keyword: str
    aliases: list[str]
    sources: dict[str, Any]
    metrics: dict[str, Any]
    observations: int
    score: float
    components: dict[str, Any] = Field(
        description="How the score was made: each component's share (see ADR 0018)"
    )
    embedding_model: str | None
    first_seen: datetime
    last_seen: datetime


class TrendPage(Page[TrendSignalPublic]):
    pass


class SimilarTrend(BaseModel):
    signal: TrendSignalPublic
    similarity: float = Field(description="Cosine similarity of the two keywords' embeddings")
    same_niche: bool = Field(description="Whether the merge rule takes them for one niche")
    reason: str


class SimilarTrends(BaseModel):
    signal_id: uuid.UUID
    embedding_model: str | None
    data: list[SimilarTrend]


class CampaignOutcomePublic(BaseModel):
    signal_id: str
    keyword: str
    score: float
    status: Literal["pending", "running", "completed", "failed", "skipped"]
    reason: str | None = None
    workflow_id: str | None = None
    listing_url: str | None = None
    etsy_listing_id: int | None = None


class CampaignView(BaseModel):
    id: str
    status: Literal["running", "completed", "failed", "cancelled"]
    options: dict[str, Any]
    outcomes: list[CampaignOutcomePublic]
    listings: int
    skipped: int
    failed: int
    created_at: datetime
    updated_at: datetime
    temporal_ui: str
