"""Request and response models of the trend, scrape and campaign routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.pages import Page


class ScrapeStarted(BaseModel):
    """A scrape under way: one per tenant at a time (a second request joins it)."""

    workflow_id: str
    run_id: str | None = None
    started: bool  # false: a scrape of this tenant was already running and is returned
    temporal_ui: str
    self_url: str = Field(description="Where to follow it: `GET /v1/trends/scrapes/{id}`")


class ScrapeView(BaseModel):
    """A scrape: running, or how it ended and, once completed, what it stored."""

    workflow_id: str
    run_id: str | None = None
    status: Literal["running", "completed", "failed", "cancelled", "terminated", "timed_out"]
    started_at: datetime | None = None
    closed_at: datetime | None = None
    result: dict[str, Any] | None = Field(
        default=None,
        description="Once completed: each source's outcome, signals created and merged, "
        "and the campaign it asked for (if any)",
    )
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


class CampaignMoney(BaseModel):
    """What the campaign's listings earned and what its runs cost (failed ones too)."""

    orders: int
    units: int
    revenue_cents: int
    model_cost_cents: int
    margin_cents: int = Field(
        description="The orders' margins (after Printify and Etsy's fees) less the model cost"
    )


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
    money: CampaignMoney | None = Field(
        default=None, description="On `GET /v1/campaigns/{id}` only (not in the list)"
    )


class CampaignPage(Page[CampaignView]):
    pass
