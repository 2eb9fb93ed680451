"""Authentication and authorisation of every `/v1` request.

A route declares the permission it needs with one of the `Annotated` aliases below
(e.g. `principal: WorkflowsWrite`). The dependency then, in this order:
401 `UNAUTHENTICATED` without a valid, unrevoked, unexpired API key (or, when OIDC is
configured, a valid identity token of a member); 429 `RATE_LIMITED` (with
`Retry-After`) when the credential exceeds its request rate; 403 `FORBIDDEN` when the
key's scopes or its member's current role lack the permission.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import SessionDep
from api.middleware import RequestRateLimiter
from core.apikeys import key_prefix, matches
from core.oidc import InvalidIdentityToken, OidcVerifier, looks_like_jwt
from domain import errors
from domain.errors import DomainError
from domain.rbac import Permission, Role, effective_permissions
from models import repositories
from models.tables import utcnow

# Writing `last_used_at` on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key of the tenant: `Authorization: Bearer pod_…`.",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant, the member and key, and what the key may do now."""

    tenant_id: str
    member_id: uuid.UUID
    role: Role
    key_id: uuid.UUID | None  # None for an OIDC token
    permissions: frozenset[Permission]


def _unauthenticated(message: str) -> DomainError:
    return DomainError(errors.UNAUTHENTICATED, message)


async def authorize(
    request: Request,
    security_scopes: SecurityScopes,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise _unauthenticated("an API key is required: send `Authorization: Bearer <key>`")
    presented = credentials.credentials
    verifier: OidcVerifier | None = request.app.state.oidc
    if verifier is not None and looks_like_jwt(presented):
        return await _authorize_token(request, security_scopes, session, verifier, presented)
    prefix = key_prefix(presented)
    found = await repositories.accounts.find_api_key(session, prefix=prefix) if prefix else None
    if found is None or not matches(presented, found[0].secret_hash):
        raise _unauthenticated("the API key is not valid")
    key, member = found
    now = utcnow()
    if key.revoked_at is not None:
        raise _unauthenticated("the API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise _unauthenticated("the API key has expired")

    _rate_limit(request, str(key.id))
    role = Role(member.role)
    permissions = effective_permissions(role, key.scopes)
    _require(security_scopes, permissions, role)
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # In the request's own session, committed at once: a session of its own needed a
        # second connection while this one held the first, and once a minute every
        # request in flight with the key asked for one together, so under load the pool
        # ran dry and the API froze (issue 15). The route goes on in a new transaction.
        await repositories.accounts.touch_api_key(
            session,
            tenant_id=key.tenant_id,
            key_id=key.id,
            at=now,
            older_than=now - LAST_USED_RESOLUTION,
        )
        await session.commit()
    return Principal(
        tenant_id=key.tenant_id,
        member_id=member.id,
        role=role,
        key_id=key.id,
        permissions=permissions,
    )


async def _authorize_token(
    request: Request,
    security_scopes: SecurityScopes,
    session: AsyncSession,
    verifier: OidcVerifier,
    token: str,
) -> Principal:
    """An OIDC token: verified, then acting as the tenant's member with its e-mail."""
    try:
        identity = verifier.verify(token)
    except InvalidIdentityToken as exc:
        raise _unauthenticated(str(exc)) from None
    member = await repositories.accounts.find_member_by_email(
        session, tenant_id=identity.tenant_id, email=identity.email
    )
    if member is None:
        raise _unauthenticated("the token's user is not a member of its tenant")
    _rate_limit(request, f"oidc:{member.id}")
    role = Role(member.role)
    permissions = effective_permissions(role, None)
    _require(security_scopes, permissions, role)
    return Principal(
        tenant_id=member.tenant_id,
        member_id=member.id,
        role=role,
        key_id=None,
        permissions=permissions,
    )


def _rate_limit(request: Request, bucket: str) -> None:
    limiter: RequestRateLimiter = request.app.state.rate_limiter
    wait = limiter.acquire(bucket)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise DomainError(
            errors.RATE_LIMITED,
            "too many requests with this credential; retry later",
            {"retry_after_seconds": seconds},
            retry_after=seconds,
        )


def _require(
    security_scopes: SecurityScopes, permissions: frozenset[Permission], role: Role
) -> None:
    missing = sorted(scope for scope in security_scopes.scopes if scope not in permissions)
    if missing:
        raise DomainError(
            errors.FORBIDDEN,
            "this credential may not do that",
            {"required": missing, "role": role.value},
        )


def _needs(permission: Permission) -> Any:
    return Security(authorize, scopes=[permission.value])


CatalogRead = Annotated[Principal, _needs(Permission.CATALOG_READ)]
WorkflowsRead = Annotated[Principal, _needs(Permission.WORKFLOWS_READ)]
WorkflowsWrite = Annotated[Principal, _needs(Permission.WORKFLOWS_WRITE)]
ListingsRead = Annotated[Principal, _needs(Permission.LISTINGS_READ)]
DesignsRead = Annotated[Principal, _needs(Permission.DESIGNS_READ)]
IntegrationsRead = Annotated[Principal, _needs(Permission.INTEGRATIONS_READ)]
IntegrationsWrite = Annotated[Principal, _needs(Permission.INTEGRATIONS_WRITE)]
MembersRead = Annotated[Principal, _needs(Permission.MEMBERS_READ)]
MembersWrite = Annotated[Principal, _needs(Permission.MEMBERS_WRITE)]
KeysRead = Annotated[Principal, _needs(Permission.KEYS_READ)]
KeysWrite = Annotated[Principal, _needs(Permission.KEYS_WRITE)]
BillingRead = Annotated[Principal, _needs(Permission.BILLING_READ)]
TemplatesRead = Annotated[Principal, _needs(Permission.TEMPLATES_READ)]
BriefsRead = Annotated[Principal, _needs(Permission.BRIEFS_READ)]
TrendsRead = Annotated[Principal, _needs(Permission.TRENDS_READ)]
TrendsWrite = Annotated[Principal, _needs(Permission.TRENDS_WRITE)]
CampaignsRead = Annotated[Principal, _needs(Permission.CAMPAIGNS_READ)]
CampaignsWrite = Annotated[Principal, _needs(Permission.CAMPAIGNS_WRITE)]
TemplatesWrite = Annotated[Principal, _needs(Permission.TEMPLATES_WRITE)]
SchedulesRead = Annotated[Principal, _needs(Permission.SCHEDULES_READ)]
SchedulesWrite = Annotated[Principal, _needs(Permission.SCHEDULES_WRITE)]
ProtectedNamesRead = Annotated[Principal, _needs(Permission.PROTECTED_NAMES_READ)]
ProtectedNamesWrite = Annotated[Principal, _needs(Permission.PROTECTED_NAMES_WRITE)]
# Any valid key (every role may read who it is).
Authenticated = Annotated[Principal, Security(authorize)]
