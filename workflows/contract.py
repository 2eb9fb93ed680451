"""The Temporal contract in one place: task queues, the tenant search attribute, workflow
ids, and for each activity its name, payload types, queue and call policy.

The API, services, workflows, activities and workers all read it, and it imports no
activity or workflow code: a workflow names an activity here (`call(GENERATE_BRIEF, …)`)
and never imports its implementation; an activity takes its name from here
(`@activity.defn(name=GENERATE_BRIEF.name)`), and a test holds each implementation to the
types and queue declared here (`tests/workflows/test_contract.py`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

from domain.errors import non_retryable_codes
from models.orders import (
    AdvanceOrderInput,
    OrderStep,
    OrderSyncInput,
    ReceiptsRead,
    StatsPulled,
)
from models.payloads import (
    Artwork,
    BriefResult,
    ChannelListing,
    CreateDraftListingInput,
    CreateProductInput,
    EnsureWebhookInput,
    GenerateBriefInput,
    GenerateDesignInput,
    ListingImageRef,
    ListingImages,
    ListingOffer,
    ListingRef,
    MakePrintFileInput,
    MeterInput,
    PrintArea,
    PrintAreaInput,
    PrintFile,
    ProductRef,
    PublishingFailedInput,
    PublishingSucceededInput,
    PublishWatch,
    RecordListingInput,
    RunUpdate,
    ScreenBriefInput,
    ScreenResult,
    SetListingInventoryInput,
    ShopsInput,
    UploadedImage,
    UploadImageInput,
    UploadListingImageInput,
    UploadListingImagesInput,
)
from models.trends import (
    CampaignInput,
    CampaignPlan,
    CompetitionInput,
    CompetitionResult,
    PreparedListingRun,
    PrepareListingRunInput,
    RecordCampaignInput,
    ScrapeSourceInput,
    SourceBatch,
    StoreCompetitionInput,
    StoredSignals,
    StoreSignalsInput,
)

# --- task queues and the search attribute ---------------------------------------------------

# One queue per kind of work, so each scales (and is rate limited) on its own (ADR 0001).
QUEUES: dict[str, str] = {
    "workflows": "pod-workflows",
    "ideation": "pod-ideation",
    "image": "pod-image",
    "integration": "pod-integration",
    "records": "pod-records",
    "scrape": "pod-scrape",
}
WORKFLOW_QUEUE = QUEUES["workflows"]

# Every run and schedule carries its tenant; a run also its keyword, and a design-to-
# listing run its stage and status as it moves (the Web UI filters on them, issue 17).
# `pod up`, the compose file and the workflow worker register them (ADR 0033).
TENANT_ATTRIBUTE = SearchAttributeKey.for_keyword("TenantId")
STAGE_ATTRIBUTE = SearchAttributeKey.for_keyword("Stage")
RUN_STATUS_ATTRIBUTE = SearchAttributeKey.for_keyword("RunStatus")
TREND_KEYWORD_ATTRIBUTE = SearchAttributeKey.for_text("TrendKeyword")
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    TENANT_ATTRIBUTE,
    STAGE_ATTRIBUTE,
    RUN_STATUS_ATTRIBUTE,
    TREND_KEYWORD_ATTRIBUTE,
)
# As `temporal server start-dev --search-attribute` takes them.
DEV_SERVER_SEARCH_ATTRIBUTES = tuple(
    f"{key.name}={key.indexed_value_type.name.title()}" for key in SEARCH_ATTRIBUTES
)


def tenant_attributes(tenant_id: str) -> TypedSearchAttributes:
    """The search attributes of a tenant's run or schedule."""
    return TypedSearchAttributes([SearchAttributePair(TENANT_ATTRIBUTE, tenant_id)])


