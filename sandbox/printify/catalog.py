"""The catalog: blueprints, print providers, their variants and shipping (read only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from sandbox.printify import seed_catalog as catalog
from sandbox.printify.vendor import VendorRoute, invalid, not_found

router = APIRouter(route_class=VendorRoute)


@router.get("/catalog/blueprints.json")
def list_blueprints() -> list[dict[str, Any]]:
    return list(catalog.BLUEPRINTS.values())


@router.get("/catalog/blueprints/{blueprint_id}.json")
def get_blueprint(blueprint_id: int) -> dict[str, Any]:
    if blueprint_id not in catalog.BLUEPRINTS:
        raise not_found(f"Blueprint {blueprint_id}")
    return catalog.BLUEPRINTS[blueprint_id]


@router.get("/catalog/blueprints/{blueprint_id}/print_providers.json")
def blueprint_providers(blueprint_id: int) -> list[dict[str, Any]]:
    if blueprint_id not in catalog.BLUEPRINTS:
        raise not_found(f"Blueprint {blueprint_id}")
    return catalog.providers_of(blueprint_id)


@router.get("/catalog/blueprints/{blueprint_id}/print_providers/{provider_id}/variants.json")
def variants(
    blueprint_id: int,
    provider_id: int,
    show_out_of_stock: str = Query("0", alias="show-out-of-stock"),
) -> dict[str, Any]:
    if show_out_of_stock not in ("0", "1"):
        raise invalid("show-out-of-stock: only 0 and 1 are accepted")
    doc = catalog.variant_doc(blueprint_id, provider_id, show_out_of_stock=show_out_of_stock == "1")
    if doc is None:
        raise not_found(f"Print provider {provider_id} for blueprint {blueprint_id}")
    return doc


@router.get("/catalog/blueprints/{blueprint_id}/print_providers/{provider_id}/shipping.json")
def shipping(blueprint_id: int, provider_id: int) -> dict[str, Any]:
    doc = catalog.shipping_doc(blueprint_id, provider_id)
    if doc is None:
        raise not_found(f"Print provider {provider_id} for blueprint {blueprint_id}")
    return doc


@router.get("/catalog/print_providers.json")
def list_providers() -> list[dict[str, Any]]:
    return list(catalog.PRINT_PROVIDERS.values())
