"""Who am I, and the tenant's members (seats): list, invite within the plan, remove."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from api.auth import Authenticated, MembersRead, MembersWrite, forget_cached_keys
from api.deps import SessionDep
from api.hygiene import KnownQueryRoute
from api.schemas import ErrorBody, MemberIn, MemberPage, MemberPublic, MemberRoleIn, MePublic
from domain import errors
from domain.errors import DomainError
from domain.rbac import Role, can_manage
from models import repositories
from services import billing

router = APIRouter(route_class=KnownQueryRoute, tags=["members"])
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such member in this tenant"}
}


@router.get("/v1/me", operation_id="get_me", response_model=MePublic)
async def get_me(principal: Authenticated) -> MePublic:
    """The caller: tenant, member, role and what this key may do."""
    return MePublic(
        tenant_id=principal.tenant_id,
        member_id=principal.member_id,
        role=principal.role,
        key_id=principal.key_id,
        permissions=sorted(principal.permissions),
    )


@router.get("/v1/members", operation_id="list_members", response_model=MemberPage)
async def list_members(session: SessionDep, principal: MembersRead) -> MemberPage:
    """Everyone holding a seat in the tenant."""
    members = await repositories.accounts.list_members(session, tenant_id=principal.tenant_id)
    data = [MemberPublic.model_validate(m, from_attributes=True) for m in members]
    return MemberPage(data=data, count=len(data))


@router.post(
    "/v1/members",
    operation_id="add_member",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberPublic,
    responses={409: {"model": ErrorBody, "description": "Already a member"}},
)
async def add_member(body: MemberIn, session: SessionDep, principal: MembersWrite) -> MemberPublic:
    """Give a person a seat with a role (up to the plan's seats; 402 beyond)."""
    if not can_manage(principal.role, body.role):
        raise DomainError(errors.FORBIDDEN, f"a {principal.role} may not grant {body.role}")
    email = body.email.strip().lower()
    await billing.ensure_seat_available(session, tenant_id=principal.tenant_id)
    if await repositories.accounts.find_member_by_email(
        session, tenant_id=principal.tenant_id, email=email
    ):
        raise DomainError(errors.ALREADY_MEMBER, f"{email} is already a member")
    member = await repositories.accounts.add_member(
        session, tenant_id=principal.tenant_id, email=email, role=body.role
    )
    await session.commit()
    return MemberPublic.model_validate(member, from_attributes=True)


@router.patch(
    "/v1/members/{member_id}",
    operation_id="change_member_role",
    response_model=MemberPublic,
    responses={**NOT_FOUND, 409: {"model": ErrorBody, "description": "The last owner"}},
)
async def change_member_role(
    member_id: uuid.UUID,
    body: MemberRoleIn,
    session: SessionDep,
    request: Request,
    principal: MembersWrite,
) -> MemberPublic:
    """Give a member another role; their keys follow the new role at once."""
    await repositories.accounts.lock_tenant(session, tenant_id=principal.tenant_id)
    member = await repositories.accounts.get_member(
        session, tenant_id=principal.tenant_id, member_id=member_id
    )
    current = Role(member.role)
    for role in (current, body.role):
        if not can_manage(principal.role, role):
            raise DomainError(errors.FORBIDDEN, f"a {principal.role} may not manage a {role}")
    if (
        current is Role.OWNER
        and body.role is not Role.OWNER
        and await repositories.accounts.count_owners(session, tenant_id=principal.tenant_id) < 2
    ):
        raise DomainError(errors.LAST_OWNER, "a tenant keeps at least one owner")
    member.role = body.role
    session.add(member)
    await session.commit()
    await forget_cached_keys(request)
    return MemberPublic.model_validate(member, from_attributes=True)


@router.delete(
    "/v1/members/{member_id}",
    operation_id="remove_member",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**NOT_FOUND, 409: {"model": ErrorBody, "description": "The last owner"}},
)
async def remove_member(
    member_id: uuid.UUID, session: SessionDep, request: Request, principal: MembersWrite
) -> Response:
    """Free the seat; every API key of the member is revoked with it."""
    # Serialises removals of one tenant, so two owners cannot remove each other at once.
    await repositories.accounts.lock_tenant(session, tenant_id=principal.tenant_id)
    member = await repositories.accounts.get_member(
        session, tenant_id=principal.tenant_id, member_id=member_id
    )
    role = Role(member.role)
    if not can_manage(principal.role, role):
        raise DomainError(errors.FORBIDDEN, f"a {principal.role} may not remove a {role}")
    if (
        role is Role.OWNER
        and await repositories.accounts.count_owners(session, tenant_id=principal.tenant_id) < 2
    ):
        raise DomainError(errors.LAST_OWNER, "a tenant keeps at least one owner")
    await repositories.accounts.remove_member(
        session, tenant_id=principal.tenant_id, member_id=member_id
    )
    await session.commit()
    await forget_cached_keys(request)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