def run_attributes(
    tenant_id: str, keyword: str, *, stage: str | None = None, status: str | None = None
) -> TypedSearchAttributes:
    """A run's search attributes at its start: its tenant and keyword, and for a run that
    moves through stages, where it begins."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(TENANT_ATTRIBUTE, tenant_id),
        SearchAttributePair(TREND_KEYWORD_ATTRIBUTE, keyword),
    ]
    if stage is not None:
        pairs.append(SearchAttributePair(STAGE_ATTRIBUTE, stage))
    if status is not None:
        pairs.append(SearchAttributePair(RUN_STATUS_ATTRIBUTE, status))
    return TypedSearchAttributes(pairs)


# What each kind of run makes, for its one-line summary in the Web UI.
_MAKES = {
    "design_to_listing": "Etsy",
    "brief": "brief",
    "design": "design",
    "publish": "Printify and Etsy",
}


def run_summary(kind: str, keyword: str, tenant_id: str) -> str:
    """The run's line in the Web UI: `cat mom → Etsy, tenant dev`."""
    return f"{keyword} → {_MAKES.get(kind, kind)}, tenant {tenant_id}"


# --- workflow and schedule ids ----------------------------------------------------------------

# Workflow id prefixes by run kind (models.payloads.RunKind).
RUN_PREFIXES = {
    "design_to_listing": "dtl",
    "brief": "brf",
    "design": "dsn",
    "publish": "pub",
    "scrape": "scr",
    "campaign": "cmp",
    "orders": "ord",
}
SCHEDULE_PREFIX = "scrape-"
# `.` separates tenant and name: tenant ids may hold `-` but never `.` (`pod tenant`).
SCHEDULE_SEPARATOR = "."


def run_workflow_id(kind: str, tenant_id: str, request_key: str) -> str:
    """The workflow id of a request: kind, tenant and idempotency key, hashed."""
    digest = hashlib.sha256(f"{tenant_id}\x00{request_key}".encode()).hexdigest()[:24]
    return f"{RUN_PREFIXES[kind]}-{tenant_id}-{digest}"


def on_demand_scrape_id(tenant_id: str) -> str:
    """On-demand scrapes of a tenant share one id: a second request while one runs joins it."""
    return f"{RUN_PREFIXES['scrape']}-{tenant_id}-now"


def scrape_campaign_id(tenant_id: str, scrape_workflow_id: str) -> str:
    """The campaign a scrape starts on its fresh signals: one per scrape run."""
    digest = hashlib.sha256(scrape_workflow_id.encode()).hexdigest()[:24]
    return f"{RUN_PREFIXES['campaign']}-{tenant_id}-{digest}"


def order_sync_id(tenant_id: str, reason: str) -> str:
    """A tenant's order sync: one id per reason (`now` for a request, `events` for
    Printify's events), so a second request while one runs joins it."""
    return f"{RUN_PREFIXES['orders']}-{tenant_id}-{reason}"


# The tenant's order sync schedule (`orders-<tenant>`): apart from the scrape schedules,
# whose ids and names a tenant chooses.
ORDER_SCHEDULE_PREFIX = "orders-"


def order_schedule_id(tenant_id: str) -> str:
    return f"{ORDER_SCHEDULE_PREFIX}{tenant_id}"


def schedule_id_for(tenant_id: str, name: str) -> str:
    """The Temporal Schedule id of a tenant's schedule."""
    return f"{SCHEDULE_PREFIX}{tenant_id}{SCHEDULE_SEPARATOR}{name}"


def schedule_run_id_prefix(tenant_id: str, name: str) -> str:
    """The workflow id of the schedule's runs, before the `-<time>` Temporal appends."""
    return f"{RUN_PREFIXES['scrape']}-{tenant_id}{SCHEDULE_SEPARATOR}{name}"


# --- call policies ----------------------------------------------------------------------------

# Error types that no retry can fix (activities raise them as non-retryable too).
NON_RETRYABLE = non_retryable_codes()


@dataclass(frozen=True)
class CallPolicy:
    """How long one activity attempt may take and how it is retried."""

    start_to_close: timedelta
    retry: RetryPolicy
    heartbeat: timedelta | None = None
    schedule_to_close: timedelta | None = None


def _retry(initial: float, maximum: float, attempts: int) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=initial),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=maximum),
        maximum_attempts=attempts,
        non_retryable_error_types=NON_RETRYABLE,
    )


