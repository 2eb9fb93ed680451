"""Workflow and activity payloads shared by the API, workflows and activities.

One input and one output type per workflow and activity, as plain dataclasses so
they serialise with Temporal's default converter and fields can be added (with
defaults) without breaking running workflows.

One module on purpose (over 400 lines): the API, the workflows and the activities share
these types, and a workflow's sandbox loads one small module of plain dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from domain.pricing import PricingRule


class Stage(StrEnum):
    """Stages of the design-to-listing chain, in order."""

    QUEUED = "queued"
    BRIEF = "generate_brief"
    SCREEN = "screen_brief"
    APPROVAL = "awaiting_approval"
    DESIGN = "generate_design"
    PRINT_FILE = "make_print_file"
    PRINTIFY_UPLOAD = "printify_upload"
    PRINTIFY_PRODUCT = "printify_create_product"
    PRINTIFY_PUBLISH = "printify_publish"
    PRINTIFY_CHANNEL = "printify_etsy_channel"  # Printify's own Etsy channel lists it
    ETSY_DRAFT = "etsy_create_draft"
    ETSY_IMAGES = "etsy_upload_images"
    ETSY_ACTIVATE = "etsy_activate"
    PUBLISH_CONFIRM = "printify_publishing_succeeded"
    RECORD = "record_listing"
    DONE = "done"


# Share of the work done when each stage starts (drives the progress bar).
PROGRESS: dict[str, float] = {
    Stage.BRIEF: 0.02,
    Stage.SCREEN: 0.08,
    Stage.APPROVAL: 0.1,
    Stage.DESIGN: 0.12,
    Stage.PRINT_FILE: 0.3,
    Stage.PRINTIFY_UPLOAD: 0.45,
    Stage.PRINTIFY_PRODUCT: 0.55,
    Stage.PRINTIFY_PUBLISH: 0.62,
    Stage.PRINTIFY_CHANNEL: 0.7,
    Stage.ETSY_DRAFT: 0.68,
    Stage.ETSY_IMAGES: 0.75,
    Stage.ETSY_ACTIVATE: 0.85,
    Stage.PUBLISH_CONFIRM: 0.9,
    Stage.RECORD: 0.95,
    Stage.DONE: 1.0,
}


class RunKind(StrEnum):
    """What a run does: the whole chain, or one service of it on its own."""

    DESIGN_TO_LISTING = "design_to_listing"
    BRIEF = "brief"  # keyword → screened brief
    DESIGN = "design"  # brief → print-ready design
    PUBLISH = "publish"  # design → Printify product → Etsy listing


class RunStatus(StrEnum):
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"
    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


# A run in one of these is still under way (it may be queried, signalled, cancelled).
LIVE_STATUSES = frozenset({RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL})


@dataclass
class ProductTemplate:
    """What to make on Printify: blueprint, provider, enabled variants and their price.

    Without `pricing`, every variant costs `price_cents`; with it, each variant's price
    comes from its production cost (`domain.pricing`).
    """

    blueprint_id: int = 6
    print_provider_id: int = 99
    # Black and White, S to L: a listing with colour and size choices.
    variant_ids: list[int] = field(
        default_factory=lambda: [12100, 12101, 12102, 12110, 12111, 12112]
    )
    price_cents: int = 2499
    position: str = "front"
    pricing: PricingRule | None = None
    template_id: str | None = None  # the saved template it was copied from, if any
    # The Etsy shop's profiles for this template's listings (None: the integration's).
    etsy_shipping_profile_id: int | None = None
    etsy_return_policy_id: int | None = None
    etsy_readiness_state_id: int | None = None


@dataclass
class EtsyListingSetup:
    """The seller's shop's profiles a run's Etsy listing names, chosen when the run was
    requested (template, integration default, or the shop's only one)."""

    shipping_profile_id: int | None = None
    return_policy_id: int | None = None
    readiness_state_id: int | None = None


@dataclass
class DesignToListingInput:
    tenant_id: str
    request_key: str
    keyword: str
    # Which of the tenant's integrations to use; activities load their tokens by id.
    printify_integration_id: str
    etsy_integration_id: str
    template: ProductTemplate = field(default_factory=ProductTemplate)
    require_approval: bool = False
    approval_timeout_seconds: int = 24 * 3600
    printify_shop_id: int | None = None
    etsy_shop_id: int | None = None
    # A design or publish run starts from what an earlier run made.
    brief_id: str = ""
    brief: DesignBrief | None = None
    print_file: PrintFile | None = None
    trend_signal_id: str = ""  # the signal a campaign made it for (listing feedback, later)
    # The Etsy shop's profiles for the listing (None: runs requested before, which use
    # the settings' ETSY_*_ID).
    etsy_listing: EtsyListingSetup | None = None
    # How the Printify shop sells on Etsy: "etsy" (Printify's own channel makes the
    # listing) or "custom_integration" (the run makes it); "" in runs requested before.
    printify_channel: str = ""


@dataclass
class DesignBrief:
    keyword: str
    concept: str
    slogan: str
    style: str
    palette: list[str]
    audience: str
    image_prompt: str
    title: str
    tags: list[str]
    description: str
    # A language model's judgement of the brief's IP risk ("low", "medium"; "high" is
    # refused) and why; "" where no model wrote the brief.
    ip_risk: str = ""
    ip_risk_reason: str = ""


@dataclass
class GenerateBriefInput:
    tenant_id: str
    workflow_id: str
    keyword: str


@dataclass
class BriefResult:
    brief_id: str
    brief: DesignBrief


@dataclass
class ScreenBriefInput:
    tenant_id: str
    brief: DesignBrief
    workflow_id: str = ""  # whose stored brief gets the verdict (none in 0.1.0 histories)


@dataclass
class ScreenResult:
    safe: bool
    checked_terms: int
    moderated: bool = False  # a moderation endpoint checked it as well


@dataclass
class GenerateDesignInput:
    tenant_id: str
    workflow_id: str
    brief: DesignBrief


@dataclass
class Artwork:
    """Raw artwork as the image provider made it, kept in object storage."""

    storage_key: str
    width: int
    height: int


@dataclass
class PrintAreaInput:
    tenant_id: str
    integration_id: str
    blueprint_id: int
    print_provider_id: int
    variant_ids: list[int]
    position: str = "front"


@dataclass
class PrintArea:
    """Pixel size of the print area for the chosen variants (the largest placeholder)."""

    position: str
    width: int
    height: int


@dataclass
class MakePrintFileInput:
    tenant_id: str
    workflow_id: str
    brief_id: str
    artwork: Artwork
    print_area: PrintArea
    dpi: int = 300


@dataclass
class PrintFile:
    design_id: str
    storage_key: str
    preview_key: str
    sha256: str
    width: int
    height: int
    dpi: int
    size_bytes: int


@dataclass
class UploadImageInput:
    tenant_id: str
    workflow_id: str
    integration_id: str
    print_file: PrintFile


@dataclass
class UploadedImage:
    image_id: str


@dataclass
class CreateProductInput:
    tenant_id: str
    workflow_id: str
    integration_id: str
    shop_id: int
    brief: DesignBrief
    template: ProductTemplate
    image_id: str


@dataclass
class ProductRef:
    tenant_id: str
    integration_id: str
    shop_id: int
    product_id: str
    unit_cost_cents: int = 0  # Printify's highest production cost among enabled variants
    price_cents: int = 0  # the highest enabled variant price (0: recorded before pricing)
    # The template's variants the product leaves out (out of stock at the provider).
    left_out_variant_ids: list[int] = field(default_factory=list)


@dataclass
class CreateDraftListingInput:
    tenant_id: str
    workflow_id: str
    integration_id: str
    shop_id: int
    brief: DesignBrief
    price_cents: int
    setup: EtsyListingSetup | None = None  # None in histories from before per-shop setup


@dataclass
class ListingRef:
    tenant_id: str
    integration_id: str
    shop_id: int
    listing_id: int
    url: str = ""


@dataclass
class UploadListingImageInput:
    tenant_id: str
    workflow_id: str
    listing: ListingRef
    storage_key: str
    alt_text: str


@dataclass
class ListingImageRef:
    listing_image_id: int


@dataclass
class OfferVariant:
    """One enabled Printify variant as the Etsy listing offers it."""

    variant_id: int
    sku: str
    price_cents: int
    color: str = ""
    size: str = ""


@dataclass
class Mockup:
    """One of Printify's product photos (a variant group in one colour, at a position)."""

    src: str
    variant_ids: list[int]
    position: str = "front"
    is_default: bool = False
    color: str = ""


@dataclass
class ListingOffer:
    """What the Etsy listing of a product offers: its variants and its mock-up photos,
    default colour first."""

    variants: list[OfferVariant]
    mockups: list[Mockup]


@dataclass
class SetListingInventoryInput:
    listing: ListingRef
    variants: list[OfferVariant]
    setup: EtsyListingSetup | None = None


@dataclass
class UploadListingImagesInput:
    """The listing's photos: the mock-ups in order, then the artwork preview."""

    tenant_id: str
    workflow_id: str
    listing: ListingRef
    mockups: list[Mockup]
    artwork_key: str
    title: str


@dataclass
class ListingImages:
    listing_image_ids: list[int]


class ChannelState(StrEnum):
    """Where Printify's own sales channel is with a product's listing."""

    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"


@dataclass
class ChannelListing:
    """The listing Printify's sales channel made for a product, once it has."""

    state: str  # a ChannelState
    listing_id: int = 0
    url: str = ""
    reason: str = ""


@dataclass
class PublishingSucceededInput:
    product: ProductRef
    listing: ListingRef


@dataclass
class PublishingFailedInput:
    product: ProductRef
    reason: str


@dataclass
class EnsureWebhookInput:
    """The shop whose `product:publish:started` webhook should reach our API."""

    tenant_id: str
    integration_id: str
    shop_id: int


@dataclass
class PublishWatch:
    """How a run learns that publishing started: the webhook subscription, if there is
    one, and how long to wait for its event before polling (0: poll at once)."""

    webhook_id: str | None = None
    wait_seconds: float = 0.0


class PublishConfirmation(StrEnum):
    """What showed that Printify started publishing (`publish_confirmed_by`)."""

    WEBHOOK = "webhook"
    POLLING = "polling"
    UNCONFIRMED = "unconfirmed"  # neither within the polling budget; the run went on


@dataclass
class PublishStartedSignal:
    """Printify's `product:publish:started` webhook, passed on to the run it concerns."""

    product_id: str
    event_id: str


@dataclass
class ShopsInput:
    tenant_id: str
    printify_integration_id: str
    etsy_integration_id: str
    printify_shop_id: int | None = None
    etsy_shop_id: int | None = None


@dataclass
class Shops:
    printify_shop_id: int
    etsy_shop_id: int


@dataclass
class RunUpdate:
    """A stage or status change of a workflow run, recorded in Postgres."""

    tenant_id: str
    workflow_id: str
    stage: str
    status: str
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


@dataclass
class MeterInput:
    """One completed, billable stage of a workflow (metered once, whatever the retries)."""

    tenant_id: str
    workflow_id: str
    metric: str


@dataclass
class RecordListingInput:
    tenant_id: str
    workflow_id: str
    design_id: str
    product: ProductRef
    listing: ListingRef
    image_id: str
    title: str = ""
    state: str = "active"


@dataclass
class Artifacts:
    brief_id: str | None = None
    title: str | None = None
    design_id: str | None = None
    print_file: str | None = None
    sha256: str | None = None
    printify_image_id: str | None = None
    printify_product_id: str | None = None
    etsy_listing_id: int | None = None
    listing_url: str | None = None
    publish_confirmed_by: str | None = None  # a PublishConfirmation
    notes: list[str] = field(default_factory=list)  # what the run decided for the seller


@dataclass
class WorkflowError:
    code: str
    message: str
    stage: str
    details: dict[str, Any] | None = None


@dataclass
class WorkflowState:
    """What the `state` query answers: where the run is and what it has made so far."""

    workflow_id: str
    tenant_id: str
    keyword: str
    stage: str = Stage.QUEUED
    status: str = RunStatus.RUNNING
    progress: float = 0.0
    artifacts: Artifacts = field(default_factory=Artifacts)
    last_error: WorkflowError | None = None


@dataclass
class DesignToListingResult:
    workflow_id: str
    status: str
    listing_url: str
    etsy_listing_id: int
    printify_product_id: str
    printify_shop_id: int
    design_id: str
    print_file: str
    cost_cents: dict[str, int] = field(default_factory=dict)
    title: str = ""
    brief_id: str = ""
    publish_confirmed_by: str = ""  # a PublishConfirmation; empty for runs begun before it
    notes: list[str] = field(default_factory=list)  # e.g. variants left out of stock


@dataclass
class ServiceRunResult:
    """What a brief or design run made (its ids), also recorded as the run's result."""

    workflow_id: str
    status: str
    brief_id: str
    title: str
    design_id: str = ""
    print_file: str = ""
    sha256: str = ""


@dataclass
class RejectSignal:
    reason: str = ""
