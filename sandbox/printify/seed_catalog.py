"""Seed catalog of the Printify emulator: blueprints, print providers, variants, shipping.

A small, fixed slice of the real catalog. Blueprint 6 / provider 99 with variants
12100-12102 and 12110-12112 (Black and White, S-L) are what
`models.payloads.ProductTemplate` uses by default.
Variant `cost` (cents) is an extra field the real `variants.json` does not carry; the
emulator echoes it there and uses it as the product variant cost.
"""

from __future__ import annotations

from typing import Any

_COLORS = {"Black": ("#000000", 418), "White": ("#ffffff", 521), "Navy": ("#1f2a44", 511)}
_SIZES = {"S": 14, "M": 15, "L": 16, "XL": 17, "12x16": 1530, "18x24": 1531}
_SIZE_GRAMS = {"S": 170, "M": 190, "L": 210, "XL": 230}
_SIZE_COST = {"S": 1090, "M": 1090, "L": 1090, "XL": 1190}


def _tee_variants(
    first_id: int, color: str, placeholders: list[dict[str, Any]], cost_delta: int = 0
) -> list[dict[str, Any]]:
    return [
        {
            "id": first_id + index,
            "title": f"{color} / {size}",
            "options": {"color": color, "size": size},
            "placeholders": placeholders,
            "cost": _SIZE_COST[size] + cost_delta,
            "grams": _SIZE_GRAMS[size],
        }
        for index, size in enumerate(("S", "M", "L", "XL"))
    ]


_TEE_99 = [
    {"position": "front", "height": 5400, "width": 4500},
    {"position": "back", "height": 5400, "width": 4500},
]
_TEE_29 = [{"position": "front", "height": 4800, "width": 4200}]
_POSTER_1 = [{"position": "front", "height": 7200, "width": 5400}]

BLUEPRINTS: dict[int, dict[str, Any]] = {
    6: {
        "id": 6,
        "title": "Unisex Heavy Cotton Tee",
        "description": "The unisex heavy cotton tee is the basic staple of any wardrobe.",
        "brand": "Gildan",
        "model": "5000",
        "images": ["https://images.printify.com/5853fe7dce46f30f8327f5cd"],
    },
    384: {
        "id": 384,
        "title": "Poster",
        "description": "Museum-quality posters made on thick and durable matte paper.",
        "brand": "Generic brand",
        "model": "Matte Vertical Posters",
        "images": ["https://images.printify.com/5f3a9a1e8b6cdb2c4d0e4a11"],
    },
}

PRINT_PROVIDERS: dict[int, dict[str, Any]] = {
    99: {
        "id": 99,
        "title": "Printify Choice",
        "location": {
            "address1": "1 Choice Way",
            "address2": None,
            "city": "Charlotte",
            "country": "US",
            "region": "NC",
            "zip": "28202",
        },
    },
    29: {
        "id": 29,
        "title": "Monster Digital",
        "location": {
            "address1": "6850 N Haggerty Rd",
            "address2": None,
            "city": "Canton",
            "country": "US",
            "region": "MI",
            "zip": "48187",
        },
    },
    1: {
        "id": 1,
        "title": "SPOKE Custom Products",
        "location": {
            "address1": "89 Weirfield St",
            "address2": None,
            "city": "Brooklyn",
            "country": "US",
            "region": "NY",
            "zip": "11221",
        },
    },
}

# (blueprint id, provider id) -> variants offered by that provider for that blueprint.
VARIANTS: dict[tuple[int, int], list[dict[str, Any]]] = {
    (6, 99): _tee_variants(12100, "Black", _TEE_99) + _tee_variants(12110, "White", _TEE_99),
    (6, 29): _tee_variants(18100, "Black", _TEE_29, 60) + _tee_variants(18110, "Navy", _TEE_29, 60),
    (384, 1): [
        {
            "id": 45740,
            "title": '12" x 16"',
            "options": {"size": "12x16"},
            "placeholders": _POSTER_1,
            "cost": 1150,
            "grams": 90,
        },
        {
            "id": 45741,
            "title": '18" x 24"',
            "options": {"size": "18x24"},
            "placeholders": _POSTER_1,
            "cost": 1590,
            "grams": 140,
        },
    ],
}

# Variants the provider cannot make now: `variants.json` leaves them out unless asked
# with `show-out-of-stock=1`, and products mark them `is_available: false`.
OUT_OF_STOCK = frozenset({18112})

# (blueprint id, provider id) -> (handling days, US first item, US additional, world first item)
SHIPPING: dict[tuple[int, int], tuple[int, int, int, int]] = {
    (6, 99): (3, 475, 240, 1000),
    (6, 29): (2, 499, 250, 1100),
    (384, 1): (4, 650, 150, 1500),
}


def option_value_id(name: str) -> int:
    """The product option value id of a color or size name."""
    if name in _COLORS:
        return _COLORS[name][1]
    return _SIZES[name]


def color_hex(name: str) -> str:
    """The hex code of a color name (white for unknown names)."""
    return _COLORS.get(name, ("#ffffff", 0))[0]


def variants_by_id(blueprint_id: int, provider_id: int) -> dict[int, dict[str, Any]]:
    """The variants a provider offers of a blueprint, by id (the pair must be offered)."""
    return {variant["id"]: variant for variant in VARIANTS[(blueprint_id, provider_id)]}


def variant_doc(
    blueprint_id: int, provider_id: int, *, show_out_of_stock: bool = False
) -> dict[str, Any] | None:
    """The `variants.json` answer for a blueprint and provider, or None if not offered;
    out-of-stock variants only with `show_out_of_stock`, as Printify answers."""
    variants = VARIANTS.get((blueprint_id, provider_id))
    if variants is None:
        return None
    return {
        "id": provider_id,
        "title": PRINT_PROVIDERS[provider_id]["title"],
        "variants": [
            {k: v for k, v in variant.items() if k != "grams"}
            for variant in variants
            if show_out_of_stock or variant["id"] not in OUT_OF_STOCK
        ],
    }


def shipping_doc(blueprint_id: int, provider_id: int) -> dict[str, Any] | None:
    """The `shipping.json` answer for a blueprint and provider, or None if not offered."""
    if (blueprint_id, provider_id) not in SHIPPING:
        return None
    days, first, additional, world = SHIPPING[(blueprint_id, provider_id)]
    variant_ids = [variant["id"] for variant in VARIANTS[(blueprint_id, provider_id)]]
    return {
        "handling_time": {"value": days, "unit": "day"},
        "profiles": [
            {
                "variant_ids": variant_ids,
                "first_item": {"cost": first, "currency": "USD"},
                "additional_items": {"cost": additional, "currency": "USD"},
                "countries": ["US"],
            },
            {
                "variant_ids": variant_ids,
                "first_item": {"cost": world, "currency": "USD"},
                "additional_items": {"cost": world // 2, "currency": "USD"},
                "countries": ["REST_OF_THE_WORLD"],
            },
        ],
    }


def providers_of(blueprint_id: int) -> list[dict[str, Any]]:
    """`[{id, title}]` of the providers offering a blueprint."""
    return [
        {"id": pp, "title": PRINT_PROVIDERS[pp]["title"]}
        for bp, pp in VARIANTS
        if bp == blueprint_id
    ]
