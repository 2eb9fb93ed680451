"""Plans and their monthly limits (per-seat pricing: a plan buys a number of seats).

A tenant is on one plan; an operator may override single limits for one tenant
(`tenants.limits`). Usage is counted per calendar month in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

# Metric names: a workflow started (counted from its run record) and completed stages.
WORKFLOWS = "workflows"
BRIEFS = "briefs"
IMAGES = "images"
PRODUCTS = "products"
LISTINGS = "listings"

# Kinds of run that make an image (models.payloads.RunKind values).
IMAGE_MAKING_KINDS = ("design_to_listing", "design")


@dataclass(frozen=True)
class Limits:
    seats: int
    workflows_per_month: int
    images_per_month: int
    schedules: int


PLANS: dict[str, Limits] = {
    "free": Limits(seats=1, workflows_per_month=20, images_per_month=20, schedules=1),
    "pro": Limits(seats=5, workflows_per_month=500, images_per_month=500, schedules=10),
    "business": Limits(seats=25, workflows_per_month=5000, images_per_month=5000, schedules=50),
}
DEFAULT_PLAN = "pro"


def limits_for(plan: str, overrides: dict[str, Any] | None = None) -> Limits:
    """The plan's limits with the tenant's overrides applied (unknown keys are ignored)."""
    base = PLANS[plan]
    if not overrides:
        return base
    names = {f.name for f in fields(Limits)}
    return replace(base, **{k: int(v) for k, v in overrides.items() if k in names})


def current_period(now: datetime | None = None) -> str:
    """The billing period (`YYYY-MM`, UTC) that `now` falls in."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a `YYYY-MM` period in UTC."""
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end