# Brief writing and screening: a language model may answer three times (with the SDK's
# own retries) in one attempt, so attempts are long, and heartbeats tell a dead worker
# from a slow model within a minute. Bounded, so a broken provider fails the run.
IDEATION = CallPolicy(timedelta(minutes=15), _retry(1, 30, 5), heartbeat=timedelta(seconds=60))
# Image work is slow and heavy: heartbeats detect a dead worker within seconds.
IMAGE = CallPolicy(timedelta(minutes=10), _retry(2, 60, 5), heartbeat=timedelta(seconds=10))
# Vendor calls: rate limits and outages pass; keep trying for up to an hour. The worker
# heartbeats for them (activities.heartbeat.HeartbeatInterceptor), so a dead worker's
# attempt is retried after 20 s rather than two minutes.
INTEGRATION = CallPolicy(
    timedelta(minutes=2),
    _retry(1, 60, 0),
    heartbeat=timedelta(seconds=20),
    schedule_to_close=timedelta(hours=1),
)
# Our own database writes.
RECORDS = CallPolicy(
    timedelta(seconds=30), _retry(0.5, 10, 0), schedule_to_close=timedelta(minutes=30)
)
# Trend sources: slow, flaky and unofficial; a few attempts, then the source is reported
# as failed and the scrape goes on without it.
SCRAPE = CallPolicy(timedelta(minutes=5), _retry(5, 60, 3), heartbeat=timedelta(seconds=60))
# Embedding and storing a scrape's trends (embedding with a local model takes seconds), and
# rescoring or planning over a tenant's signals: longer than a plain write.
TREND_STORE = CallPolicy(
    timedelta(minutes=10), _retry(1, 30, 0), schedule_to_close=timedelta(hours=1)
)


# --- activities -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityDef[I, O]:
    """One activity: its registered name, payload types, task queue and call policy."""

    name: str
    input_type: type[I]
    result_type: type[O]
    queue: str
    policy: CallPolicy


NONE = type(None)

GENERATE_BRIEF = ActivityDef(
    "ideation.generate_brief", GenerateBriefInput, BriefResult, "ideation", IDEATION
)
SCREEN_BRIEF = ActivityDef(
    "ideation.screen_brief", ScreenBriefInput, ScreenResult, "ideation", IDEATION
)
GENERATE_DESIGN = ActivityDef("image.generate_design", GenerateDesignInput, Artwork, "image", IMAGE)
MAKE_PRINT_FILE = ActivityDef(
    "image.make_print_file", MakePrintFileInput, PrintFile, "image", IMAGE
)

PRINTIFY_RESOLVE_SHOP = ActivityDef(
    "printify.resolve_shop", ShopsInput, int, "integration", INTEGRATION
)
GET_PRINT_AREA = ActivityDef(
    "printify.get_print_area", PrintAreaInput, PrintArea, "integration", INTEGRATION
)
UPLOAD_IMAGE = ActivityDef(
    "printify.upload_image", UploadImageInput, UploadedImage, "integration", INTEGRATION
)
CREATE_PRODUCT = ActivityDef(
    "printify.create_product", CreateProductInput, ProductRef, "integration", INTEGRATION
)
PUBLISH_PRODUCT = ActivityDef("printify.publish", ProductRef, NONE, "integration", INTEGRATION)
ENSURE_WEBHOOK = ActivityDef(
    "printify.ensure_webhook", EnsureWebhookInput, PublishWatch, "integration", INTEGRATION
)
CHECK_PUBLISH_STARTED = ActivityDef(
    "printify.check_publish_started", ProductRef, bool, "integration", INTEGRATION
)
PUBLISHING_SUCCEEDED = ActivityDef(
    "printify.publishing_succeeded", PublishingSucceededInput, NONE, "integration", INTEGRATION
)
PUBLISHING_FAILED = ActivityDef(
    "printify.publishing_failed", PublishingFailedInput, NONE, "integration", INTEGRATION
)

ETSY_RESOLVE_SHOP = ActivityDef("etsy.resolve_shop", ShopsInput, int, "integration", INTEGRATION)
CREATE_DRAFT_LISTING = ActivityDef(
    "etsy.create_draft_listing", CreateDraftListingInput, ListingRef, "integration", INTEGRATION
)
UPLOAD_LISTING_IMAGE = ActivityDef(
    "etsy.upload_listing_image",
    UploadListingImageInput,
    ListingImageRef,
    "integration",
    INTEGRATION,
)
PRINTIFY_CHANNEL_LISTING = ActivityDef(
    "printify.channel_listing", ProductRef, ChannelListing, "integration", INTEGRATION
)
PRINTIFY_LISTING_OFFER = ActivityDef(
    "printify.listing_offer", ProductRef, ListingOffer, "integration", INTEGRATION
)
SET_LISTING_INVENTORY = ActivityDef(
    "etsy.set_listing_inventory", SetListingInventoryInput, NONE, "integration", INTEGRATION
)
UPLOAD_LISTING_IMAGES = ActivityDef(
    "etsy.upload_listing_images",
    UploadListingImagesInput,
    ListingImages,
    "integration",
    INTEGRATION,
)
ACTIVATE_LISTING = ActivityDef(
    "etsy.activate_listing", ListingRef, ListingRef, "integration", INTEGRATION
)
DELETE_LISTING = ActivityDef("etsy.delete_listing", ListingRef, NONE, "integration", INTEGRATION)

