"""A listing's inventory in the Etsy emulator: its products (one per variation), their
offerings (price, quantity, processing profile) and property values, as
`getListingInventory` / `updateListingInventory` read and write them.

The rules follow Etsy's document and the hand-kept ones (`sandbox/contracts`): one
offering per product, every offering names one of the shop's processing profiles, at
most two variation properties (three with `max_variations_supported=3`), the same
properties in the same order on every product, no combination twice, more than one
product only with variations, and `*_on_property` naming properties the products use.
A listing with variations shows them (`has_variations`), its lowest enabled price and
the sum of its enabled quantities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.etsy_rules import EtsyError

MAX_PRICE = 50_000.0
MAX_QUANTITY = 999
MAX_PRODUCTS = 400
ON_PROPERTY = ("price_on_property", "quantity_on_property", "sku_on_property")


def _fail(message: str) -> EtsyError:
    return EtsyError.plain(400, message)


def default_inventory(row: dict[str, Any]) -> dict[str, Any]:
    """A listing without variations: one product, one offering at the listing's price."""
    return {
        "products": [
            {
                "sku": "",
                "property_values": [],
                "offerings": [
                    {
                        "price": row["price"],  # cents
                        "quantity": row["quantity"],
                        "is_enabled": True,
                        "readiness_state_id": row.get("readiness_state_id"),
                    }
                ],
            }
        ],
        "price_on_property": [],
        "quantity_on_property": [],
        "sku_on_property": [],
        "readiness_state_on_property": [],
    }


