"""Account operations shared by the API and the `pod` CLI: tenants, keys, integrations."""

from __future__ import annotations

import os
import uuid
from dataclasses import fields
from datetime import datetime
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from core.apikeys import generate_key, key_prefix, matches
from core.crypto import TokenCipher
from core.settings import Settings
from domain import errors
from domain.errors import DomainError
from domain.plans import PLANS, Limits, limits_for
from domain.rbac import Role
from models import repositories
from models.tables import ApiKey, Integration, Member, Tenant

VENDORS = ("printify", "etsy")


async def issue_key(
    session: AsyncSession,
    *,
    tenant_id: str,
    member_id: uuid.UUID,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key for the member; the plain key is returned once and never stored."""
    plain, prefix, digest = generate_key()
    key = ApiKey(
        tenant_id=tenant_id,
        member_id=member_id,
        name=name,
        prefix=prefix,
        secret_hash=digest,
        scopes=scopes,
        expires_at=expires_at,
    )
    await repositories.accounts.add_api_key(session, tenant_id=tenant_id, key=key)
    return key, plain


async def create_tenant(
    session: AsyncSession, *, tenant_id: str, name: str, plan: str, owner_email: str
) -> tuple[Tenant, Member, str]:
    """A new tenant with its owner and the owner's first key (plain, shown once).

    A tenant that exists without members (one the 0002 migration made for records written
    before tenants existed) is adopted: it gets the name, plan, owner and key.
    """
    if plan not in PLANS:
        raise ValueError(f"unknown plan {plan!r}; one of {', '.join(PLANS)}")
    tenant, created = await repositories.accounts.create_tenant_if_absent(
        session, tenant_id=tenant_id, name=name, plan=plan
    )
    if not created:
        tenant = await repositories.accounts.lock_tenant(session, tenant_id=tenant_id)
        if await repositories.accounts.count_members(session, tenant_id=tenant_id):
            raise ValueError(f"tenant {tenant_id!r} already exists")
        tenant.name, tenant.plan = name, plan
        session.add(tenant)
    owner = await repositories.accounts.add_member(
        session, tenant_id=tenant_id, email=owner_email, role=Role.OWNER
    )
    _, plain = await issue_key(session, tenant_id=tenant_id, member_id=owner.id, name="owner")
    return tenant, owner, plain


class SeatsExceedPlan(DomainError):
    """The tenant has more members than the plan's seats."""

    def __init__(self, message: str) -> None:
        super().__init__(errors.SEATS_EXCEED_PLAN, message)


async def change_plan(
    session: AsyncSession, *, tenant_id: str, plan: str, overrides: dict[str, int] | None = None
) -> Tenant:
    """Move the tenant to `plan` (an operator action: payment happens outside this service),
    and set single limits of the tenant's own (`overrides`, e.g. `workflows_per_month`)
    over the plan's; the ones set before stay unless named again.

    Refused when the tenant has more members than the new plan's seats (with the tenant's
    own overrides applied); the tenant row is locked while checking.
    """
    if plan not in PLANS:
        raise ValueError(f"unknown plan {plan!r}; one of {', '.join(PLANS)}")
    unknown = sorted(set(overrides or {}) - {f.name for f in fields(Limits)})
    if unknown:
        raise ValueError(f"no such limit: {', '.join(unknown)}")
    if any(value < 0 for value in (overrides or {}).values()):
        raise ValueError("a limit is a whole number, 0 or more")
    tenant = await repositories.accounts.lock_tenant(session, tenant_id=tenant_id)
    if overrides:
        tenant.limits = {**(tenant.limits or {}), **overrides}
    seats = await repositories.accounts.count_members(session, tenant_id=tenant_id)
    limit = limits_for(plan, tenant.limits).seats
    if seats > limit:
        raise SeatsExceedPlan(f"the {plan} plan has {limit} seats; {tenant_id} has {seats} members")
    tenant.plan = plan
    session.add(tenant)
    return tenant


async def store_integration(
    session: AsyncSession,
    cipher: TokenCipher,
    *,
    tenant_id: str,
    vendor: str,
    access_token: str,
    refresh_token: str | None = None,
    token_expires_at: datetime | None = None,
    shop_id: int | None = None,
    external_user_id: str | None = None,
) -> Integration:
    """Create or replace the tenant's integration; tokens are encrypted before they are stored."""
    if vendor not in VENDORS:
        raise ValueError(f"unknown vendor {vendor!r}")
    return await repositories.integrations.put_integration(
        session,
        tenant_id=tenant_id,
        vendor=vendor,
        access_token_enc=cipher.encrypt(access_token),
        refresh_token_enc=cipher.encrypt(refresh_token) if refresh_token else None,
        token_expires_at=token_expires_at,
        shop_id=shop_id,
        external_user_id=external_user_id,
    )


async def rotate_encryption(session: AsyncSession, cipher: TokenCipher) -> int:
    """Re-encrypt every stored token with the first key; returns how many rows changed."""
    rows = await repositories.integrations.all_integrations_for_rotation(session)
    for row in rows:
        row.access_token_enc = cipher.rotate(row.access_token_enc)
        if row.refresh_token_enc:
            row.refresh_token_enc = cipher.rotate(row.refresh_token_enc)
        session.add(row)
    return len(rows)


def write_secret_file(path: Path, content: str) -> None:
    """Write `content` readable by the owner only (mode 600 from the first byte)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content + "\n")
    path.chmod(0o600)


def dev_key_path(settings: Settings) -> Path:
    return settings.home / "dev-api-key"


async def ensure_dev_tenant(session: AsyncSession, settings: Settings, cipher: TokenCipher) -> str:
    """The development tenant, its owner, an owner key in `$POD_HOME/dev-api-key`, and its
    Printify and Etsy integrations from the bootstrap tokens in the settings.

    Idempotent: a key file that still verifies is kept; otherwise a new key is issued.
    Returns the plain key.
    """
    tenant_id = settings.default_tenant
    await repositories.accounts.create_tenant_if_absent(
        session, tenant_id=tenant_id, name="Development", plan="business"
    )
    owner = await repositories.accounts.find_member_by_email(
        session, tenant_id=tenant_id, email=settings.dev_owner_email
    )
    if owner is None:
        owner = await repositories.accounts.add_member(
            session, tenant_id=tenant_id, email=settings.dev_owner_email, role=Role.OWNER
        )
    path = dev_key_path(settings)
    plain = path.read_text().strip() if path.exists() else ""
    prefix = key_prefix(plain)
    found = await repositories.accounts.find_api_key(session, prefix=prefix) if prefix else None
    valid = (
        found is not None
        and found.tenant_id == tenant_id
        and found.member_id == owner.id  # a removed member's keys no longer authenticate
        and found.revoked_at is None
        and matches(plain, found.secret_hash)
    )
    if not valid:
        _, plain = await issue_key(
            session, tenant_id=tenant_id, member_id=owner.id, name="development owner"
        )
        write_secret_file(path, plain)
    for vendor, token, shop_id in (
        ("printify", settings.printify_api_token.get_secret_value(), settings.printify_shop_id),
        ("etsy", settings.etsy_access_token.get_secret_value(), settings.etsy_shop_id),
    ):
        existing = await repositories.integrations.find_integration(
            session, tenant_id=tenant_id, vendor=vendor
        )
        if (
            existing is None
            or existing.shop_id != shop_id
            or cipher.decrypt(existing.access_token_enc) != token
        ):
            existing = await store_integration(
                session,
                cipher,
                tenant_id=tenant_id,
                vendor=vendor,
                access_token=token,
                shop_id=shop_id,
            )
        if vendor == "etsy":
            # The ETSY_*_ID settings choose the development shop's profiles (only its).
            defaults = {
                "shipping_profile_id": settings.etsy_shipping_profile,
                "return_policy_id": settings.etsy_return_policy,
                "readiness_state_id": settings.etsy_readiness_state,
            }
            if existing.listing_defaults != defaults:
                existing.listing_defaults = defaults
                session.add(existing)
    return plain


def bootstrap_development(settings: Settings, database_url: str) -> str:
    """`ensure_dev_tenant` in its own engine and transaction (used by `pod up`)."""
    from core.db import run_in_transaction

    return run_in_transaction(
        database_url, lambda session: ensure_dev_tenant(session, settings, settings.cipher)
    )


def read_dev_key(settings: Settings) -> str | None:
    """The development owner key written by `pod up`, if there is one."""
    path = dev_key_path(settings)
    return path.read_text().strip() if path.exists() else None
