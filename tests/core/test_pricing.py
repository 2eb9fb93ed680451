"""Pricing rules: margin, markup and fixed prices, rounded up to the chosen ending."""

from __future__ import annotations

import pytest

from domain.pricing import PricingError, PricingRule, round_up_to_ending


@pytest.mark.parametrize(
    ("cents", "ending", "expected"),
    [
        (1742, 99, 1799),
        (1799, 99, 1799),
        (1800, 99, 1899),
        (1701, 0, 1800),
        (1700, 0, 1700),
        (1749, 50, 1750),
        (1751, 50, 1850),
        (5, 95, 95),
    ],
)
def test_prices_round_up_to_the_ending(cents: int, ending: int, expected: int) -> None:
    assert round_up_to_ending(cents, ending) == expected


def test_a_margin_is_a_share_of_the_price_and_never_less_after_rounding() -> None:
    rule = PricingRule(mode="margin", percent=40, ending_cents=99)
    price = rule.price(1129)  # 1129 / 0.6 = 1881.67 → 1882 → 1899
    assert price == 1899
    assert (price - 1129) / price >= 0.40


def test_a_markup_is_over_the_cost() -> None:
    assert PricingRule(mode="markup", percent=100, ending_cents=0).price(1129) == 2300
    assert PricingRule(mode="markup", percent=50, ending_cents=49).price(1000) == 1549
    # Exactly on the ending stays there.
    assert PricingRule(mode="markup", percent=100, ending_cents=98).price(999) == 1998


def test_a_fixed_price_ignores_the_cost() -> None:
    assert PricingRule(mode="fixed", price_cents=2499).price(None) == 2499
    assert PricingRule(mode="fixed", price_cents=2499).price(5000) == 2499


@pytest.mark.parametrize(
    ("rule", "cost"),
    [
        (PricingRule(mode="margin", percent=0), 1000),
        (PricingRule(mode="margin", percent=95), 1000),
        (PricingRule(mode="markup", percent=-5), 1000),
        (PricingRule(mode="markup", percent=20, ending_cents=100), 1000),
        (PricingRule(mode="margin", percent=40), None),
        (PricingRule(mode="markup", percent=40), 0),
        (PricingRule(mode="fixed", price_cents=0), None),
    ],
)
def test_rules_that_cannot_price_are_refused(rule: PricingRule, cost: int | None) -> None:
    with pytest.raises(PricingError):
        rule.price(cost)


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(PricingError):
        PricingRule(mode="discount", percent=10).price(1000)
