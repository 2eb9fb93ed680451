"""Payloads of the trend service: what sources report, what scrapes and campaigns take.

Plain dataclasses like `models.payloads`, shared by the API, the scrape and campaign
workflows and their activities; new fields get defaults so running workflows keep working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from domain.trends import ALL_SOURCES, Competition, ScrapedTrend


@dataclass
class SourceBatch:
    """One source's answer for one scrape: trends, and why anything was left out."""

    source: str
    trends: list[ScrapedTrend] = field(default_factory=list)
    # Human-readable reasons for every feed, page or item skipped (also logged).
    skipped: list[str] = field(default_factory=list)


@dataclass
class SourceOptions:
    """What a tenant's scrape asks each source for (bounded by the API's schema)."""

    google_geo: str = "US"
    reddit_subreddits: list[str] = field(
        default_factory=lambda: ["etsy", "printondemand", "gifts", "CatsAreAssholes"]
    )
    reddit_listing: str = "top"  # top | hot | new | rising
    reddit_period: str = "day"  # hour | day | week | month | year | all (for top)
    reddit_pages: int = 1  # pages of up to 100 posts, followed by `after`
    pinterest_region: str = "US"
    pinterest_trend_type: str = "growing"  # growing | monthly | yearly | seasonal
    # Etsy competition look-ups per scrape; each spends Etsy's per-app daily quota.
    etsy_keywords: int = 20


@dataclass
class CampaignOptions:
    """Which fresh signals a campaign turns into listings, and how many at once."""

    top_k: int = 10
    concurrency: int = 3
    min_score: float = 0.0
    fresh_hours: int = 72  # only signals seen this recently
    template_id: str | None = None  # the tenant's default template when unset
    require_approval: bool = False


@dataclass
class TrendScrapeInput:
    """One scrape for one tenant (from a schedule, the API or `pod up`)."""

    tenant_id: str
    request_key: str  # the schedule's id or the request's idempotency key
    sources: list[str] = field(default_factory=lambda: list(ALL_SOURCES))
    options: SourceOptions = field(default_factory=SourceOptions)
    # Start a campaign on the freshest signals once the scrape is stored.
    campaign: CampaignOptions | None = None


@dataclass
class SourceOutcome:
    """How one source did in one scrape: what it gave, or why it failed."""

    source: str
    ok: bool
    trends: int = 0
    skipped: list[str] = field(default_factory=list)
    error: str | None = None  # the failure's type and message when `ok` is false


@dataclass
class TrendScrapeResult:
    """A scrape's report: per-source outcomes and what the store made of them."""

    tenant_id: str
    sources: list[SourceOutcome] = field(default_factory=list)
    created: int = 0  # new signals
    merged: int = 0  # observations folded into existing signals
    campaign_id: str | None = None


# --- scrape activities -----------------------------------------------------------------


@dataclass
class ScrapeSourceInput:
    tenant_id: str
    source: str
    options: SourceOptions = field(default_factory=SourceOptions)


@dataclass
class CompetitionRequest:
    """An Etsy look-up for one stored signal."""

    signal_id: str
    keyword: str


@dataclass
class StoreSignalsInput:
    tenant_id: str
    batches: list[SourceBatch] = field(default_factory=list)
    # How many touched signals get an Etsy competition look-up (0: none).
    competition_limit: int = 0


@dataclass
class StoredSignals:
    created: int = 0
    merged: int = 0
    embedder: str = ""
    needs_competition: list[CompetitionRequest] = field(default_factory=list)


@dataclass
class CompetitionInput:
    tenant_id: str
    requests: list[CompetitionRequest] = field(default_factory=list)


@dataclass
class MeasuredCompetition:
    signal_id: str
    competition: Competition


@dataclass
class CompetitionResult:
    measured: list[MeasuredCompetition] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class StoreCompetitionInput:
    tenant_id: str
    measured: list[MeasuredCompetition] = field(default_factory=list)


# --- campaigns -------------------------------------------------------------------------


class OutcomeStatus(StrEnum):
    PENDING = "pending"  # chosen, not started yet
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class CampaignInput:
    tenant_id: str
    campaign_id: str  # also the workflow id
    request_key: str
    options: CampaignOptions = field(default_factory=CampaignOptions)


@dataclass
class CampaignOutcome:
    """What became of one chosen signal."""

    signal_id: str
    keyword: str
    score: float
    status: str  # an OutcomeStatus value
    reason: str | None = None  # why it was skipped or failed
    workflow_id: str | None = None  # its design-to-listing run
    listing_url: str | None = None
    etsy_listing_id: int | None = None


@dataclass
class CampaignPlan:
    """The top signals a campaign chose: each to be listed, or skipped with a reason."""

    outcomes: list[CampaignOutcome] = field(default_factory=list)


@dataclass
class PrepareListingRunInput:
    tenant_id: str
    campaign_id: str
    signal_id: str
    keyword: str
    template_id: str | None = None
    require_approval: bool = False


@dataclass
class PreparedListingRun:
    """A recorded design-to-listing run for a signal, or why none may start."""

    workflow_id: str = ""
    created: bool = False  # False: the signal already had a run (reported, not repeated)
    status: str = ""  # the existing run's status when not created
    skipped_reason: str | None = None
    # The recorded DesignToListingInput as JSON, set when a run should start (passed on as
    # the child's argument: the child decodes it as an API-started run's input is).
    input: dict[str, Any] | None = None


@dataclass
class RecordCampaignInput:
    tenant_id: str
    campaign_id: str
    status: str
    outcomes: list[CampaignOutcome] = field(default_factory=list)


@dataclass
class CampaignResult:
    campaign_id: str
    status: str
    outcomes: list[CampaignOutcome] = field(default_factory=list)
    listings: int = 0
