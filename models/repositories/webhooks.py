"""Vendor webhook events acted on, once each.

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import WebhookEvent, utcnow


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
