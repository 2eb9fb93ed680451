"""Tenant-scoped queries. Every function takes the session and the tenant keyword-only;
none commits — the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain import errors
from domain.errors import DomainError
from domain.pricing import PricingRule
from models.payloads import LIVE_STATUSES, PrintFile, ProductTemplate
from models.tables import (
    Brief,
    CostLine,
    Design,
    ExternalRef,
    Listing,
    ProductTemplateRecord,
    TrendSignal,
    WorkflowRun,
    utcnow,
)


class NotFoundError(DomainError):
    """A record does not exist for this tenant (another tenant's record counts as absent)."""

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(errors.NOT_FOUND, f"{entity} {key} not found")
        self.entity = entity
        self.key = key


# --- workflow runs -----------------------------------------------------------------------


async def create_run_if_absent(
    session: AsyncSession,
    *,
    tenant_id: str,
    workflow_id: str,
    request_key: str,
    request_hash: str,
    keyword: str,
    input: dict[str, Any],
    status: str,
    stage: str,
    kind: str = "design_to_listing",
) -> tuple[WorkflowRun, bool]:
    """Insert the run unless this tenant already used the request key; return (run, created)."""
    statement = (
        insert(WorkflowRun)
        .values(
            workflow_id=workflow_id,
            tenant_id=tenant_id,
            kind=kind,
            request_key=request_key,
            request_hash=request_hash,
            keyword=keyword,
            input=input,
            status=status,
            stage=stage,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(col(WorkflowRun.workflow_id))
    )
    created = (await session.exec(statement)).first() is not None
    run = await get_run_by_request_key(session, tenant_id=tenant_id, request_key=request_key)
    if run is None:  # only on a workflow-id hash collision with another request: never share
        raise NotFoundError("workflow", workflow_id)
    return run, created


async def get_run_by_request_key(
    session: AsyncSession, *, tenant_id: str, request_key: str
) -> WorkflowRun | None:
    query = select(WorkflowRun).where(
        WorkflowRun.tenant_id == tenant_id, WorkflowRun.request_key == request_key
    )
    return (await session.exec(query)).first()


async def get_run(session: AsyncSession, *, tenant_id: str, workflow_id: str) -> WorkflowRun | None:
    query = select(WorkflowRun).where(
        WorkflowRun.tenant_id == tenant_id, WorkflowRun.workflow_id == workflow_id
    )
    return (await session.exec(query)).first()


async def get_run_or_raise(
    session: AsyncSession, *, tenant_id: str, workflow_id: str
) -> WorkflowRun:
    run = await get_run(session, tenant_id=tenant_id, workflow_id=workflow_id)
    if run is None:
        raise NotFoundError("workflow", workflow_id)
    return run


async def list_runs(
    session: AsyncSession, *, tenant_id: str, status: str | None, limit: int, offset: int
) -> tuple[Sequence[WorkflowRun], int]:
    """A page of the tenant's runs, newest first, and the total count."""
    where = [WorkflowRun.tenant_id == tenant_id]
    if status is not None:
        where.append(WorkflowRun.status == status)
    query = (
        select(WorkflowRun)
        .where(*where)
        .order_by(col(WorkflowRun.created_at).desc(), col(WorkflowRun.workflow_id))
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.exec(query)).all()
    count_query = select(func.count()).select_from(WorkflowRun).where(*where)
    total = (await session.exec(count_query)).one()
    return rows, int(total)


async def update_run(
    session: AsyncSession,
    *,
    tenant_id: str,
    workflow_id: str,
    stage: str,
    status: str,
    error: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
) -> WorkflowRun:
    run = await get_run_or_raise(session, tenant_id=tenant_id, workflow_id=workflow_id)
    run.stage = stage
    run.status = status
    run.error = error
    if result is not None:
        run.result = result
    run.updated_at = utcnow()
    session.add(run)
    return run


# --- briefs, designs, listings ---------------------------------------------------------------


async def get_brief_for_workflow(
    session: AsyncSession, *, tenant_id: str, workflow_id: str
) -> Brief | None:
    query = select(Brief).where(Brief.tenant_id == tenant_id, Brief.workflow_id == workflow_id)
    return (await session.exec(query)).first()


async def save_brief(
    session: AsyncSession,
    *,
    tenant_id: str,
    workflow_id: str,
    keyword: str,
    data: dict[str, Any],
    embedding: list[float] | None = None,
    embedding_model: str | None = None,
) -> Brief:
    """Store the workflow's brief once; a retried activity gets the stored one back."""
    existing = await get_brief_for_workflow(session, tenant_id=tenant_id, workflow_id=workflow_id)
    if existing is not None:
        return existing
    brief = Brief(
        tenant_id=tenant_id,
        workflow_id=workflow_id,
        keyword=keyword,
        title=str(data["title"]),
        data=data,
        embedding=embedding,
        embedding_model=embedding_model if embedding is not None else None,
    )
    session.add(brief)
    await session.flush()
    return brief


async def list_briefs(
    session: AsyncSession, *, tenant_id: str, status: str | None, limit: int, offset: int
) -> tuple[Sequence[Brief], int]:
    """A page of the tenant's briefs, newest first, and the total count."""
    where = [Brief.tenant_id == tenant_id]
    if status is not None:
        where.append(Brief.status == status)
    query = (
        select(Brief)
        .where(*where)
        .order_by(col(Brief.created_at).desc(), col(Brief.id))
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.exec(query)).all()
    total = (await session.exec(select(func.count()).select_from(Brief).where(*where))).one()
    return rows, int(total)


async def get_brief(session: AsyncSession, *, tenant_id: str, brief_id: uuid.UUID) -> Brief:
    brief = await session.get(Brief, brief_id)
    if brief is None or brief.tenant_id != tenant_id:
        raise NotFoundError("brief", brief_id)
    return brief


async def approve_brief(session: AsyncSession, *, brief: Brief) -> None:
    """Mark a screened brief as chosen by the seller (the first approval is kept)."""
    if brief.approved_at is None:
        brief.approved_at = utcnow()
    brief.status = "approved"
    session.add(brief)
    await session.flush()


async def get_listing_of_design(
    session: AsyncSession, *, tenant_id: str, design_id: uuid.UUID
) -> Listing | None:
    query = select(Listing).where(Listing.tenant_id == tenant_id, Listing.design_id == design_id)
    return (await session.exec(query)).first()


async def live_runs_listing_design(
    session: AsyncSession, *, tenant_id: str, design_id: uuid.UUID, made_by: str
) -> Sequence[str]:
    """Runs under way that will list the design: publish runs of it, and the whole run
    that made it (which lists it at its end)."""
    query = select(WorkflowRun.workflow_id).where(
        WorkflowRun.tenant_id == tenant_id,
        col(WorkflowRun.status).in_(sorted(LIVE_STATUSES)),
        or_(
            and_(
                col(WorkflowRun.kind) == "publish",
                WorkflowRun.input["print_file"]["design_id"].astext == str(design_id),  # type: ignore[index]
            ),
            and_(
                col(WorkflowRun.kind) == "design_to_listing",
                col(WorkflowRun.workflow_id) == made_by,
            ),
        ),
    )
    return (await session.exec(query)).all()


async def get_trend_signal(
    session: AsyncSession, *, tenant_id: str, signal_id: uuid.UUID
) -> TrendSignal:
    signal = await session.get(TrendSignal, signal_id)
    if signal is None or signal.tenant_id != tenant_id:
        raise NotFoundError("trend signal", signal_id)
    return signal


async def set_brief_screening(
    session: AsyncSession,
    *,
    tenant_id: str,
    workflow_id: str,
    status: str,
    screening: dict[str, Any] | None = None,
) -> None:
    """Record the content screening verdict of the workflow's brief (ready or refused)."""
    await session.exec(
        update(Brief)
        .where(
            col(Brief.tenant_id) == tenant_id,
            col(Brief.workflow_id) == workflow_id,
            col(Brief.status) == "pending",
        )
        .values(status=status, screening=screening)
    )


async def get_design_for_workflow(
    session: AsyncSession, *, tenant_id: str, workflow_id: str
) -> Design | None:
    query = select(Design).where(Design.tenant_id == tenant_id, Design.workflow_id == workflow_id)
    return (await session.exec(query)).first()


async def save_design(session: AsyncSession, *, tenant_id: str, design: Design) -> Design:
    """Store the workflow's design once (keyed by workflow id)."""
    if design.tenant_id != tenant_id:
        raise ValueError("design belongs to another tenant")
    existing = await get_design_for_workflow(
        session, tenant_id=tenant_id, workflow_id=design.workflow_id
    )
    if existing is not None:
        return existing
    session.add(design)
    await session.flush()
    return design


async def get_design(session: AsyncSession, *, tenant_id: str, design_id: uuid.UUID) -> Design:
    query = select(Design).where(Design.tenant_id == tenant_id, Design.id == design_id)
    design = (await session.exec(query)).first()
    if design is None:
        raise NotFoundError("design", design_id)
    return design


async def upsert_listing(session: AsyncSession, *, tenant_id: str, listing: Listing) -> Listing:
    """Record the workflow's listing, or update the recorded one (keyed by workflow id)."""
    query = select(Listing).where(
        Listing.tenant_id == tenant_id, Listing.workflow_id == listing.workflow_id
    )
    existing = (await session.exec(query)).first()
    if existing is None:
        session.add(listing)
        await session.flush()
        return listing
    for field in ("etsy_listing_id", "url", "state", "printify_product_id", "title"):
        setattr(existing, field, getattr(listing, field))
    existing.updated_at = utcnow()
    session.add(existing)
    return existing


async def list_listings(
    session: AsyncSession, *, tenant_id: str, limit: int, offset: int
) -> tuple[Sequence[Listing], int]:
    where = Listing.tenant_id == tenant_id
    query = (
        select(Listing)
        .where(where)
        .order_by(col(Listing.created_at).desc(), col(Listing.id))
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.exec(query)).all()
    total = (await session.exec(select(func.count()).select_from(Listing).where(where))).one()
    return rows, int(total)


# --- idempotency records ---------------------------------------------------------------------


async def get_external_ref(
    session: AsyncSession, *, tenant_id: str, workflow_id: str, kind: str
) -> str | None:
    query = select(ExternalRef.external_id).where(
        ExternalRef.tenant_id == tenant_id,
        ExternalRef.workflow_id == workflow_id,
        ExternalRef.kind == kind,
    )
    return (await session.exec(query)).first()


class ExternalRefTaken(DomainError):
    """The vendor id is already recorded for another workflow: one id, one owner; no retry
    changes that, so it stops the run (`EXTERNAL_REF_TAKEN`)."""

    def __init__(self, kind: str, external_id: str) -> None:
        super().__init__(
            errors.EXTERNAL_REF_TAKEN,
            f"{kind} {external_id} already belongs to another workflow",
            {"kind": kind, "external_id": external_id},
        )
        self.ref_kind = kind
        self.external_id = external_id


async def put_external_ref(
    session: AsyncSession, *, tenant_id: str, workflow_id: str, kind: str, external_id: str
) -> str:
    """Record the vendor id of a step; the first recorded id wins and is returned.

    Raises `ExternalRefTaken` when another workflow already recorded `external_id`
    (the unique index on `(kind, external_id)`), so two runs never share a vendor object.
    """
    statement = (
        insert(ExternalRef)
        .values(
            tenant_id=tenant_id,
            workflow_id=workflow_id,
            kind=kind,
            external_id=external_id,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    await session.exec(statement)
    stored = await get_external_ref(
        session, tenant_id=tenant_id, workflow_id=workflow_id, kind=kind
    )
    if stored is None:
        raise ExternalRefTaken(kind, external_id)
    return stored


async def external_ref_owners(
    session: AsyncSession, *, kind: str, external_ids: Collection[str]
) -> dict[str, str]:
    """`{external_id: workflow_id}` for those of `external_ids` some workflow recorded."""
    if not external_ids:
        return {}
    query = select(ExternalRef.external_id, ExternalRef.workflow_id).where(
        ExternalRef.kind == kind, col(ExternalRef.external_id).in_(list(external_ids))
    )
    return {external_id: owner for external_id, owner in (await session.exec(query)).all()}


# --- model usage -----------------------------------------------------------------------------


async def add_cost_line(session: AsyncSession, *, line: CostLine) -> None:
    """Record what one attempt of a stage consumed; recording it again changes nothing."""
    values = line.model_dump(exclude={"id"})
    await session.exec(insert(CostLine).values(**values).on_conflict_do_nothing())


async def list_cost_lines(
    session: AsyncSession, *, tenant_id: str, workflow_id: str
) -> Sequence[CostLine]:
    query = (
        select(CostLine)
        .where(CostLine.tenant_id == tenant_id, CostLine.workflow_id == workflow_id)
        .order_by(col(CostLine.created_at))
    )
    return (await session.exec(query)).all()


# --- product templates -------------------------------------------------------------------------


async def list_templates(
    session: AsyncSession, *, tenant_id: str
) -> Sequence[ProductTemplateRecord]:
    query = (
        select(ProductTemplateRecord)
        .where(ProductTemplateRecord.tenant_id == tenant_id)
        .order_by(col(ProductTemplateRecord.name))
    )
    return (await session.exec(query)).all()


async def get_template(
    session: AsyncSession, *, tenant_id: str, template_id: uuid.UUID
) -> ProductTemplateRecord:
    row = await session.get(ProductTemplateRecord, template_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError("template", template_id)
    return row


async def get_default_template(
    session: AsyncSession, *, tenant_id: str
) -> ProductTemplateRecord | None:
    query = select(ProductTemplateRecord).where(
        ProductTemplateRecord.tenant_id == tenant_id, col(ProductTemplateRecord.is_default)
    )
    return (await session.exec(query)).first()


def template_from_record(saved: ProductTemplateRecord) -> ProductTemplate:
    """A run's copy of a saved template (its pricing rule included)."""
    rule = PricingRule(**saved.pricing)
    return ProductTemplate(
        blueprint_id=saved.blueprint_id,
        print_provider_id=saved.print_provider_id,
        variant_ids=list(saved.variant_ids),
        price_cents=rule.price_cents,
        position=saved.position,
        pricing=rule,
        template_id=str(saved.id),
    )


async def save_template(
    session: AsyncSession, *, tenant_id: str, template: ProductTemplateRecord
) -> ProductTemplateRecord:
    """Insert or update `template`; a new default takes over from the tenant's old one.

    A name already used by another template raises `IntegrityError` at flush.
    """
    if template.is_default:
        await session.exec(
            update(ProductTemplateRecord)
            .where(
                col(ProductTemplateRecord.tenant_id) == tenant_id,
                col(ProductTemplateRecord.is_default),
                col(ProductTemplateRecord.id) != template.id,
            )
            .values(is_default=False, updated_at=utcnow())
        )
    template.tenant_id = tenant_id
    template.updated_at = utcnow()
    session.add(template)
    await session.flush()
    return template


def print_file_of(design: Design) -> PrintFile:
    """The payload form of a stored design."""
    return PrintFile(
        design_id=str(design.id),
        storage_key=design.storage_key,
        preview_key=design.preview_key,
        sha256=design.sha256,
        width=design.width,
        height=design.height,
        dpi=design.dpi,
        size_bytes=design.size_bytes,
    )
