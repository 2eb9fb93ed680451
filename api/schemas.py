"""Request and response models of the HTTP API (validated by pydantic)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.payloads import RunStatus


class ErrorBody(BaseModel):
    code: str = Field(examples=["NOT_FOUND"])
    message: str = Field(examples=["workflow dtl-dev-0123 not found"])
    details: dict[str, Any] | None = None


class ProductTemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    blueprint_id: int = Field(default=6, gt=0)
    print_provider_id: int = Field(default=99, gt=0)
    variant_ids: list[int] = Field(
        default_factory=lambda: [12100, 12101, 12102, 12103], min_length=1, max_length=100
    )
    price_cents: int = Field(default=2499, gt=0, le=1_000_000)
    position: Literal["front", "back"] = "front"


class DesignToListingRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"keyword": "retro hiking dog dad"}]},
    )

    keyword: str = Field(min_length=2, max_length=80, examples=["retro hiking dog dad"])
    template: ProductTemplateIn = Field(default_factory=ProductTemplateIn)
    require_approval: bool = False
    approval_timeout_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)
    printify_shop_id: int | None = Field(default=None, gt=0)
    etsy_shop_id: int | None = Field(default=None, gt=0)


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


class WorkflowLinks(BaseModel):
    self: str
    temporal_ui: str


class WorkflowView(BaseModel):
    """A run as the API shows it: live state while running, recorded state after."""

    workflow_id: str
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


class WorkflowPage(BaseModel):
    data: list[WorkflowView]
    count: int


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


class ListingPage(BaseModel):
    data: list[ListingPublic]
    count: int


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


class Health(BaseModel):
    status: Literal["ok"]
