"""Request and response models of the HTTP API (validated by pydantic)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from api.pages import Page
from domain.orders import missing_scopes
from domain.rbac import Permission, Role
from models.payloads import RunKind, RunStatus
from models.requests import EtsyChoicesIn, JsonBody, PricingRuleIn, VariantIds


def _iso_8601_only(value: object) -> object:
    """Pydantic reads a number as a Unix time; the contract says ISO 8601 text."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("give a date and time in ISO 8601 (2026-12-01T00:00:00Z)")
    return value


# A date and time as ISO 8601 text, never a Unix time (schemathesis's negative data).
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only)]


class ErrorBody(BaseModel):
    code: str = Field(examples=["NOT_FOUND"])
    message: str = Field(examples=["workflow dtl-dev-0123 not found"])
    details: dict[str, Any] | None = None


class TemplateIn(EtsyChoicesIn):
    """A product template: blueprint, print provider, enabled variants, placement, pricing."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "Bella tee, 40 % margin",
                    "blueprint_id": 6,
                    "print_provider_id": 99,
                    "variant_ids": [12100, 12101, 12102, 12103],
                    "position": "front",
                    "pricing": {"mode": "margin", "percent": 40, "ending_cents": 99},
                    "is_default": True,
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100)
    blueprint_id: int = Field(gt=0, le=2**31)
    print_provider_id: int = Field(gt=0, le=2**31)
    variant_ids: VariantIds = Field(min_length=1, max_length=100)
    position: Literal["front", "back"] = "front"
    pricing: PricingRuleIn = Field(default_factory=PricingRuleIn)
    is_default: bool = False


class TemplatePublic(BaseModel):
    id: uuid.UUID
    name: str
    blueprint_id: int
    print_provider_id: int
    variant_ids: list[int]
    position: str
    pricing: PricingRuleIn
    etsy_shipping_profile_id: int | None = None
    etsy_return_policy_id: int | None = None
    etsy_readiness_state_id: int | None = None
    is_default: bool
    created_at: datetime
    updated_at: datetime


class TemplatePage(Page[TemplatePublic]):
    pass


ProtectedNameText = Annotated[
    str, StringConstraints(min_length=2, max_length=100, strip_whitespace=True)
]
ContextWord = Annotated[str, StringConstraints(min_length=2, max_length=40, strip_whitespace=True)]


class ProtectedNameIn(JsonBody):
    """A name the tenant protects, matched like the platform's list: case, accents,
    punctuation, spacing, plurals and simple leetspeak do not matter."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"name": "Trailhead Co", "note": "a client's brand"},
                {"name": "summit", "context": ["logo", "apparel"]},
            ]
        },
    )

    name: ProtectedNameText
    context: list[ContextWord] = Field(
        default_factory=list,
        max_length=20,
        description="For an everyday word: it is refused only beside one of these words.",
    )
    note: str | None = Field(default=None, max_length=500)


class ProtectedNamePublic(BaseModel):
    id: uuid.UUID
    name: str
    context: list[str]
    note: str | None = None
    created_at: datetime


class ProtectedNamePage(Page[ProtectedNamePublic]):
    pass


class RejectRequest(JsonBody):
    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(default="", max_length=500)


class WorkflowLinks(BaseModel):
    self: str
    temporal_ui: str


class ModelCost(BaseModel):
    """What one attempt of a stage used at a model vendor, priced with the price card."""

    stage: str
    attempt: int
    vendor: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    images: int
    cost_usd: float = Field(description="Estimate from the OPENAI_*_USD_PER_MTOK settings.")


class ActivityFailure(BaseModel):
    type: str = Field(description="The error code (or `TIMEOUT`) of the previous attempt")
    message: str


class PendingActivityView(BaseModel):
    """An activity of a live run that has not finished, as Temporal describes it."""

    activity_type: str = Field(examples=["printify.get_print_area"])
    state: str = Field(description="`scheduled`, `started` or `cancel_requested`")
    attempt: int = Field(ge=1)
    maximum_attempts: int | None = Field(description="None: tried until the run's time is up")
    waiting_seconds: float = Field(description="Since this attempt started, or was scheduled")
    waiting_on: str | None = Field(
        description="What its last heartbeat said it waits on (a vendor call, a rate limit)",
        examples=[
            "printify GET /v1/catalog/blueprints/6/print_providers/99/variants.json for 12 s"
        ],
    )
    last_heartbeat_at: datetime | None
    last_failure: ActivityFailure | None
    next_attempt_at: datetime | None = Field(description="When a failed attempt is tried again")


class WorkflowView(BaseModel):
    """A run as the API shows it: live state while running, recorded state after."""

    workflow_id: str
    kind: RunKind = RunKind.DESIGN_TO_LISTING
    status: RunStatus
    stage: str
    progress: float = Field(ge=0, le=1)
    keyword: str
    artifacts: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    links: WorkflowLinks
    model_costs: list[ModelCost] | None = Field(
        default=None, description="Model usage per stage attempt; in the single-run view only."
    )
    pending_activities: list[PendingActivityView] | None = Field(
        default=None,
        description="What a live run waits on now: its activities not yet finished, their"
        " attempt, last failure and how long they have waited; in the single-run view of a"
        " live run only.",
    )


