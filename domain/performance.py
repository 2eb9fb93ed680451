"""How a niche's listings sell, as the trend score's `performance` (-1..1, ADR 0018 and
ADR 0031): the niche's orders per listing against the tenant's norm.

A listing counts once it sold, or once it has been listed `min_age_hours` without selling
(younger ones have not had their chance). With no sale anywhere nothing is known (0).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

# A niche whose performance is this low or lower is passed over by campaigns.
POOR_SALES = -0.5


@dataclass(frozen=True)
class ListingSales:
    niche: str  # `domain.niches.niche_key` of the listing's keyword
    orders: int
    age_hours: float


@dataclass(frozen=True)
class NichePerformance:
    performance: float  # -1 (did not sell while others did) .. 1 (sold best)
    listings: int  # listings counted
    orders: int
    norm: float  # the tenant's orders per counted listing


def niche_performance(
    listings: Iterable[ListingSales], min_age_hours: float
) -> dict[str, NichePerformance]:
    """Each niche's performance among the tenant's listings that count."""
    counted = [item for item in listings if item.orders > 0 or item.age_hours >= min_age_hours]
    if not counted:
        return {}
    norm = sum(item.orders for item in counted) / len(counted)
    by_niche: dict[str, list[ListingSales]] = defaultdict(list)
    for item in counted:
        by_niche[item.niche].append(item)
    found = {}
    for niche, items in by_niche.items():
        orders = sum(item.orders for item in items)
        rate = orders / len(items)
        top = max(rate, norm)
        value = (rate - norm) / top if top > 0 else 0.0
        found[niche] = NichePerformance(round(value, 3), len(items), orders, round(norm, 3))
    return found