UPDATE_RUN = ActivityDef("records.update_run", RunUpdate, NONE, "records", RECORDS)
METER_USAGE = ActivityDef("records.meter_usage", MeterInput, bool, "records", RECORDS)
RECORD_LISTING = ActivityDef("records.record_listing", RecordListingInput, str, "records", RECORDS)

SCRAPE_GOOGLE_TRENDS = ActivityDef(
    "scrape.google_trends", ScrapeSourceInput, SourceBatch, "scrape", SCRAPE
)
SCRAPE_REDDIT = ActivityDef("scrape.reddit", ScrapeSourceInput, SourceBatch, "scrape", SCRAPE)
SCRAPE_PINTEREST = ActivityDef("scrape.pinterest", ScrapeSourceInput, SourceBatch, "scrape", SCRAPE)
ETSY_COMPETITION = ActivityDef(
    "scrape.etsy_competition", CompetitionInput, CompetitionResult, "scrape", SCRAPE
)
STORE_SIGNALS = ActivityDef(
    "trends.store_signals", StoreSignalsInput, StoredSignals, "ideation", TREND_STORE
)
STORE_COMPETITION = ActivityDef(
    "trends.store_competition", StoreCompetitionInput, int, "records", TREND_STORE
)

PLAN_CAMPAIGN = ActivityDef("campaign.plan", CampaignInput, CampaignPlan, "records", TREND_STORE)
PREPARE_LISTING_RUN = ActivityDef(
    "campaign.prepare_listing_run",
    PrepareListingRunInput,
    PreparedListingRun,
    "records",
    RECORDS,
)
RECORD_CAMPAIGN = ActivityDef("campaign.record", RecordCampaignInput, NONE, "records", RECORDS)

READ_RECEIPTS = ActivityDef(
    "orders.read_receipts", OrderSyncInput, ReceiptsRead, "integration", INTEGRATION
)
OPEN_ORDERS = ActivityDef(
    "orders.open_orders", OrderSyncInput, list[str], "integration", INTEGRATION
)
ADVANCE_ORDER = ActivityDef(
    "orders.advance", AdvanceOrderInput, OrderStep, "integration", INTEGRATION
)

PULL_LISTING_STATS = ActivityDef(
    "orders.pull_listing_stats", OrderSyncInput, StatsPulled, "integration", INTEGRATION
)

ACTIVITIES: tuple[ActivityDef[Any, Any], ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, ActivityDef)
)


async def call_local[I, O](activity: ActivityDef[I, O], arg: I) -> O:
    """Run one activity inside the workflow's own worker (a local activity), with its
    policy: for quick bookkeeping writes, which then cost the Temporal server no task
    of their own, only a marker in the workflow task that ran them."""
    policy = activity.policy
    result: O = await workflow.execute_local_activity(
        activity.name,
        arg,
        result_type=activity.result_type,
        start_to_close_timeout=policy.start_to_close,
        schedule_to_close_timeout=policy.schedule_to_close,
        retry_policy=policy.retry,
    )
    return result


async def call[I, O](activity: ActivityDef[I, O], arg: I) -> O:
    """Run one activity from a workflow, on its queue with its policy."""
    policy = activity.policy
    result: O = await workflow.execute_activity(
        activity.name,
        arg,
        result_type=activity.result_type,
        task_queue=QUEUES[activity.queue],
        start_to_close_timeout=policy.start_to_close,
        schedule_to_close_timeout=policy.schedule_to_close,
        heartbeat_timeout=policy.heartbeat,
        retry_policy=policy.retry,
    )
    return result
