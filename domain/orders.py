"""Orders from Etsy to Printify: the rules, with no I/O (issue 16, ADR 0031).

- which Etsy scopes the platform needs, and which a connection lacks;
- a receipt's buyer as a Printify `address_to`, or the reason it cannot be one;
- Printify's order statuses as ours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# What the platform asks Etsy for (the `ETSY_OAUTH_SCOPES` default): listings and the
# shop to make listings, `transactions_r`/`_w` to read receipts and post tracking.
LISTING_SCOPES = ("listings_d", "listings_r", "listings_w", "profile_r", "shops_r", "shops_w")
ORDER_SCOPES = ("transactions_r", "transactions_w")
PLATFORM_SCOPES = (*LISTING_SCOPES, *ORDER_SCOPES)


def missing_scopes(granted: Iterable[str] | None) -> list[str]:
    """The platform's scopes a token lacks (none when what it was granted is unknown)."""
    if granted is None:
        return []
    have = set(granted)
    return [scope for scope in PLATFORM_SCOPES if scope not in have]


class HoldReason(StrEnum):
    """Why an order waits for the seller (`on_hold`)."""

    ADDRESS_INVALID = "ADDRESS_INVALID"  # Printify cannot ship to what the buyer gave
    VARIANT_UNAVAILABLE = "VARIANT_UNAVAILABLE"  # out of stock or no longer for sale
    PRODUCT_MISSING = "PRODUCT_MISSING"  # the listing's Printify product is gone
    PRINTIFY_REFUSED = "PRINTIFY_REFUSED"  # any other refusal; its message says what
    ETSY_RECONNECT_REQUIRED = "ETSY_RECONNECT_REQUIRED"  # tracking could not be posted


@dataclass(frozen=True)
class Hold(Exception):
    """The order cannot go on until the seller acts."""

    reason: HoldReason
    message: str


# Countries whose addresses Printify's providers need a region (state, province) for.
REGION_REQUIRED = frozenset({"US", "CA", "AU"})
_COUNTRY = re.compile(r"^[A-Z]{2}$")
# ISO 3166-1 codes left for users to assign: never a country.
_USER_ASSIGNED = re.compile(r"^(AA|Q[M-Z]|X[A-Z]|ZZ)$")


def printify_address(receipt: dict[str, Any], email: str | None = None) -> dict[str, Any]:
    """The receipt's buyer as Printify's `address_to`; `Hold(ADDRESS_INVALID)` when a
    provider could not ship to it (no street, city, post code, country or region)."""
    country = str(receipt.get("country_iso") or "").strip().upper()
    missing = [
        label
        for label, value in (
            ("name", receipt.get("name")),
            ("street", receipt.get("first_line")),
            ("city", receipt.get("city")),
            ("post code", receipt.get("zip")),
        )
        if not str(value or "").strip()
    ]
    if not _COUNTRY.match(country) or _USER_ASSIGNED.match(country):
        missing.append("country")
    elif country in REGION_REQUIRED and not str(receipt.get("state") or "").strip():
        missing.append("state")
    if missing:
        raise Hold(
            HoldReason.ADDRESS_INVALID,
            f"the buyer's address has no usable {', '.join(missing)}; correct it and retry",
        )
    first, last = split_name(str(receipt["name"]))
    return {
        "first_name": first,
        "last_name": last,
        "email": email or receipt.get("buyer_email") or None,
        "phone": None,
        "country": country,
        "region": str(receipt.get("state") or "").strip(),
        "address1": str(receipt["first_line"]).strip(),
        "address2": str(receipt.get("second_line") or "").strip() or None,
        "city": str(receipt["city"]).strip(),
        "zip": str(receipt["zip"]).strip(),
    }


def split_name(name: str) -> tuple[str, str]:
    """First and last name from Etsy's one `name` (a single word is both: Printify needs
    each)."""
    words = name.split()
    if len(words) == 1:
        return words[0], words[0]
    return " ".join(words[:-1]), words[-1]


