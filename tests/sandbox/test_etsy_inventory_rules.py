"""Etsy's inventory rules as the emulator applies them (sandbox.etsy_inventory): each
refusal names what is wrong, and an accepted inventory sets its listing's summary."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.etsy_inventory import (
    default_inventory,
    listing_summary,
    number,
    parse_inventory,
    render,
)
from sandbox.etsy_rules import EtsyError

READY = {9001}


def product(color: str = "Black", size: str = "S", **offering: Any) -> dict[str, Any]:
    return {
        "sku": f"{color}-{size}",
        "property_values": [
            {"property_id": 513, "property_name": "Color", "value_ids": [], "values": [color]},
            {"property_id": 514, "property_name": "Size", "value_ids": [], "values": [size]},
        ],
        "offerings": [
            {"price": 20.0, "quantity": 5, "is_enabled": True, "readiness_state_id": 9001}
            | offering
        ],
    }


BAD: list[tuple[Any, str]] = [
    ([], "products"),
    ({"products": []}, "between 1 and"),
    ({"products": ["x"]}, "must be an object"),
    ({"products": [{"offerings": []}]}, "exactly one offering"),
    ({"products": [product() | {"property_values": "x"}]}, "must be a list"),
    ({"products": [product() | {"sku": "x" * 33}]}, "SKU"),
    ({"products": [product(price=True)]}, "price"),
    ({"products": [product(price=60_000)]}, "price"),
    ({"products": [product(quantity=1.5)]}, "quantity must be an integer"),
    ({"products": [product(quantity=1000)]}, "between 0 and 999"),
    ({"products": [product(is_enabled="yes")]}, "is_enabled"),
    ({"products": [product(readiness_state_id=None)]}, "readiness_state_id is required"),
    ({"products": [product(readiness_state_id=1)]}, "not found in this shop"),
    ({"products": [product() | {"offerings": ["x"]}]}, "offering must be an object"),
    ({"products": [product() | {"property_values": ["x"]}]}, "property value must"),
    ({"products": [product() | {"property_values": [{"property_id": 0}]}]}, "property_id"),
    (
        {"products": [product() | {"property_values": [{"property_id": 1, "values": []}]}]},
        "value_ids and values",
    ),
    (
        {
            "products": [
                product()
                | {"property_values": [{"property_id": 1, "value_ids": [], "values": [" "]}]}
            ]
        },
        "exactly one non-empty value",
    ),
    ({"products": [product(), product("Black", "M") | {"property_values": []}]}, "same properties"),
    ({"products": [product(), product()]}, "same property values"),
    ({"products": [product() | {"property_values": []}] * 2}, "can't be empty"),
    ({"products": [product()], "price_on_property": [200]}, "price_on_property"),
]


@pytest.mark.parametrize(("body", "says"), BAD)
def test_what_etsy_refuses(body: Any, says: str) -> None:
    with pytest.raises(EtsyError) as refused:
        parse_inventory(body, READY)
    assert refused.value.status == 400 and says in refused.value.body["error"]


def test_a_property_once_and_at_most_two_unless_three_are_asked_for() -> None:
    twice = product()
    twice["property_values"].append(dict(twice["property_values"][0]))
    with pytest.raises(EtsyError, match="once per product"):
        parse_inventory({"products": [twice]}, READY)
    three = product()
    three["property_values"].append(
        {"property_id": 515, "property_name": "Fit", "value_ids": [], "values": ["Slim"]}
    )
    with pytest.raises(EtsyError, match="at most 2"):
        parse_inventory({"products": [three]}, READY)
    assert parse_inventory({"products": [three]}, READY, max_variations=3)["products"]


def test_an_inventory_numbers_its_products_and_sums_up_its_listing() -> None:
    body = {
        "products": [
            product("Black", "S", price=24.5, quantity=3),
            product("White", "S", price=22.0, quantity=4, is_enabled=False),
            product("White", "M", price=23.0, quantity=6),
        ],
        "price_on_property": [514, 513],
        "sku_on_property": [513],
    }
    inventory = parse_inventory(body, READY)
    assert inventory["price_on_property"] == [513, 514]  # in the products' order
    ids = iter(range(100, 200))
    rendered = render(number(inventory, lambda _counter: next(ids)))
    assert [p["product_id"] for p in rendered["products"]] == [100, 102, 104]
    assert rendered["products"][0]["offerings"][0]["price"] == {
        "amount": 2450,
        "divisor": 100,
        "currency_code": "USD",
    }
    assert listing_summary(inventory) == {
        "has_variations": True,
        "price": 2300,  # the lowest enabled price
        "quantity": 9,  # the enabled quantities
        "readiness_state_id": 9001,
    }
    row = {"price": 1999, "quantity": 7, "readiness_state_id": None}
    plain = default_inventory(row)
    assert listing_summary(plain) == {
        "has_variations": False,
        "price": 1999,
        "quantity": 7,
        "readiness_state_id": None,
    }
