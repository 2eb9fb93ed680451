"""SQLModel tables: the business records. Temporal holds execution state; these hold results.

Every row carries `tenant_id`; repository functions always filter on it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import BigInteger, Column, DateTime, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

EMBEDDING_DIMENSIONS = 384


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSONB, nullable=nullable))


class WorkflowRun(SQLModel, table=True):
    """One design-to-listing request: who asked, with which key, and how it ended."""

    __tablename__ = "workflow_runs"
    __table_args__ = (UniqueConstraint("tenant_id", "request_key", name="uq_run_request_key"),)

    workflow_id: str = Field(primary_key=True, max_length=200)
    tenant_id: str = Field(index=True, max_length=64)
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

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(unique=True, max_length=200)
    keyword: str = Field(max_length=200)
    title: str = Field(max_length=140)
    data: dict[str, Any] | None = _json(nullable=False)
    embedding: list[float] | None = Field(
        default=None, sa_column=Column(Vector(EMBEDDING_DIMENSIONS), nullable=True)
    )
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


class ExternalRef(SQLModel, table=True):
    """An id a vendor gave us for one step of one workflow: the idempotency record."""

    __tablename__ = "external_refs"

    workflow_id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(index=True, max_length=64)
    external_id: str = Field(max_length=200)
    created_at: datetime = _ts()


class TrendSignal(SQLModel, table=True):
    """A trending niche (filled by the trends service; ready for pgvector similarity)."""

    __tablename__ = "trend_signals"
    __table_args__ = (UniqueConstraint("tenant_id", "normalized_keyword", name="uq_trend_kw"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: str = Field(index=True, max_length=64)
    keyword: str = Field(max_length=200)
    normalized_keyword: str = Field(max_length=200)
    sources: dict[str, Any] | None = _json()
    metrics: dict[str, Any] | None = _json()
    score: float = 0.0
    embedding: list[float] | None = Field(
        default=None, sa_column=Column(Vector(EMBEDDING_DIMENSIONS), nullable=True)
    )
    first_seen: datetime = _ts()
    last_seen: datetime = _ts()
