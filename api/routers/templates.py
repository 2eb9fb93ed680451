"""Product templates: blueprint, print provider, enabled variants, placement and pricing.

A template is checked against the Printify catalog when it is saved (the variants must
be the provider's, the position one of their print areas), so a bad template fails
here and not halfway through a run. A run copies its template when it starts.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.exc import IntegrityError

from api.auth import TemplatesRead, TemplatesWrite
from api.deps import SessionDep, VendorsDep
from api.hygiene import KnownQueryRoute
from api.routers.catalog import provider_variants
from api.schemas import ErrorBody, TemplateIn, TemplatePage, TemplatePublic
from domain import errors
from domain.errors import DomainError, ErrorKind
from models import repositories
from models.tables import ProductTemplateRecord
from services.vendors import VendorGateway

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/templates", tags=["templates"])
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such template in this tenant"}
}
SAVE_ERRORS: dict[int | str, dict[str, object]] = {
    409: {"model": ErrorBody, "description": "Name taken, or no Printify integration"},
    422: {"model": ErrorBody, "description": "Not a valid template for the catalog"},
    502: {"model": ErrorBody, "description": "Printify did not answer as expected"},
}


def _public(row: ProductTemplateRecord) -> TemplatePublic:
    return TemplatePublic.model_validate(row, from_attributes=True)


async def _check_catalog(
    request: Request, vendors: VendorGateway, tenant_id: str, body: TemplateIn
) -> None:
    """422 unless the variants are the provider's and have a print area at the position."""
    try:
        variants = await provider_variants(
            request, vendors, tenant_id, body.blueprint_id, body.print_provider_id
        )
    except DomainError as exc:
        if exc.kind != ErrorKind.NOT_FOUND:
            raise
        raise DomainError(
            errors.TEMPLATE_INVALID,
            "the print provider does not make this blueprint",
            {"blueprint_id": body.blueprint_id, "print_provider_id": body.print_provider_id},
        ) from None
    offered = {variant.id: variant for variant in variants}
    unknown = [v for v in body.variant_ids if v not in offered]
    if unknown:
        raise DomainError(
            errors.TEMPLATE_INVALID,
            "some variants are not offered by this print provider",
            {"unknown_variant_ids": unknown},
        )
    unplaceable = [
        v
        for v in body.variant_ids
        if not any(p.position == body.position for p in offered[v].placeholders)
    ]
    if unplaceable:
        raise DomainError(
            errors.TEMPLATE_INVALID,
            f"some variants have no {body.position} print area",
            {"variant_ids": unplaceable, "position": body.position},
        )


async def _save(
    session: SessionDep, tenant_id: str, row: ProductTemplateRecord
) -> ProductTemplateRecord:
    name = row.name  # the row is expired by a rollback
    try:
        saved = await repositories.templates.save_template(
            session, tenant_id=tenant_id, template=row
        )
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        if "uq_template_default" in str(exc.orig):
            # Another default was saved at the same moment; the seller may simply retry.
            raise DomainError(
                errors.TEMPLATE_DEFAULT_CONFLICT, "another default template was just saved"
            ) from None
        raise DomainError(
            errors.TEMPLATE_NAME_TAKEN, "another template has this name", {"name": name}
        ) from None
    return saved


def _fields(body: TemplateIn) -> dict[str, Any]:
    return {
        "name": body.name,
        "blueprint_id": body.blueprint_id,
        "print_provider_id": body.print_provider_id,
        "variant_ids": list(body.variant_ids),
        "position": body.position,
        "pricing": body.pricing.model_dump(),
        "etsy_shipping_profile_id": body.etsy_shipping_profile_id,
        "etsy_return_policy_id": body.etsy_return_policy_id,
        "etsy_readiness_state_id": body.etsy_readiness_state_id,
        "is_default": body.is_default,
    }


@router.get("", operation_id="list_templates", response_model=TemplatePage)
async def list_templates(session: SessionDep, principal: TemplatesRead) -> TemplatePage:
    """The tenant's templates, by name."""
    rows = await repositories.templates.list_templates(session, tenant_id=principal.tenant_id)
    return TemplatePage(data=[_public(row) for row in rows], count=len(rows))


@router.post(
    "",
    operation_id="create_template",
    response_model=TemplatePublic,
    status_code=status.HTTP_201_CREATED,
    responses=SAVE_ERRORS,
)
async def create_template(
    body: TemplateIn,
    request: Request,
    session: SessionDep,
    vendors: VendorsDep,
    principal: TemplatesWrite,
) -> TemplatePublic:
    """Save a template (checked against the catalog). `is_default` makes it the one runs
    use when they name no template."""
    await _check_catalog(request, vendors, principal.tenant_id, body)
    row = ProductTemplateRecord(tenant_id=principal.tenant_id, **_fields(body))
    return _public(await _save(session, principal.tenant_id, row))


@router.get(
    "/{template_id}",
    operation_id="get_template",
    response_model=TemplatePublic,
    responses=NOT_FOUND,
)
async def get_template(
    template_id: uuid.UUID, session: SessionDep, principal: TemplatesRead
) -> TemplatePublic:
    row = await repositories.templates.get_template(
        session, tenant_id=principal.tenant_id, template_id=template_id
    )
    return _public(row)


@router.put(
    "/{template_id}",
    operation_id="replace_template",
    response_model=TemplatePublic,
    responses={**NOT_FOUND, **SAVE_ERRORS},
)
async def replace_template(
    template_id: uuid.UUID,
    body: TemplateIn,
    request: Request,
    session: SessionDep,
    vendors: VendorsDep,
    principal: TemplatesWrite,
) -> TemplatePublic:
    """Replace a template. Runs already started keep the copy they started with."""
    row = await repositories.templates.get_template(
        session, tenant_id=principal.tenant_id, template_id=template_id
    )
    await _check_catalog(request, vendors, principal.tenant_id, body)
    row.sqlmodel_update(_fields(body))
    return _public(await _save(session, principal.tenant_id, row))


@router.delete(
    "/{template_id}",
    operation_id="delete_template",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
async def delete_template(
    template_id: uuid.UUID, session: SessionDep, principal: TemplatesWrite
) -> Response:
    """Delete a template. Runs already started keep the copy they started with."""
    row = await repositories.templates.get_template(
        session, tenant_id=principal.tenant_id, template_id=template_id
    )
    await session.delete(row)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
