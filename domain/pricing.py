"""Pricing rules: a retail price for each variant from its production cost.

A rule is a margin (the share of the price that is profit: `price = cost / (1 - m)`),
a markup (over the cost: `price = cost * (1 + m)`) or a fixed price. The result is
rounded **up** to the price ending the seller chose (`99` → x.99, `0` → whole dollars),
so rounding never eats into the margin. Amounts are integer cents throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

PricingMode = Literal["fixed", "margin", "markup"]
PRICING_MODES: tuple[PricingMode, ...] = ("fixed", "margin", "markup")
MAX_MARGIN_PERCENT = 90.0  # a 100 % margin has no price; above 90 % is a typo, not a plan
MAX_MARKUP_PERCENT = 1000.0


class PricingError(ValueError):
    """A rule that cannot give a price (bad percent, ending or missing cost)."""


@dataclass(frozen=True)
class PricingRule:
    """Part of workflow inputs, so plain types only: `mode` is one of `PRICING_MODES`."""

    mode: str = "fixed"
    percent: float = 0.0  # margin or markup, in percent
    price_cents: int = 2499  # fixed mode only
    ending_cents: int = 99  # the cents every price ends with (0 to 99)

    def validate(self) -> None:
        if self.mode not in PRICING_MODES:
            raise PricingError(f"mode must be one of {', '.join(PRICING_MODES)}")
        if not 0 <= self.ending_cents <= 99:
            raise PricingError("ending_cents must be between 0 and 99")
        if self.mode == "margin" and not 0 < self.percent <= MAX_MARGIN_PERCENT:
            raise PricingError(f"a margin must be above 0 and at most {MAX_MARGIN_PERCENT} %")
        if self.mode == "markup" and not 0 < self.percent <= MAX_MARKUP_PERCENT:
            raise PricingError(f"a markup must be above 0 and at most {MAX_MARKUP_PERCENT} %")
        if self.mode == "fixed" and self.price_cents <= 0:
            raise PricingError("a fixed price must be positive")

    def price(self, cost_cents: int | None) -> int:
        """The retail price in cents for a variant that costs `cost_cents` to make."""
        self.validate()
        if self.mode == "fixed":
            return self.price_cents
        if cost_cents is None or cost_cents <= 0:
            raise PricingError(f"a {self.mode} rule needs the variant's cost")
        share = self.percent / 100
        raw = cost_cents / (1 - share) if self.mode == "margin" else cost_cents * (1 + share)
        return round_up_to_ending(math.ceil(raw - 1e-9), self.ending_cents)


def round_up_to_ending(cents: int, ending: int) -> int:
    """The smallest price ≥ `cents` whose last two digits are `ending` (e.g. 1742 → 1799)."""
    candidate = cents - cents % 100 + ending
    return candidate if candidate >= cents else candidate + 100