class WorkflowPage(Page[WorkflowView]):
    pass


class ListingPublic(BaseModel):
    id: uuid.UUID
    workflow_id: str
    design_id: uuid.UUID
    title: str
    printify_shop_id: int
    printify_product_id: str
    etsy_shop_id: int
    etsy_listing_id: int
    url: str
    state: str
    created_at: datetime
    views: int | None = Field(
        default=None, description="Etsy's count, as the order sync last read it (None: not yet)"
    )
    favorites: int | None = Field(default=None, description="Etsy's `num_favorers`, likewise")
    orders: int = Field(default=0, description="Orders with an item of it (not cancelled)")
    units: int = 0
    revenue_cents: int = Field(
        default=0, description="What buyers paid for its items and their shipping"
    )
    model_cost_cents: int = Field(
        default=0, description="What the models cost to make its brief and artwork"
    )
    margin_cents: int = Field(
        default=0,
        description="Its orders' margins (less Printify's cost and shipping and Etsy's fees) "
        "less the model cost",
    )

    @classmethod
    def of(cls, row: Any) -> ListingPublic:
        """A row of the listing page (`repositories.reads.listings_page`)."""
        view = cls.model_validate(row, from_attributes=True)
        view.model_cost_cents = round(int(row.model_cost_micros) / 10_000)
        view.margin_cents = int(row.sales_margin_cents) - view.model_cost_cents
        return view


class ListingPage(Page[ListingPublic]):
    pass


class BriefPublic(BaseModel):
    """A stored brief: its copy and art direction, and where it stands."""

    id: uuid.UUID
    workflow_id: str
    keyword: str
    title: str
    status: Literal["pending", "ready", "refused", "approved", "rejected", "cancelled"] = Field(
        description="pending: not screened yet; ready: passed content screening; refused: "
        "failed it (reasons in `screening`); approved: a design was asked for (the seller "
        "approved it, or its run needed no approval); rejected: the seller rejected it, or "
        "no approval came in time; cancelled: its run was cancelled before a design."
    )
    brief: dict[str, Any]
    screening: dict[str, Any] | None = None
    approved_at: datetime | None = None
    created_at: datetime


class BriefPage(Page[BriefPublic]):
    pass


class DesignPublic(BaseModel):
    id: uuid.UUID
    workflow_id: str
    brief_id: uuid.UUID
    sha256: str
    width: int
    height: int
    dpi: int
    size_bytes: int
    created_at: datetime
    file_url: str
    preview_url: str


class Blueprint(BaseModel):
    id: int
    title: str
    brand: str | None = None
    model: str | None = None
    description: str | None = None
    images: list[str] = Field(default_factory=list)


class BlueprintPage(Page[Blueprint]):
    pass


class PrintProvider(BaseModel):
    id: int
    title: str


class PrintProviderPage(Page[PrintProvider]):
    pass


class Placeholder(BaseModel):
    position: str
    width: int
    height: int


class CatalogVariant(BaseModel):
    id: int
    title: str
    options: dict[str, Any] = Field(default_factory=dict)
    placeholders: list[Placeholder] = Field(default_factory=list)
    cost: int | None = Field(
        default=None, description="Production cost in cents, when the catalog gives it."
    )


# Not a Page: its published shape names the blueprint and provider before `data`.
class CatalogVariantPage(BaseModel):
    blueprint_id: int
    print_provider_id: int
    data: list[CatalogVariant]
    count: int


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str] = Field(
        description="Each part (`database`, `temporal`, `storage`): `ok`, or `down: <error>`",
        examples=[{"database": "ok", "temporal": "ok", "storage": "ok"}],
    )


# --- accounts: who am I, members, API keys, integrations, billing ----------------------------

EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@\s\x00-\x1f\x7f-\x9f]{1,189}$"
Vendor = Literal["printify", "etsy"]


class MePublic(BaseModel):
    tenant_id: str
    member_id: uuid.UUID
    role: Role
    key_id: uuid.UUID | None = Field(description="The API key used; null for an OIDC token.")
    permissions: list[Permission]


class MemberIn(JsonBody):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    role: Role = Field(default=Role.VIEWER, strict=False)  # a string in JSON


class MemberRoleIn(JsonBody):
    model_config = ConfigDict(extra="forbid", strict=True)

    role: Role = Field(strict=False)  # a string in JSON


class MemberPublic(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    created_at: datetime


class MemberPage(Page[MemberPublic]):
    pass


class ApiKeyIn(JsonBody):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=100)
    member_id: uuid.UUID | None = Field(
        default=None,
        strict=False,  # a string in JSON
        description="Whose key it is; the caller's own when omitted.",
    )
    scopes: list[Annotated[Permission, Field(strict=False)]] | None = Field(  # strings in JSON
        default=None,
        max_length=len(Permission),
        description="A subset of the member's permissions; all of them when omitted.",
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=730)


