"""A tenant's own protected names, screened beside the platform's bundled list.

Briefs and campaign signals that name one are refused like any trademark on the
platform's list (ADR 0025): a seller adds the brands of a client, a licence they do not
hold, or a name a takedown taught them. Names are matched normalised, so two spellings
of one name are one entry (409 on the second).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.exc import IntegrityError

from api.auth import ProtectedNamesRead, ProtectedNamesWrite
from api.deps import SessionDep
from api.hygiene import KnownQueryRoute
from api.schemas import ErrorBody, ProtectedNameIn, ProtectedNamePage, ProtectedNamePublic
from domain import errors
from domain.errors import DomainError
from integrations.ip_screen import name_key
from models import repositories
from models.tables import ProtectedNameRecord

router = APIRouter(
    route_class=KnownQueryRoute, prefix="/v1/protected-names", tags=["protected names"]
)


def _public(row: ProtectedNameRecord) -> ProtectedNamePublic:
    return ProtectedNamePublic.model_validate(row, from_attributes=True)


@router.get("", operation_id="list_protected_names", response_model=ProtectedNamePage)
async def list_protected_names(
    session: SessionDep,
    principal: ProtectedNamesRead,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ProtectedNamePage:
    """The tenant's own protected names, alphabetical (the platform's list is not shown)."""
    rows, count = await repositories.protected_names.list_names(
        session, tenant_id=principal.tenant_id, limit=limit, offset=offset
    )
    return ProtectedNamePage(data=[_public(row) for row in rows], count=count)


@router.post(
    "",
    operation_id="add_protected_name",
    response_model=ProtectedNamePublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"model": ErrorBody, "description": "The tenant protects this name already"},
        422: {"model": ErrorBody, "description": "Not a name (no letters or digits)"},
    },
)
async def add_protected_name(
    body: ProtectedNameIn, response: Response, session: SessionDep, principal: ProtectedNamesWrite
) -> ProtectedNamePublic:
    """Protect a name: from now on briefs and signals naming it are refused."""
    key = name_key(body.name)
    if not key:
        raise DomainError(
            errors.INVALID_INPUT, "a protected name needs letters or digits", {"name": body.name}
        )
    # As written (lower case): the matcher reads context words as it reads the list's.
    context = list(dict.fromkeys(w.lower() for w in body.context if name_key(w)))
    row = ProtectedNameRecord(
        tenant_id=principal.tenant_id, name=body.name, key=key, context=context, note=body.note
    )
    try:
        saved = await repositories.protected_names.add_name(
            session, tenant_id=principal.tenant_id, name=row
        )
        public = _public(saved)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        existing = await repositories.protected_names.get_by_key(
            session, tenant_id=principal.tenant_id, key=key
        )
        raise DomainError(
            errors.PROTECTED_NAME_EXISTS,
            "the tenant protects this name already",
            {"name": body.name, "id": str(existing.id) if existing else None},
        ) from None
    response.headers["Location"] = f"/v1/protected-names/{public.id}"
    return public


@router.delete(
    "/{name_id}",
    operation_id="delete_protected_name",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={404: {"model": ErrorBody, "description": "No such name in this tenant"}},
)
async def delete_protected_name(
    name_id: uuid.UUID, session: SessionDep, principal: ProtectedNamesWrite
) -> Response:
    """Stop protecting a name. Runs already refused stay refused."""
    await repositories.protected_names.delete_name(
        session, tenant_id=principal.tenant_id, name_id=name_id
    )
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
