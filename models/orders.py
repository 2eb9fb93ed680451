"""Payloads of the order sync (issue 16): what its workflow and activities pass.

Plain dataclasses like `models.payloads`. Order ids only: the buyer's address and the
receipt stay in Postgres, never in a workflow history.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OrderSyncInput:
    tenant_id: str
    # Why it runs: `schedule`, `request` (POST /v1/orders/sync) or `event` (a webhook).
    reason: str = "schedule"
    # Read Etsy's receipts (False: only move the orders already recorded, after an event).
    read_receipts: bool = True


@dataclass
class ReceiptsRead:
    """What one read of the shop's receipts found, and the orders with work to do."""

    read: int = 0  # receipts Etsy returned
    recorded: int = 0  # new orders recorded
    ignored: int = 0  # receipts with no item of ours
    held: int = 0  # new orders put on hold
    skipped: str | None = None  # why nothing was read (no Etsy connection, ...)
    open_orders: list[str] = field(default_factory=list)


@dataclass
class AdvanceOrderInput:
    tenant_id: str
    order_id: str


@dataclass
class OrderStep:
    """What one step did to an order: `submitted`, `in_production`, `shipped`,
    `tracking_posted`, `held`, `unchanged` or `busy` (another sync holds it)."""

    order_id: str
    status: str
    action: str


@dataclass
class StatsPulled:
    """Listings whose numbers were kept today, and niches whose performance was set."""

    listings: int = 0
    niches: int = 0
    skipped: str | None = None


@dataclass
class OrderSyncResult:
    tenant_id: str
    read: ReceiptsRead = field(default_factory=ReceiptsRead)
    stats: StatsPulled | None = None
    actions: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # order ids whose step failed
