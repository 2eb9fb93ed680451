"""Requests as the services take them: the validated bodies of starts (runs, scrapes,
campaigns; the API publishes them under these names), the digest that tells a repeat
from another request, and the workflow input recorded with a run."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from temporalio.converter import value_to_type

from domain.pricing import PricingError, PricingRule
from domain.trends import Region, SourceName, TrendType
from models.payloads import DesignToListingInput
from models.tables import WorkflowRun
from models.trends import CampaignOptions, SourceOptions


def body_digest(data: dict[str, Any]) -> str:
    """The digest of a request body that tells a repeat from a different request."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def recorded_input(run: WorkflowRun) -> DesignToListingInput:
    """The workflow input as recorded with the run (what a repeated request starts)."""
    data = dict(run.input or {})
    # Runs recorded before integrations existed (0.1.0) have no ids; such a run was
    # started then, so a repeat only finds it in Temporal and never starts it again.
    data.setdefault("printify_integration_id", "")
    data.setdefault("etsy_integration_id", "")
    # Temporal's own conversion: nested payloads (template, brief, print file) included.
    recorded: DesignToListingInput = value_to_type(DesignToListingInput, data)
    return recorded


# Reddit's rule for community names (3-21 letters, digits, underscores).
SUBREDDIT = r"^[A-Za-z0-9][A-Za-z0-9_]{2,20}$"


Subreddit = Annotated[str, StringConstraints(pattern=SUBREDDIT, max_length=21)]


class EtsyChoicesIn(BaseModel):
    """A template's choice among the seller's Etsy shop's profiles (None: the Etsy
    integration's default, or the shop's only one)."""

    model_config = ConfigDict(extra="forbid")

    etsy_shipping_profile_id: int | None = Field(
        default=None, gt=0, le=2**53, description="The Etsy shop's shipping profile for listings."
    )
    etsy_return_policy_id: int | None = Field(
        default=None, gt=0, le=2**53, description="The Etsy shop's return policy for listings."
    )
    etsy_readiness_state_id: int | None = Field(
        default=None,
        gt=0,
        le=2**53,
        description="The Etsy shop's processing profile (readiness state) for listings.",
    )


class ProductTemplateIn(EtsyChoicesIn):
    model_config = ConfigDict(extra="forbid")

    blueprint_id: int = Field(default=6, gt=0)
    print_provider_id: int = Field(default=99, gt=0)
    variant_ids: list[int] = Field(
        default_factory=lambda: [12100, 12101, 12102, 12110, 12111, 12112],
        min_length=1,
        max_length=100,
    )
    price_cents: int = Field(default=2499, gt=0, le=1_000_000)
    position: Literal["front", "back"] = "front"


class PricingRuleIn(BaseModel):
    """How each variant is priced from its production cost (see `domain.pricing`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"mode": "margin", "percent": 40, "ending_cents": 99}]},
    )

    mode: Literal["fixed", "margin", "markup"] = "fixed"
    percent: float = Field(
        default=0, ge=0, le=1000, description="Margin (share of the price) or markup, in %."
    )
    price_cents: int = Field(default=2499, gt=0, le=1_000_000, description="Fixed mode only.")
    ending_cents: int = Field(
        default=99, ge=0, le=99, description="Every price is rounded up to end in these cents."
    )

    @model_validator(mode="after")
    def _priceable(self) -> PricingRuleIn:
        try:
            self.rule().validate()
        except PricingError as exc:
            raise ValueError(str(exc)) from None
        return self

    def rule(self) -> PricingRule:
        return PricingRule(
            mode=self.mode,
            percent=self.percent,
            price_cents=self.price_cents,
            ending_cents=self.ending_cents,
        )


def _single_spaced(value: object) -> object:
    """Runs of whitespace (tabs, newlines) as one space and none at either end, so a
    keyword of spaces alone is too short rather than a run that fails later."""
    return " ".join(value.split()) if isinstance(value, str) else value


Keyword = Annotated[
    str, StringConstraints(min_length=2, max_length=80), BeforeValidator(_single_spaced)
]


class DesignToListingRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"keyword": "retro hiking dog dad"}]},
    )

    keyword: Keyword = Field(examples=["retro hiking dog dad"])
    template: ProductTemplateIn = Field(
        default_factory=ProductTemplateIn,
        description="An inline template with one fixed price. Without it (and without "
        "`template_id`) the tenant's default template is used, else this default.",
    )
    template_id: uuid.UUID | None = Field(
        default=None, description="A saved template (`/v1/templates`) instead of `template`."
    )
    require_approval: bool = False
    approval_timeout_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)
    printify_shop_id: int | None = Field(default=None, gt=0)
    etsy_shop_id: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_template(self) -> DesignToListingRequest:
        if self.template_id is not None and "template" in self.model_fields_set:
            raise ValueError("give either template or template_id, not both")
        return self


class BriefRequest(BaseModel):
    """Ask for a design brief for a keyword, or for a stored trend signal's keyword."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"keyword": "retro hiking dog dad"}]}
    )

    keyword: Keyword | None = None
    trend_signal_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_source(self) -> BriefRequest:
        if (self.keyword is None) == (self.trend_signal_id is None):
            raise ValueError("give either keyword or trend_signal_id")
        return self


class DesignRequest(BaseModel):
    """Make a print-ready design for a brief, sized for a template's print area."""

    model_config = ConfigDict(extra="forbid")

    template_id: uuid.UUID | None = Field(
        default=None, description="A saved template; without one, the tenant's default."
    )


class PublishRequest(BaseModel):
    """Publish a design: Printify product, then the Etsy listing."""

    model_config = ConfigDict(extra="forbid")

    printify_shop_id: int | None = Field(default=None, gt=0)
    etsy_shop_id: int | None = Field(default=None, gt=0)


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
        default_factory=lambda: list(get_args(SourceName)),
        min_length=1,
        max_length=4,
    )
    options: SourceOptionsIn = Field(default_factory=SourceOptionsIn)

    @field_validator("sources")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


def source_options(body: SourceOptionsIn) -> SourceOptions:
    return SourceOptions(**body.model_dump())


def campaign_options(body: CampaignOptionsIn) -> CampaignOptions:
    data = body.model_dump()
    data["template_id"] = str(body.template_id) if body.template_id else None
    return CampaignOptions(**data)
