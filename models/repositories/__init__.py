"""Tenant-scoped queries, one module per domain: `repositories.<domain>.<function>`.

Every function takes the session and the tenant keyword-only (the few that resolve a
vendor's id to its run excepted); none commits: the caller owns the transaction.
"""

from __future__ import annotations

from models.repositories import (
    accounts,
    briefs,
    campaigns,
    designs,
    integrations,
    listings,
    orders,
    protected_names,
    reads,
    refs,
    runs,
    templates,
    trend_updates,
    trends,
    usage,
    webhooks,
)
from models.repositories.errors import NotFoundError

__all__ = [
    "NotFoundError",
    "accounts",
    "briefs",
    "campaigns",
    "designs",
    "integrations",
    "listings",
    "orders",
    "protected_names",
    "reads",
    "refs",
    "runs",
    "templates",
    "trend_updates",
    "trends",
    "usage",
    "webhooks",
]
