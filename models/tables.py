"""SQLModel tables: the business records. Temporal holds execution state; these hold results.

Every row carries `tenant_id`; repository functions always filter on it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

EMBEDDING_DIMENSIONS = 384


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


def _optional_ts() -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSONB, nullable=nullable))


class WorkflowRun(SQLModel, table=True):
    """One design-to-listing request: who asked, with which key, and how it ended."""

    __tablename__ = "workflow_runs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "request_key", name="uq_run_request_key"),
        # A start counts the tenant's live runs under its lock (the image quota): read
        # from this index alone, not by a scan of every run (issue 15, migration 0012).
        Index(
            "ix_workflow_runs_tenant_status",
            "tenant_id",
            "status",
            postgresql_include=["kind", "workflow_id"],
        ),
        # A page of runs, newest first, read in order (migration 0013).
        Index("ix_workflow_runs_tenant_created", "tenant_id", "created_at", "workflow_id"),
    )

    workflow_id: str = Field(primary_key=True, max_length=200)
    tenant_id: str = Field(index=True, max_length=64)
    # design_to_listing, brief, design or publish (see models.payloads.RunKind).
    kind: str = Field(default="design_to_listing", max_length=32)
    request_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    keyword: str = Field(max_length=200)
    status: str = Field(max_length=32, index=True)
    stage: str = Field(max_length=64)
    input: dict[str, Any] | None = _json()
    result: dict[str, Any] | None = _json()
    error: dict[str, Any] | None = _json()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Brief(SQLModel, table=True):
    __tablename__ = "briefs"
    __table_args__ = (
        # A campaign asks whether a niche already has a brief (cosine, ADR 0017).
        Index(
            "ix_briefs_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(unique=True, max_length=200)
    keyword: str = Field(max_length=200)
    title: str = Field(max_length=140)
    data: dict[str, Any] | None = _json(nullable=False)
    embedding: list[float] | None = Field(
        default=None, sa_column=Column(Vector(EMBEDDING_DIMENSIONS), nullable=True)
    )
    embedding_model: str | None = Field(default=None, max_length=100)
    # pending → ready or refused (content screening) → approved (a design was asked for).
    status: str = Field(default="pending", max_length=32)
    screening: dict[str, Any] | None = _json()  # why it was refused
    approved_at: datetime | None = _optional_ts()
    created_at: datetime = _ts()


class Design(SQLModel, table=True):
    __tablename__ = "designs"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(unique=True, max_length=200)
    brief_id: uuid.UUID = Field(foreign_key="briefs.id")
    storage_key: str = Field(max_length=500)
    preview_key: str = Field(max_length=500)
    sha256: str = Field(max_length=64)
    width: int
    height: int
    dpi: int
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = _ts()


class Listing(SQLModel, table=True):
    __tablename__ = "listings"
    # A page of listings, newest first, read in order (migration 0013).
    __table_args__ = (Index("ix_listings_tenant_created", "tenant_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(unique=True, max_length=200)
    design_id: uuid.UUID = Field(foreign_key="designs.id")
    title: str = Field(max_length=140)
    printify_shop_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    printify_product_id: str = Field(max_length=64)
    printify_image_id: str = Field(max_length=64)
    etsy_shop_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    etsy_listing_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    url: str = Field(max_length=500)
    state: str = Field(max_length=32)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class RefKind(StrEnum):
    """What a recorded vendor id is (`external_refs.kind`)."""

    PRINTIFY_UPLOAD = "printify_upload"
    PRINTIFY_PRODUCT = "printify_product"
    ETSY_LISTING = "etsy_listing"
    ETSY_LISTING_IMAGE = "etsy_listing_image"


class ExternalRef(SQLModel, table=True):
    """An id a vendor gave us for one step of one workflow: the idempotency record."""

    __tablename__ = "external_refs"
    # Webhooks name only the vendor's id: they find the run (and its tenant) through it.
    __table_args__ = (
        Index("ix_external_refs_kind_external_id", "kind", "external_id", unique=True),
    )

    workflow_id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(index=True, max_length=64)
    external_id: str = Field(max_length=200)
    created_at: datetime = _ts()


class TrendSignal(SQLModel, table=True):
    """A trending niche: every source and day that saw it, merged into one (ADR 0017)."""

    __tablename__ = "trend_signals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "niche_key", name="uq_trend_niche"),
        Index("ix_trend_signals_tenant_score", "tenant_id", "score"),
        Index("ix_trend_signals_tenant_last_seen", "tenant_id", "last_seen"),
        # Approximate nearest neighbours by cosine distance (`embedding <=> :vector`).
        Index(
            "ix_trend_signals_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(index=True, max_length=64)
    keyword: str = Field(max_length=200)  # as first seen
    normalized_keyword: str = Field(max_length=200)
    # Sorted content words (`domain.niches.niche_key`): equal keys are one niche.
    niche_key: str = Field(max_length=200)
    aliases: list[str] | None = _json()  # other keywords merged into it (bounded)
    sources: dict[str, Any] | None = _json()  # per source: first/last seen, count
    metrics: dict[str, Any] | None = _json()  # `domain.trend_score` aggregates
    observations: int = 0
    score: float = 0.0
    score_components: dict[str, Any] | None = _json()
    embedding: list[float] | None = Field(
        default=None, sa_column=Column(Vector(EMBEDDING_DIMENSIONS), nullable=True)
    )
    # The embedder that made `embedding`: vectors are compared only within one.
    embedding_model: str | None = Field(default=None, max_length=100)
    first_seen: datetime = _ts()
    last_seen: datetime = _ts()


class Campaign(SQLModel, table=True):
    """A campaign: the top signals of a tenant turned into listings, one outcome each."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("tenant_id", "request_key", name="uq_campaign_request"),)

    id: str = Field(primary_key=True, max_length=200)  # its workflow id
    tenant_id: str = Field(index=True, max_length=64)
    request_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    options: dict[str, Any] | None = _json()
    status: str = Field(default="running", max_length=32)
    outcomes: list[dict[str, Any]] | None = _json()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