def _offering(raw: Any, readiness_ids: set[int]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail("Each offering must be an object.")
    price, quantity = raw.get("price"), raw.get("quantity")
    enabled, readiness = raw.get("is_enabled"), raw.get("readiness_state_id")
    if isinstance(price, bool) or not isinstance(price, int | float) or not 0 < price <= MAX_PRICE:
        raise _fail(f"Offering price must be a number above 0 and at most {MAX_PRICE:.0f}.")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise _fail("Offering quantity must be an integer.")
    if not 0 <= quantity <= MAX_QUANTITY:
        raise _fail(f"Offering quantity must be between 0 and {MAX_QUANTITY}.")
    if not isinstance(enabled, bool):
        raise _fail("Offering is_enabled must be a boolean.")
    if readiness is None:
        raise _fail("readiness_state_id is required on every offering of a physical listing.")
    if readiness not in readiness_ids:
        raise _fail(f"The readiness state {readiness} was not found in this shop.")
    return {
        "price": round(float(price) * 100),
        "quantity": quantity,
        "is_enabled": enabled,
        "readiness_state_id": readiness,
    }


def _property_value(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail("Each property value must be an object.")
    prop, value_ids, values = raw.get("property_id"), raw.get("value_ids"), raw.get("values")
    if isinstance(prop, bool) or not isinstance(prop, int) or prop < 1:
        raise _fail("property_id must be a positive integer.")
    if not isinstance(value_ids, list) or not isinstance(values, list):
        raise _fail("property_values need value_ids and values lists.")
    if len(values) != 1 or not isinstance(values[0], str) or not values[0].strip():
        raise _fail("Each property value has exactly one non-empty value.")
    return {
        "property_id": prop,
        "property_name": str(raw.get("property_name") or ""),
        "scale_id": raw.get("scale_id"),
        "scale_name": None,
        "value_ids": [int(v) for v in value_ids],
        "values": [values[0].strip()],
    }


def parse_inventory(body: Any, readiness_ids: set[int], max_variations: int = 2) -> dict[str, Any]:
    """The inventory to store from an `updateListingInventory` body, or Etsy's 400."""
    if not isinstance(body, dict) or not isinstance(body.get("products"), list):
        raise _fail("Missing input parameter: [products].")
    raw_products = body["products"]
    if not raw_products or len(raw_products) > MAX_PRODUCTS:
        raise _fail(f"A listing has between 1 and {MAX_PRODUCTS} products.")
    products: list[dict[str, Any]] = []
    for raw in raw_products:
        if not isinstance(raw, dict):
            raise _fail("Each product must be an object.")
        offerings = raw.get("offerings")
        if not isinstance(offerings, list) or len(offerings) != 1:
            raise _fail("Each product has exactly one offering.")
        values = raw.get("property_values") or []
        if not isinstance(values, list):
            raise _fail("property_values must be a list.")
        sku = raw.get("sku") or ""
        if not isinstance(sku, str) or len(sku) > 32:
            raise _fail("A SKU is a string of at most 32 characters.")
        products.append(
            {
                "sku": sku,
                "property_values": [_property_value(v) for v in values],
                "offerings": [_offering(offerings[0], readiness_ids)],
            }
        )
    _check_variations(products, max_variations)
    used = [v["property_id"] for v in products[0]["property_values"]]
    inventory: dict[str, Any] = {"products": products}
    for name in (*ON_PROPERTY, "readiness_state_on_property"):
        listed = body.get(name) or []
        if not isinstance(listed, list) or any(p not in used for p in listed):
            raise _fail(f"{name}: property IDs must be among the products' properties.")
        inventory[name] = [p for p in used if p in listed]  # in the products' order
    return inventory


def _check_variations(products: list[dict[str, Any]], max_variations: int) -> None:
    shapes = {tuple(v["property_id"] for v in p["property_values"]) for p in products}
    if len(shapes) != 1:
        raise _fail("Every product must have the same properties, in the same order.")
    (shape,) = shapes
    if len(shape) != len(set(shape)):
        raise _fail("A property may appear once per product.")
    if len(shape) > max_variations:
        raise _fail(f"A listing may have at most {max_variations} variation properties.")
    if len(products) > 1 and not shape:
        raise _fail("Property values can't be empty when a listing has several products.")
    combos = [tuple(v["values"][0].casefold() for v in p["property_values"]) for p in products]
    if len(set(combos)) != len(combos):
        raise _fail("Two products have the same property values.")


def number(inventory: dict[str, Any], ids: Callable[[str], int]) -> dict[str, Any]:
    """Give each product and offering its id (`ids(counter_name)` gives a fresh one)."""
    for product in inventory["products"]:
        product.setdefault("product_id", ids("etsy_product"))
        for offering in product["offerings"]:
            offering.setdefault("offering_id", ids("etsy_offering"))
    return inventory


def render(inventory: dict[str, Any], currency: str = "USD") -> dict[str, Any]:
    """A numbered inventory as Etsy's `ListingInventory`."""
    products = [
        {
            "product_id": product["product_id"],
            "sku": product["sku"],
            "is_deleted": False,
            "offerings": [
                {
                    "offering_id": offering["offering_id"],
                    "quantity": offering["quantity"],
                    "is_enabled": offering["is_enabled"],
                    "is_deleted": False,
                    "price": {
                        "amount": offering["price"],
                        "divisor": 100,
                        "currency_code": currency,
                    },
                    "readiness_state_id": offering["readiness_state_id"],
                }
                for offering in product["offerings"]
            ],
            "property_values": product["property_values"],
        }
        for product in inventory["products"]
    ]
    return {
        "products": products,
        **{name: list(inventory.get(name) or []) for name in ON_PROPERTY},
        "readiness_state_on_property": list(inventory.get("readiness_state_on_property") or []),
    }


def listing_summary(inventory: dict[str, Any]) -> dict[str, Any]:
    """What the inventory sets on its listing: variations, lowest price, total quantity."""
    enabled = [p["offerings"][0] for p in inventory["products"] if p["offerings"][0]["is_enabled"]]
    offers = enabled or [p["offerings"][0] for p in inventory["products"]]
    return {
        "has_variations": bool(inventory["products"][0]["property_values"]),
        "price": min(o["price"] for o in offers),
        "quantity": min(MAX_QUANTITY, sum(o["quantity"] for o in enabled)),
        "readiness_state_id": offers[0]["readiness_state_id"],
    }