class ApiKeyPublic(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    member_id: uuid.UUID | None
    scopes: list[str] | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself. Shown only in this answer; store it now.")


class ApiKeyPage(Page[ApiKeyPublic]):
    pass


class IntegrationIn(JsonBody):
    model_config = ConfigDict(extra="forbid", strict=True)

    access_token: str = Field(min_length=8, max_length=4096, pattern=r"^[\x21-\x7e]+$")
    refresh_token: str | None = Field(
        default=None, min_length=8, max_length=4096, pattern=r"^[\x21-\x7e]+$"
    )
    token_expires_at: AwareDatetime | None = Field(
        default=None,
        strict=False,  # a string in JSON
        description="When the access token expires (with a UTC offset).",
    )
    shop_id: int | None = Field(default=None, gt=0, le=2**53)

    @field_validator("token_expires_at")
    @classmethod
    def _plausible_expiry(cls, value: datetime | None) -> datetime | None:
        """In UTC, and between yesterday and ten years ahead (Postgres cannot read years
        past 9999, so an extreme value would break every later read of the row)."""
        if value is None:
            return None
        now = datetime.now(UTC)
        try:
            value = value.astimezone(UTC)
        except OverflowError:  # past year 9999 or before year 1 once in UTC
            value = now + timedelta(days=36_500)
        if not now - timedelta(days=1) <= value <= now + timedelta(days=3653):
            raise ValueError("must lie between yesterday and ten years from now")
        return value


class ShippingProfileOption(BaseModel):
    id: int
    title: str = ""
    origin_country_iso: str | None = None


class ReturnPolicyOption(BaseModel):
    id: int
    accepts_returns: bool = False
    accepts_exchanges: bool = False
    return_deadline: int | None = Field(default=None, description="Days.")


class ProcessingProfileOption(BaseModel):
    id: int = Field(description="Etsy's `readiness_state_id`.")
    readiness_state: str | None = None
    min_processing_days: int | None = None
    max_processing_days: int | None = None


class PrintifyShopOption(BaseModel):
    id: int
    title: str = ""
    sales_channel: str = Field(
        default="",
        description="`etsy`: Printify's own Etsy channel makes the listing; "
        "`custom_integration`: the platform makes it; others are refused.",
    )


class ShopSetup(BaseModel):
    """What the vendor says of the connected account, as last read: an Etsy shop's
    profiles and policies, or the Printify account's shops and their sales channels."""

    shop_id: int | None = None
    shops: list[PrintifyShopOption] = Field(default_factory=list)
    shop_name: str | None = None
    country_iso: str | None = None
    shipping_profiles: list[ShippingProfileOption] = Field(default_factory=list)
    return_policies: list[ReturnPolicyOption] = Field(default_factory=list)
    readiness_states: list[ProcessingProfileOption] = Field(
        default_factory=list, description="Processing profiles (readiness state definitions)."
    )
    read_at: datetime


class ListingDefaults(JsonBody):
    """The shop's profiles a listing names unless its template names its own."""

    model_config = ConfigDict(extra="forbid", strict=True)

    shipping_profile_id: int | None = Field(default=None, gt=0, le=2**53)
    return_policy_id: int | None = Field(default=None, gt=0, le=2**53)
    readiness_state_id: int | None = Field(
        default=None, gt=0, le=2**53, description="A processing profile's id."
    )


class IntegrationPublic(BaseModel):
    """An integration as shown: never its tokens."""

    id: uuid.UUID
    vendor: str
    status: str
    shop_id: int | None
    token_expires_at: datetime | None
    shop_setup: ShopSetup | None = Field(
        default=None, description="Etsy: the shop's profiles and policies (None: not read yet)."
    )
    listing_defaults: ListingDefaults | None = None
    scopes: list[str] | None = Field(
        default=None,
        description="Etsy: the scopes its token was granted, as Etsy says (None: not known)",
    )
    missing_scopes: list[str] = Field(
        default_factory=list,
        description="Etsy: scopes the platform needs that the token lacks "
        "(`transactions_r`/`transactions_w` read orders and post tracking)",
    )
    reconnect_required: bool = Field(
        default=False,
        description="Etsy: connect the shop again (GET /v1/integrations/etsy/connect): "
        "its authorization was revoked or lacks a needed scope",
    )
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="after")
    def _reconnect(self) -> IntegrationPublic:
        if self.vendor == "etsy":
            self.missing_scopes = missing_scopes(self.scopes)
            self.reconnect_required = self.status == "needs_reauth" or bool(self.missing_scopes)
        return self


class EtsyConnectPublic(BaseModel):
    authorization_url: str = Field(description="Send the seller here to approve the app.")
    expires_at: datetime = Field(description="The authorization must finish before this.")


class IntegrationPage(Page[IntegrationPublic]):
    pass


class PlanLimits(BaseModel):
    seats: int
    workflows_per_month: int
    images_per_month: int
    schedules: int


class UsageCounts(BaseModel):
    seats: int
    workflows: int
    briefs: int
    images: int
    products: int
    listings: int


class UsagePublic(BaseModel):
    plan: str
    period: str = Field(examples=["2026-11"])
    limits: PlanLimits
    used: UsageCounts
