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
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, Any

from cachetools import TTLCache
from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from psycopg_pool import AsyncConnectionPool

from api.middleware import RequestRateLimiter
from core.apikeys import key_prefix, matches
from core.logging import current_request
from core.oidc import InvalidIdentityToken, OidcVerifier, looks_like_jwt
from core.redis_shared import RedisRateLimiter
from core.shared_buckets import SharedRateLimiter
from core.shared_counter import Counter, Watch
from domain import errors
from domain.errors import DomainError
from domain.rbac import Permission, Role, effective_permissions
from models import repositories
from models.repositories.reads import KeyRecord
from models.tables import utcnow

# Writing `last_used_at` on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


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


class KeyCache:
    """Keys read from Postgres, trusted for `ttl` seconds (issue 15): a read then costs
    no query. What is cached is the row, not a verdict: the secret's hash, revocation and
    expiry are checked on every request, so only a change made in the database by
    something other than the API (a script, another host's API without a shared counter)
    waits up to `ttl`. The API's own changes bump `generation`, a counter every API
    process reads from shared memory, and a process that sees it move forgets its keys.
    Unknown prefixes are not cached (a flood of made-up keys must not fill it)."""

    def __init__(self, ttl: float, generation: Counter, maxsize: int = 10_000) -> None:
        self.ttl = ttl
        self.generation = Watch(generation)
        self._keys: TTLCache[str, KeyRecord] = TTLCache(maxsize=maxsize, ttl=max(ttl, 1e-9))

    def get(self, prefix: str) -> KeyRecord | None:
        if self.generation.moved():
            self._keys.clear()
        return self._keys.get(prefix)

    def put(self, prefix: str, key: KeyRecord) -> None:
        if self.ttl > 0:
            self._keys[prefix] = key

    async def forget_all(self) -> None:
        """A credential changed: every process reads its keys again."""
        await self.generation.bump()
        self._keys.clear()


async def forget_cached_keys(request: Request) -> None:
    """Call after a change to keys or members commits (revoke, role, removal)."""
    cache: KeyCache = request.app.state.key_cache
    await cache.forget_all()


class ApiKeyAuth(HTTPBearer):
    """The `ApiKey` security scheme (a bearer credential, in the OpenAPI document) and the
    check of a request, as one dependency.

    FastAPI solves each dependant of a route on every request. Declared as the scheme,
    the pool and the check, they were three solves for one question: in-process, a read
    of `/v1/listings` spent ~40 % of its time in FastAPI's `solve_dependencies` (cProfile,
    5 000 requests through the ASGI app; `docs/performance.md`)."""

    async def __call__(  # type: ignore[override]
        self, request: Request, security_scopes: SecurityScopes
    ) -> Principal:
        credentials = await super().__call__(request)
        return await authorize(request, security_scopes, credentials)


api_key_auth = ApiKeyAuth(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key of the tenant: `Authorization: Bearer pod_…`.",
)


async def authorize(
    request: Request,
    security_scopes: SecurityScopes,
    credentials: HTTPAuthorizationCredentials | None,
) -> Principal:
    """Who is calling and whether they may (see the module's docstring)."""
    reads: AsyncConnectionPool = request.app.state.reads
    if credentials is None:
        raise _unauthenticated("an API key is required: send `Authorization: Bearer <key>`")
    presented = credentials.credentials
    verifier: OidcVerifier | None = request.app.state.oidc
    if verifier is not None and looks_like_jwt(presented):
        return await _authorize_token(request, security_scopes, reads, verifier, presented)
    prefix = key_prefix(presented)
    if prefix is None:
        raise _unauthenticated("the API key is not valid")
    cache: KeyCache = request.app.state.key_cache
    key = cache.get(prefix)
    if key is None:
        key = await repositories.reads.api_key(reads, prefix=prefix)
        if key is not None:
            cache.put(prefix, key)
    if key is None or not matches(presented, key.secret_hash):
        raise _unauthenticated("the API key is not valid")
    _identify(key.tenant_id, key.member_id, key.id)
    now = utcnow()
    if key.revoked_at is not None:
        raise _unauthenticated("the API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise _unauthenticated("the API key has expired")

    await _rate_limit(request, str(key.id))
    role = Role(key.role)
    permissions = effective_permissions(role, key.scopes)
    _require(security_scopes, permissions, role)
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # Autocommitted on a pooled connection returned before the route runs: no
        # request holds two connections (two at once froze the API under load, issue
        # 15). Each process records a key's use at most once a minute.
        await repositories.reads.touch_api_key(
            reads,
            tenant_id=key.tenant_id,
            key_id=key.id,
            at=now,
            older_than=now - LAST_USED_RESOLUTION,
        )
        cache.put(prefix, replace(key, last_used_at=now))
    return Principal(
        tenant_id=key.tenant_id,
        member_id=key.member_id,
        role=role,
        key_id=key.id,
        permissions=permissions,
    )


async def _authorize_token(
    request: Request,
    security_scopes: SecurityScopes,
    reads: AsyncConnectionPool,
    verifier: OidcVerifier,
    token: str,
) -> Principal:
    """An OIDC token: verified, then acting as the tenant's member with its e-mail."""
    try:
        identity = verifier.verify(token)
    except InvalidIdentityToken as exc:
        raise _unauthenticated(str(exc)) from None
    member = await repositories.reads.member_by_email(
        reads, tenant_id=identity.tenant_id, email=identity.email
    )
    if member is None:
        raise _unauthenticated("the token's user is not a member of its tenant")
    member_id, member_role = member
    _identify(identity.tenant_id, member_id, None)
    await _rate_limit(request, f"oidc:{member_id}")
    role = Role(member_role)
    permissions = effective_permissions(role, None)
    _require(security_scopes, permissions, role)
    return Principal(
        tenant_id=identity.tenant_id,
        member_id=member_id,
        role=role,
        key_id=None,
        permissions=permissions,
    )


def _identify(tenant_id: str, member_id: uuid.UUID, key_id: uuid.UUID | None) -> None:
    """The request's log lines name its tenant, member and key from here on."""
    request = current_request()
    if request is not None:
        request.tenant_id = tenant_id
        request.member_id = str(member_id)
        request.key_id = str(key_id) if key_id is not None else None


async def _rate_limit(request: Request, bucket: str) -> None:
    limiter: RequestRateLimiter | SharedRateLimiter | RedisRateLimiter = (
        request.app.state.rate_limiter
    )
    if isinstance(limiter, RedisRateLimiter):
        wait = await limiter.acquire(bucket)
    else:
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
    return Security(api_key_auth, scopes=[permission.value])


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
OrdersRead = Annotated[Principal, _needs(Permission.ORDERS_READ)]
OrdersWrite = Annotated[Principal, _needs(Permission.ORDERS_WRITE)]
# Any valid key (every role may read who it is).
Authenticated = Annotated[Principal, Security(api_key_auth)]
