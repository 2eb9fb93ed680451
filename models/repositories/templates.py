"""Product templates of a tenant, and a run's copy of one.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.pricing import PricingRule
from models.payloads import ProductTemplate
from models.repositories.errors import NotFoundError
from models.tables import (
    ProductTemplateRecord,
    utcnow,
)


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
        etsy_shipping_profile_id=saved.etsy_shipping_profile_id,
        etsy_return_policy_id=saved.etsy_return_policy_id,
        etsy_readiness_state_id=saved.etsy_readiness_state_id,
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
