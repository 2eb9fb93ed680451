"""Queries behind vendor webhooks: which run a vendor id belongs to, and events acted on.

A webhook carries no tenant: `find_external_ref` resolves the vendor's id *to* its run
and tenant (like `tenancy.find_api_key` for keys), and everything after uses that tenant.
No function commits.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import ExternalRef, WebhookEvent, utcnow


async def find_external_ref(
    session: AsyncSession, *, kind: str, external_id: str
) -> ExternalRef | None:
    """The record of the step (`kind`) that made `external_id`, whoever's it is."""
    query = select(ExternalRef).where(
        ExternalRef.kind == kind, ExternalRef.external_id == external_id
    )
    return (await session.exec(query.limit(1))).first()


async def record_event(
    session: AsyncSession, *, tenant_id: str, vendor: str, event_id: str, topic: str
) -> bool:
    """Note an event as acted on; False when it already was (a redelivery).

    Until the transaction ends, a concurrent delivery of the same event waits on the row,
    so only one of them acts.
    """
    statement = (
        insert(WebhookEvent)
        .values(
            vendor=vendor,
            event_id=event_id,
            tenant_id=tenant_id,
            topic=topic,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(col(WebhookEvent.event_id))
    )
    return (await session.exec(statement)).first() is not None
