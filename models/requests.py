"""Requests as the services take them: the validated bodies of starts (runs, scrapes,
campaigns; the API publishes them under these names), the digest that tells a repeat
from another request, and the workflow input recorded with a run."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)
from temporalio.converter import value_to_type

from domain.pricing import MAX_MARGIN_PERCENT, MAX_MARKUP_PERCENT, PricingError, PricingRule
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


def _integral_floats(data: object) -> object:
    """`1.0` as `1`: JSON Schema counts it an integer, and strict validation would not."""
    if isinstance(data, float) and data.is_integer() and abs(data) < 2**63:
        return int(data)
    if isinstance(data, dict):
        return {key: _integral_floats(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_integral_floats(value) for value in data]
    return data


class JsonBody(BaseModel):
    """A request body, validated as the JSON types its schema states (`strict=True` in
    each model's config): `0` is no boolean, `"5"` no integer, `true` no number (they
    were coerced). Ids, times and enums are strings in JSON, so those fields say
    `strict=False` (issue 14: schemathesis's negative data)."""

    @model_validator(mode="before")
    @classmethod
    def _json_numbers(cls, data: object) -> object:
        return _integral_floats(data)


class EtsyChoicesIn(JsonBody):
    """A template's choice among the seller's Etsy shop's profiles (None: the Etsy
    integration's default, or the shop's only one)."""

    model_config = ConfigDict(extra="forbid", strict=True)

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


def exactly_one(fields: dict[str, str]) -> list[JsonValue]:
    """JSON Schema's `oneOf` for "exactly one of these fields is given, not null"
    (field name → its JSON type)."""
    return [
        {"required": [name], "properties": {name: {"type": kind}}} for name, kind in fields.items()
    ]


def _distinct(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise ValueError("variant ids must be distinct")
    return ids


# Printify variant ids: distinct positive integers.
VariantIds = Annotated[
    list[Annotated[int, Field(gt=0, le=2**31)]],
    AfterValidator(_distinct),
    Field(json_schema_extra={"uniqueItems": True}),
]


class ProductTemplateIn(EtsyChoicesIn):
    model_config = ConfigDict(extra="forbid", strict=True)

    blueprint_id: int = Field(default=6, gt=0)
    print_provider_id: int = Field(default=99, gt=0)
    variant_ids: VariantIds = Field(
        default_factory=lambda: [12100, 12101, 12102, 12110, 12111, 12112],
        min_length=1,
        max_length=100,
    )
    price_cents: int = Field(default=2499, gt=0, le=1_000_000)
    position: Literal["front", "back"] = "front"


class PricingRuleIn(JsonBody):
    """How each variant is priced from its production cost (see `domain.pricing`)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"mode": "margin", "percent": 40, "ending_cents": 99}],
            # `domain.pricing`'s bounds per mode, in the schema too.
            "allOf": [
                {
                    "if": {"properties": {"mode": {"const": mode}}, "required": ["mode"]},
                    "then": {
                        "properties": {"percent": {"exclusiveMinimum": 0, "maximum": most}},
                        "required": ["percent"],
                    },
                }
                for mode, most in (("margin", MAX_MARGIN_PERCENT), ("markup", MAX_MARKUP_PERCENT))
            ],
        },
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


KEYWORD_MAX = 80


def _single_spaced(value: object) -> object:
    """Runs of whitespace (tabs, newlines) as one space and none at either end, so a
    keyword of spaces alone is too short rather than a run that fails later. The length
    as sent is bounded too, as the schema says."""
    if not isinstance(value, str):
        return value
    if len(value) > KEYWORD_MAX:
        raise ValueError(f"at most {KEYWORD_MAX} characters")
    return " ".join(value.split())


# Two visible characters at least (what is left once spaces are single), and no control
# character (tab, newline and carriage return are spaces here): the schema says both.
_TEXT = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f]"
KEYWORD_PATTERN = f"^{_TEXT}*{_VISIBLE}{_TEXT}*{_VISIBLE}{_TEXT}*$"

Keyword = Annotated[
    str,
    StringConstraints(min_length=2, max_length=KEYWORD_MAX, pattern=KEYWORD_PATTERN),
    BeforeValidator(_single_spaced),
]


class DesignToListingRequest(JsonBody):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"keyword": "retro hiking dog dad"}],
            # `_one_template`, in the schema too.
            "not": {
                "required": ["template", "template_id"],
                "properties": {"template_id": {"type": "string"}},
            },
        },
    )

    keyword: Keyword = Field(examples=["retro hiking dog dad"])
    template: ProductTemplateIn = Field(
        default_factory=ProductTemplateIn,
        description="An inline template with one fixed price. Without it (and without "
        "`template_id`) the tenant's default template is used, else this default.",
    )
    template_id: uuid.UUID | None = Field(
        default=None,
        strict=False,  # a string in JSON
        description="A saved template (`/v1/templates`) instead of `template`.",
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


class BriefRequest(JsonBody):
    """Ask for a design brief for a keyword, or for a stored trend signal's keyword."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"keyword": "retro hiking dog dad"}],
            "oneOf": exactly_one({"keyword": "string", "trend_signal_id": "string"}),
        },
    )

    keyword: Keyword | None = None
    trend_signal_id: uuid.UUID | None = Field(default=None, strict=False)  # a string in JSON

    @model_validator(mode="after")
    def _one_source(self) -> BriefRequest:
        if (self.keyword is None) == (self.trend_signal_id is None):
            raise ValueError("give either keyword or trend_signal_id")
        return self


class DesignRequest(JsonBody):
    """Make a print-ready design for a brief, sized for a template's print area."""

    model_config = ConfigDict(extra="forbid", strict=True)

    template_id: uuid.UUID | None = Field(
        default=None,
        strict=False,  # a string in JSON
        description="A saved template; without one, the tenant's default.",
    )


class PublishRequest(JsonBody):
    """Publish a design: Printify product, then the Etsy listing."""

    model_config = ConfigDict(extra="forbid", strict=True)

    printify_shop_id: int | None = Field(default=None, gt=0)
    etsy_shop_id: int | None = Field(default=None, gt=0)


class SourceOptionsIn(JsonBody):
    """What to ask each source for; every field bounded (each call spends a quota)."""

    model_config = ConfigDict(extra="forbid", strict=True)

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


class CampaignOptionsIn(JsonBody):
    """Which fresh signals become listings, and how many run at once."""

    model_config = ConfigDict(extra="forbid", strict=True)

    top_k: int = Field(default=10, ge=1, le=50)
    concurrency: int = Field(default=3, ge=1, le=10)
    min_score: float = Field(default=0.0, ge=0, le=100)
    fresh_hours: int = Field(default=72, ge=1, le=24 * 30)
    template_id: uuid.UUID | None = Field(default=None, strict=False)  # a string in JSON
    require_approval: bool = False


class ScrapeRequest(JsonBody):
    model_config = ConfigDict(extra="forbid", strict=True)

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
