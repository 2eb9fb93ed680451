"""Acting on a verified Printify webhook event (the logic behind `POST /v1/webhooks/printify`).

The event names only Printify's product id; the run and its tenant come from our own
record of that product (`external_refs`), never from the body. Each event is acted on
once: its id is recorded in `webhook_events` in the same transaction that signals the run.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain import errors
from domain.errors import DomainError
from domain.webhooks import ORDER_TOPICS, PUBLISH_STARTED, PrintifyEvent
from integrations.printify import VENDOR
from models import repositories
from models.payloads import PublishStartedSignal
from models.tables import RefKind
from services import order_sync
from services.orders import OrderService
from workflows.design_to_listing import DesignToListingWorkflow

logger = logging.getLogger(__name__)


class WebhookOutcome(StrEnum):
    PROCESSED = "processed"  # the run was told
    DUPLICATE = "duplicate"  # this event was acted on before
    IGNORED = "ignored"  # nothing to do: another topic or action, a product or run not ours


async def handle_printify_event(
    *, session: AsyncSession, temporal: Client, event: PrintifyEvent
) -> WebhookOutcome:
    """Signal the run whose product started publishing, or move on the order Printify
    speaks of (ADR 0031), once per event id."""
    if event.type in ORDER_TOPICS:
        return await _order_event(session=session, temporal=temporal, event=event)
    data = event.resource.data
    if event.type != PUBLISH_STARTED or (data is not None and data.action not in (None, "create")):
        logger.info("printify webhook %s (%s): nothing to do", event.id, event.type)
        return WebhookOutcome.IGNORED
    product_id = str(event.resource.id)
    ref = await repositories.refs.find_external_ref(
        session, kind=RefKind.PRINTIFY_PRODUCT, external_id=product_id
    )
    if ref is None:
        logger.info("printify webhook %s: product %s belongs to no run", event.id, product_id)
        return WebhookOutcome.IGNORED
    # Holds a concurrent delivery of the same event until this transaction ends.
    if not await repositories.webhooks.record_event(
        session, tenant_id=ref.tenant_id, vendor=VENDOR, event_id=event.id, topic=event.type
    ):
        logger.info("printify webhook %s: already handled", event.id)
        return WebhookOutcome.DUPLICATE
    outcome = WebhookOutcome.PROCESSED
    try:
        await temporal.get_workflow_handle_for(DesignToListingWorkflow.run, ref.workflow_id).signal(
            DesignToListingWorkflow.publish_started,
            PublishStartedSignal(product_id=product_id, event_id=event.id),
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            # Not recorded (the transaction is not committed): Printify delivers it again.
            logger.warning("printify webhook %s: Temporal unavailable: %s", event.id, exc)
            raise DomainError(
                errors.WORKFLOW_UNAVAILABLE, "the run could not be told; deliver again later"
            ) from None
        logger.info("printify webhook %s: run %s has ended", event.id, ref.workflow_id)
        outcome = WebhookOutcome.IGNORED
    await session.commit()
    return outcome


async def _order_event(
    *, session: AsyncSession, temporal: Client, event: PrintifyEvent
) -> WebhookOutcome:
    """Keep what the event says on the order Printify names (ours, in the event's shop),
    then tell the tenant's event sync, which posts a shipment's tracking to Etsy."""
    order_id = str(event.resource.id)
    order = await repositories.orders.find_by_printify_order(session, printify_order_id=order_id)
    data = event.resource.data
    shop_id = data.shop_id if data is not None else None
    if order is None or (shop_id is not None and shop_id != order.printify_shop_id):
        logger.info("printify webhook %s: order %s is none of ours", event.id, order_id)
        return WebhookOutcome.IGNORED
    if not await repositories.webhooks.record_event(
        session, tenant_id=order.tenant_id, vendor=VENDOR, event_id=event.id, topic=event.type
    ):
        logger.info("printify webhook %s: already handled", event.id)
        return WebhookOutcome.DUPLICATE
    values = data.model_dump(mode="json") if data is not None else {}
    await OrderService.apply_event(session, order, event.type, values)
    try:
        await order_sync.order_changed(temporal, tenant_id=order.tenant_id, order_id=str(order.id))
    except RPCError as exc:
        # Not recorded (the transaction is not committed): Printify delivers it again.
        logger.warning("printify webhook %s: Temporal unavailable: %s", event.id, exc)
        raise DomainError(
            errors.WORKFLOW_UNAVAILABLE, "the order sync could not be told; deliver again later"
        ) from None
    await session.commit()
    return WebhookOutcome.PROCESSED
