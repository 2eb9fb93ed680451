"""The idempotency record of vendor ids: one owner run per id (ADR 0003), and the run a
webhook's id belongs to.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain import errors
from domain.errors import DomainError
from models.tables import (
    ExternalRef,
    utcnow,
)


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


async def find_external_ref(
    session: AsyncSession, *, kind: str, external_id: str
) -> ExternalRef | None:
    """The record of the step (`kind`) that made `external_id`, whoever's it is."""
    query = select(ExternalRef).where(
        ExternalRef.kind == kind, ExternalRef.external_id == external_id
    )
    return (await session.exec(query.limit(1))).first()
