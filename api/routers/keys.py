"""API keys of the tenant: list, create (the key is shown once), revoke."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request, status

from api.auth import KeysRead, KeysWrite, forget_cached_keys
from api.deps import SessionDep
from api.hygiene import KnownQueryRoute
from api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyPage, ApiKeyPublic, ErrorBody
from domain import errors
from domain.errors import DomainError
from domain.rbac import ROLE_PERMISSIONS, Role, can_manage, may_issue_for
from models import repositories
from models.tables import utcnow
from services.accounts import issue_key

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/api-keys", tags=["api keys"])
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such key (or member) in this tenant"}
}


@router.get("", operation_id="list_api_keys", response_model=ApiKeyPage)
async def list_api_keys(session: SessionDep, principal: KeysRead) -> ApiKeyPage:
    """The tenant's keys, newest first: prefixes and metadata, never the keys."""
    keys = await repositories.accounts.list_api_keys(session, tenant_id=principal.tenant_id)
    data = [ApiKeyPublic.model_validate(k, from_attributes=True) for k in keys]
    return ApiKeyPage(data=data, count=len(data))


@router.post(
    "",
    operation_id="create_api_key",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=NOT_FOUND,
)
async def create_api_key(
    body: ApiKeyIn, session: SessionDep, principal: KeysWrite
) -> ApiKeyCreated:
    """A new key for a member (the caller by default), limited to the given scopes."""
    member_id = body.member_id or principal.member_id
    member = await repositories.accounts.get_member(
        session, tenant_id=principal.tenant_id, member_id=member_id
    )
    role = Role(member.role)
    if member.id != principal.member_id and not may_issue_for(principal.role, role):
        raise DomainError(errors.FORBIDDEN, f"a {principal.role} may not create keys for a {role}")
    scopes = sorted({s.value for s in body.scopes}) if body.scopes is not None else None
    role_scopes = {p.value for p in ROLE_PERMISSIONS[role]}
    beyond = sorted(set(scopes or ()) - role_scopes)
    if beyond:
        raise DomainError(
            errors.SCOPE_BEYOND_ROLE,
            f"a {role} cannot hold these scopes",
            {"scopes": beyond, "role": role.value},
        )
    # A key can only hand on what it holds itself (no escalation through a narrow key).
    wanted = set(scopes) if scopes is not None else role_scopes
    lacking = sorted(wanted - {p.value for p in principal.permissions})
    if lacking:
        raise DomainError(
            errors.SCOPE_BEYOND_KEY,
            "a key cannot create a key with permissions it does not hold",
            {"scopes": lacking},
        )
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    key, plain = await issue_key(
        session,
        tenant_id=principal.tenant_id,
        member_id=member.id,
        name=body.name,
        scopes=scopes,
        expires_at=expires,
    )
    await session.commit()
    public = ApiKeyPublic.model_validate(key, from_attributes=True)
    return ApiKeyCreated(**public.model_dump(), key=plain)


@router.delete(
    "/{key_id}", operation_id="revoke_api_key", response_model=ApiKeyPublic, responses=NOT_FOUND
)
async def revoke_api_key(
    key_id: uuid.UUID, session: SessionDep, request: Request, principal: KeysWrite
) -> ApiKeyPublic:
    """Revoke a key at once (repeating it changes nothing)."""
    key = await repositories.accounts.get_api_key(
        session, tenant_id=principal.tenant_id, key_id=key_id
    )
    if key.member_id is not None:
        owner = await repositories.accounts.get_member(
            session, tenant_id=principal.tenant_id, member_id=key.member_id
        )
        if not can_manage(principal.role, Role(owner.role)):
            raise DomainError(
                errors.FORBIDDEN, f"a {principal.role} may not revoke a key of a {owner.role}"
            )
    key = await repositories.accounts.revoke_api_key(
        session, tenant_id=principal.tenant_id, key_id=key_id
    )
    await session.commit()
    await forget_cached_keys(request)
    return ApiKeyPublic.model_validate(key, from_attributes=True)
