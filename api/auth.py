"""Authentication and authorisation of every `/v1` request.

A route declares the permission it needs with one of the `Annotated` aliases below
(e.g. `principal: WorkflowsWrite`). The dependency then, in this order:
401 `UNAUTHENTICATED` without a valid, unrevoked, unexpired API key; 429 `RATE_LIMITED`
(with `Retry-After`) when the key exceeds its request rate; 403 `FORBIDDEN` when the
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

from api.deps import SessionDep
from api.errors import ApiError
from api.middleware import RequestRateLimiter
from core.apikeys import key_prefix, matches
from core.rbac import Permission, Role, effective_permissions
from models import tenancy
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
    key_id: uuid.UUID
    permissions: frozenset[Permission]


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "UNAUTHENTICATED", message, headers={"WWW-Authenticate": "Bearer"})


async def authorize(
    request: Request,
    security_scopes: SecurityScopes,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise _unauthenticated("an API key is required: send `Authorization: Bearer <key>`")
    presented = credentials.credentials
    prefix = key_prefix(presented)
    found = await tenancy.find_api_key(session, prefix=prefix) if prefix else None
    if found is None or not matches(presented, found[0].secret_hash):
        raise _unauthenticated("the API key is not valid")
    key, member = found
    now = utcnow()
    if key.revoked_at is not None:
        raise _unauthenticated("the API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise _unauthenticated("the API key has expired")

    limiter: RequestRateLimiter = request.app.state.rate_limiter
    wait = limiter.acquire(str(key.id))
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "RATE_LIMITED",
            "too many requests with this API key; retry later",
            {"retry_after_seconds": seconds},
            headers={"Retry-After": str(seconds)},
        )

    role = Role(member.role)
    permissions = effective_permissions(role, key.scopes)
    missing = sorted(scope for scope in security_scopes.scopes if scope not in permissions)
    if missing:
        raise ApiError(
            403,
            "FORBIDDEN",
            "this API key may not do that",
            {"required": missing, "role": role.value},
        )
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # Its own short transaction: the route's session stays untouched.
        async with request.app.state.sessions() as own:
            await tenancy.touch_api_key(
                own,
                tenant_id=key.tenant_id,
                key_id=key.id,
                at=now,
                older_than=now - LAST_USED_RESOLUTION,
            )
            await own.commit()
    return Principal(
        tenant_id=key.tenant_id,
        member_id=member.id,
        role=role,
        key_id=key.id,
        permissions=permissions,
    )


def _needs(permission: Permission) -> Any:
    return Security(authorize, scopes=[permission.value])


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
# Any valid key (every role may read who it is).
Authenticated = Annotated[Principal, Security(authorize)]