# Printify's order statuses (its documentation) as ours.
PRINTIFY_STATUSES = {
    "pending": "submitted",
    "on-hold": "submitted",
    "payment-not-received": "submitted",
    "sending-to-production": "in_production",
    "in-production": "in_production",
    "has-issues": "in_production",
    "partially-fulfilled": "in_production",
    "fulfilled": "shipped",
    # We cancel through the API (`cancelled` at once): Printify cancelling is a failure.
    "canceled": "failed",
}


def status_from_printify(printify_status: str | None) -> str | None:
    """Our status for a Printify order's, or None for one we do not know."""
    return PRINTIFY_STATUSES.get(str(printify_status or ""))


# How far a status has come: an older event never moves an order back.
PROGRESS = {
    "received": 0,
    "on_hold": 0,
    "submitted": 1,
    "in_production": 2,
    "shipped": 3,
    "cancelled": 4,
    "failed": 4,
}


def moves_forward(current: str, new: str) -> bool:
    return PROGRESS.get(new, -1) > PROGRESS.get(current, -1)


def cents(money: dict[str, Any] | None) -> int:
    """Etsy's `{amount, divisor}` in cents."""
    if not money:
        return 0
    divisor = int(money.get("divisor") or 100)
    return round(int(money.get("amount") or 0) * 100 / divisor)


def refusal_reason(reason: str) -> HoldReason:
    """What a Printify validation refusal of an order is about, by the field it names
    (`errors.reason`, e.g. `address_to.region: …`, `line_items.0.variant_id: …`)."""
    text = reason.lower()
    if "address_to" in text:
        return HoldReason.ADDRESS_INVALID
    if "variant" in text or "out of stock" in text:
        return HoldReason.VARIANT_UNAVAILABLE
    if "product_id" in text:
        return HoldReason.PRODUCT_MISSING
    return HoldReason.PRINTIFY_REFUSED


@dataclass(frozen=True)
class EtsyFees:
    """Etsy's fee rates on a sale (settings `ETSY_*_FEE_*`, with their source there)."""

    transaction_percent: float = 6.5
    processing_percent: float = 3.0
    processing_fixed_cents: int = 25
    renewal_cents: int = 20

    def of(self, amounts: dict[str, Any], units: int) -> dict[str, int]:
        """The fees of one receipt: on the items and shipping the buyer paid (after
        discounts), processing on the whole total, a renewal per item sold."""
        paid = amounts["subtotal_cents"] + amounts["shipping_cents"]
        transaction = round(paid * self.transaction_percent / 100)
        processing = round(amounts["total_cents"] * self.processing_percent / 100)
        processing += self.processing_fixed_cents
        renewals = self.renewal_cents * units
        return {
            "etsy_transaction_fee_cents": transaction,
            "etsy_processing_fee_cents": processing,
            "etsy_renewal_fee_cents": renewals,
            "etsy_fees_cents": transaction + processing + renewals,
        }


def with_margin(amounts: dict[str, Any], items: list[dict[str, Any]]) -> tuple[dict, list]:
    """The order's margin once Printify's cost is known: what the buyer paid for items
    and shipping, less Printify's cost and shipping and Etsy's fees; shared among the
    items by their price, so a listing's margin is the sum of its items'."""
    if amounts.get("printify_cost_cents") is None:
        return amounts, items
    revenue = amounts["subtotal_cents"] + amounts["shipping_cents"]
    margin = (
        revenue
        - amounts["printify_cost_cents"]
        - int(amounts.get("printify_shipping_cents") or 0)
        - int(amounts.get("etsy_fees_cents") or 0)
    )
    weights = [int(i["price_cents"]) * int(i["quantity"]) for i in items]
    total = sum(weights) or len(items)
    shares = [round(margin * (w or 1) / total) for w in weights]
    if shares:
        shares[-1] += margin - sum(shares)  # the rounding left goes to the last item
    revenues = [round(revenue * (w or 1) / total) for w in weights]
    if revenues:
        revenues[-1] += revenue - sum(revenues)
    shared = [
        {**item, "revenue_cents": r, "margin_cents": m}
        for item, r, m in zip(items, revenues, shares, strict=True)
    ]
    return {**amounts, "revenue_cents": revenue, "margin_cents": margin}, shared