# --- tenancy, access and billing ---------------------------------------------------------


class Tenant(SQLModel, table=True):
    """A seller's account: its plan and any limits an operator overrode for it."""

    __tablename__ = "tenants"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    plan: str = Field(max_length=32)
    limits: dict[str, Any] | None = _json()
    created_at: datetime = _ts()


class Member(SQLModel, table=True):
    """A seat: one person of the tenant with one role."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("tenant_id", "email", name="uq_member_email"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    email: str = Field(max_length=254)
    role: str = Field(max_length=16)
    created_at: datetime = _ts()


class ApiKey(SQLModel, table=True):
    """An API key of a member: only its public prefix and a SHA-256 of the key are stored."""

    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    member_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
    )
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=32, unique=True)
    secret_hash: str = Field(max_length=64)
    scopes: list[str] | None = _json()
    expires_at: datetime | None = _optional_ts()
    revoked_at: datetime | None = _optional_ts()
    last_used_at: datetime | None = _optional_ts()
    created_at: datetime = _ts()


class Integration(SQLModel, table=True):
    """A tenant's connection to a vendor; tokens are stored encrypted (`core.crypto`)."""

    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("tenant_id", "vendor", name="uq_integration_vendor"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    vendor: str = Field(max_length=32)
    status: str = Field(max_length=32)
    shop_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # The vendor's id of the connected user (Etsy: the numeric prefix of its tokens).
    external_user_id: str | None = Field(default=None, max_length=64)
    access_token_enc: str = Field(sa_column=Column(Text, nullable=False))
    refresh_token_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    token_expires_at: datetime | None = _optional_ts()
    # What the vendor says of the shop (Etsy: its shipping profiles, return policies and
    # processing profiles; services.shop_setup), and the seller's defaults among them.
    shop_setup: dict[str, Any] | None = _json()
    listing_defaults: dict[str, Any] | None = _json()
    # Etsy: the scopes its access token was granted, as Etsy's `tokenScopes` said (None:
    # not known, a connection from before they were read; migration 0015).
    scopes: list[str] | None = _json()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class OAuthState(SQLModel, table=True):
    """A pending OAuth authorization: the state's digest, the tenant it connects, and the
    PKCE code verifier (encrypted), until the callback uses it once or it expires."""

    __tablename__ = "oauth_states"

    state_hash: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    member_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    vendor: str = Field(max_length=32)
    verifier_enc: str = Field(sa_column=Column(Text, nullable=False))
    redirect_uri: str = Field(max_length=500)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = _ts()


class RunCount(SQLModel, table=True):
    """How many runs a tenant started in a billing period (`YYYY-MM`, UTC): what the
    workflow quota is checked against. Kept by a trigger on `workflow_runs` (insert +1,
    delete -1; migration 0012), so every way a run is recorded counts, and a start reads
    one row under the tenant's lock instead of counting the month's runs (issue 15)."""

    __tablename__ = "run_counts"

    tenant_id: str = Field(primary_key=True, max_length=64)
    period: str = Field(primary_key=True, max_length=7)
    started: int = 0


class PendingImages(SQLModel, table=True):
    """How many of a tenant's runs under way will make an image not yet metered: what a
    start's image quota adds to the images made. Kept by triggers on `workflow_runs` and
    `usage_events` (migration 0018), so a start reads one row under the tenant's lock
    instead of counting the runs waiting for approval."""

    __tablename__ = "pending_images"

    tenant_id: str = Field(primary_key=True, max_length=64)
    runs: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class UsageEvent(SQLModel, table=True):
    """One metered unit: a completed stage of one workflow, counted once."""

    __tablename__ = "usage_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "workflow_id", "metric", name="uq_usage_once"),
        Index("ix_usage_tenant_period", "tenant_id", "period", "metric"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(max_length=64)
    workflow_id: str = Field(max_length=200)
    metric: str = Field(max_length=32)
    period: str = Field(max_length=7)
    quantity: int = 1
    created_at: datetime = _ts()


class CostLine(SQLModel, table=True):
    """What one attempt of one paid stage consumed at a model vendor, with its estimate.

    One line per (workflow, stage, attempt, model): a retried stage that called the vendor
    again really did cost again, so it gets its own line; recording the same attempt twice
    does not add one.
    """

    __tablename__ = "cost_lines"
    __table_args__ = (
        UniqueConstraint("workflow_id", "stage", "attempt", "model", name="uq_cost_line_attempt"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(index=True, max_length=200)
    stage: str = Field(max_length=64)
    attempt: int = 1
    vendor: str = Field(max_length=32)
    model: str = Field(max_length=100)
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    calls: int = 0
    cost_micros: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = _ts()


class WebhookEvent(SQLModel, table=True):
    """A vendor webhook event already acted on, so a redelivery changes nothing."""

    __tablename__ = "webhook_events"

    vendor: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(index=True, max_length=64)
    topic: str = Field(max_length=64)
    received_at: datetime = _ts()


class ProductTemplateRecord(SQLModel, table=True):
    """A tenant's product template: what to make on Printify and how to price it.

    Runs copy the template into their input when they start, so editing or deleting a
    template never changes a run already under way.
    """

    __tablename__ = "product_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_template_name"),
        # At most one default template per tenant.
        Index(
            "uq_template_default",
            "tenant_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    name: str = Field(max_length=100)
    blueprint_id: int
    print_provider_id: int
    variant_ids: list[int] = Field(sa_column=Column(JSONB, nullable=False))
    position: str = Field(max_length=32)
    pricing: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    # The seller's Etsy shop's profiles for listings of this template (None: the Etsy
    # integration's default, or the shop's only one).
    etsy_shipping_profile_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    etsy_return_policy_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    etsy_readiness_state_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    is_default: bool = False
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ProtectedNameRecord(SQLModel, table=True):
    """A name a tenant protects on top of the platform's list (brands it licenses away,
    a client's marks): briefs and campaign signals naming it are refused like any other
    protected name. `key` is its normalised form, so spellings of one name are one row."""

    __tablename__ = "protected_names"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_protected_name"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    name: str = Field(max_length=100)
    key: str = Field(max_length=200)
    # Ambiguous everyday words match only beside one of these (as in the platform list).
    context: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = _ts()


# --- orders (issue 16, ADR 0031) -------------------------------------------------------------


class OrderStatus(StrEnum):
    """Where a buyer's order is: from the paid Etsy receipt to the shipment on Etsy."""

    RECEIVED = "received"  # read from Etsy, not yet sent to Printify
    SUBMITTED = "submitted"  # a Printify order exists, not yet in production
    IN_PRODUCTION = "in_production"
    SHIPPED = "shipped"  # Printify shipped it (the tracking goes to Etsy once)
    ON_HOLD = "on_hold"  # waits for the seller: `hold_reason` says why
    CANCELLED = "cancelled"
    FAILED = "failed"  # Printify cancelled or could not make it


class Order(SQLModel, table=True):
    """A paid Etsy receipt with items of our listings, and the Printify order made for it.

    One row per receipt and tenant, whatever is read twice; `printify_order_id` is set
    once, and `etsy_shipment_at` once the tracking is on the receipt.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "etsy_receipt_id", name="uq_order_receipt"),
        Index("ix_orders_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_orders_tenant_status", "tenant_id", "status"),
        # Printify's events name only its order id.
        Index("ix_orders_printify_order", "printify_order_id", unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    etsy_shop_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    etsy_receipt_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(max_length=32)
    # `platform`: we forward it to Printify; `printify`: an Etsy-channel Printify shop,
    # which imports its orders itself (read for the sales figures only).
    fulfilment: str = Field(default="platform", max_length=16)
    hold_reason: str | None = Field(default=None, max_length=64)
    hold_message: str | None = Field(default=None, max_length=500)
    printify_shop_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    printify_order_id: str | None = Field(default=None, max_length=64)
    items: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    # The buyer's name and address as Etsy gave them (what Printify ships to).
    address: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    amounts: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    tracking: dict[str, Any] | None = _json()
    etsy_shipment_at: datetime | None = _optional_ts()
    # Who may act on the order with a vendor until when (a sync's activity), so two syncs
    # never both submit it or both post its tracking.
    lease_owner: str | None = Field(default=None, max_length=300)
    lease_until: datetime | None = _optional_ts()
    receipt_updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class OrderSync(SQLModel, table=True):
    """A tenant's order sync: how far Etsy's receipts were read, and its setting."""

    __tablename__ = "order_syncs"

    tenant_id: str = Field(foreign_key="tenants.id", primary_key=True, max_length=64)
    # Orders go to production at once (True) or wait for the seller in Printify.
    auto_production: bool = True
    # The newest receipt change read (Etsy's `updated_timestamp`, epoch seconds).
    checkpoint: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_synced_at: datetime | None = _optional_ts()
    updated_at: datetime = _ts()


class ListingStats(SQLModel, table=True):
    """One listing's numbers on one day (UTC): Etsy's views and favourites as counted that
    day, and its orders, units, revenue and margin to date (migration 0016)."""

    __tablename__ = "listing_stats"
    __table_args__ = (Index("ix_listing_stats_tenant_day", "tenant_id", "day"),)

    listing_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True)
    )
    day: date = Field(sa_column=Column(Date, primary_key=True))
    tenant_id: str = Field(max_length=64)
    views: int = 0
    favorites: int = 0
    orders: int = 0
    units: int = 0
    revenue_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    margin_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = _ts()
