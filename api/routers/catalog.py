"""The Printify catalog through our API: blueprints, their print providers, and each
provider's variants with placeholders (print-area sizes) and costs.

Read with the tenant's Printify token; answers are cached per API process for
`CATALOG_CACHE_SECONDS` (the catalog is the same for every account and changes
rarely), which also keeps us well inside Printify's 100 catalog requests a minute. What
does reach Printify passes the account's limits in this API process
(`PRINTIFY_CATALOG_PER_MINUTE`, `PRINTIFY_RATE_PER_SECOND`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from api.auth import CatalogRead
from api.deps import VendorsDep
from api.hygiene import KnownQueryRoute
from api.schemas import (
    Blueprint,
    BlueprintPage,
    CatalogVariant,
    CatalogVariantPage,
    ErrorBody,
    PrintProvider,
    PrintProviderPage,
)
from domain import errors
from domain.errors import DomainError
from integrations.errors import VendorError
from integrations.printify import PrintifyClient
from services.vendors import VendorGateway

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/catalog", tags=["catalog"])
ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such blueprint or provider"},
    409: {"model": ErrorBody, "description": "No Printify integration, or its token refused"},
    502: {"model": ErrorBody, "description": "Printify did not answer as expected"},
}
Id = Annotated[int, Path(gt=0, le=2**31)]


CATALOG_WAIT_SECONDS = 5.0


def _catalog_busy(retry_after: float | None) -> DomainError:
    """429 `PRINTIFY_RATE_LIMITED` with `Retry-After`: Printify's catalog allowance is
    used up for now (a vendor's 429, or our own pacing of it)."""
    return DomainError(
        errors.CATALOGUE["PRINTIFY_RATE_LIMITED"],
        "Printify's catalog allowance is used up for the moment; try again shortly",
        retry_after=max(1.0, retry_after or CATALOG_WAIT_SECONDS),
    )


async def _cached(
    request: Request,
    vendors: VendorGateway,
    tenant_id: str,
    key: str,
    load: Callable[[PrintifyClient], Awaitable[Any]],
) -> Any:
    """The cached answer for `key`, else `load` it with the tenant's Printify token."""
    cache = request.app.state.catalog_cache
    if key in cache:
        return cache[key]
    try:
        # The catalog's allowance (100 a minute) is waited for in the client; a route
        # does not hold its caller for long: past a few seconds it says when to return.
        async with asyncio.timeout(CATALOG_WAIT_SECONDS):
            async with vendors.tenant_printify(tenant_id) as client:
                value = await load(client)
    except TimeoutError:
        raise _catalog_busy(None) from None
    except VendorError as exc:
        if exc.status == 429:
            raise _catalog_busy(exc.retry_after) from None
        if exc.status == 404:
            raise DomainError(errors.NOT_FOUND, exc.message) from None
        if exc.status in (401, 403):
            # The tenant's token, not Printify, is the problem: the seller can fix it.
            raise DomainError(
                errors.INTEGRATION_REJECTED,
                "Printify refused the connected token; connect Printify again",
                {"vendor": "printify", "status": exc.status},
            ) from None
        raise DomainError(errors.VENDOR_ERROR, f"Printify: {exc.message}") from None
    cache[key] = value
    return value


@router.get(
    "/blueprints", operation_id="list_blueprints", response_model=BlueprintPage, responses=ERRORS
)
async def list_blueprints(
    request: Request,
    vendors: VendorsDep,
    principal: CatalogRead,
    q: Annotated[str | None, Query(max_length=100, description="Words in the title")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> BlueprintPage:
    """Blueprints (product types) of the Printify catalog, by id."""
    rows = await _cached(
        request,
        vendors,
        principal.tenant_id,
        "blueprints",
        lambda c: c.list_blueprints(),
    )
    blueprints = sorted((Blueprint.model_validate(row) for row in rows), key=lambda b: b.id)
    if q:
        words = q.lower().split()
        blueprints = [b for b in blueprints if all(w in b.title.lower() for w in words)]
    return BlueprintPage(data=blueprints[offset : offset + limit], count=len(blueprints))


@router.get(
    "/blueprints/{blueprint_id}/providers",
    operation_id="list_print_providers",
    response_model=PrintProviderPage,
    responses=ERRORS,
)
async def list_print_providers(
    blueprint_id: Id,
    request: Request,
    vendors: VendorsDep,
    principal: CatalogRead,
) -> PrintProviderPage:
    """The print providers that make a blueprint."""
    rows = await _cached(
        request,
        vendors,
        principal.tenant_id,
        f"providers/{blueprint_id}",
        lambda c: c.list_blueprint_providers(blueprint_id),
    )
    providers = [PrintProvider.model_validate(row) for row in rows]
    return PrintProviderPage(data=providers, count=len(providers))


@router.get(
    "/blueprints/{blueprint_id}/providers/{provider_id}/variants",
    operation_id="list_catalog_variants",
    response_model=CatalogVariantPage,
    responses=ERRORS,
)
async def list_catalog_variants(
    blueprint_id: Id,
    provider_id: Id,
    request: Request,
    vendors: VendorsDep,
    principal: CatalogRead,
) -> CatalogVariantPage:
    """A provider's variants of a blueprint: options, print areas in pixels, and cost."""
    variants = await provider_variants(
        request, vendors, principal.tenant_id, blueprint_id, provider_id
    )
    return CatalogVariantPage(
        blueprint_id=blueprint_id, print_provider_id=provider_id, data=variants, count=len(variants)
    )


async def provider_variants(
    request: Request,
    vendors: VendorGateway,
    tenant_id: str,
    blueprint_id: int,
    provider_id: int,
) -> list[CatalogVariant]:
    """A provider's variants of a blueprint, from the cache or Printify (404 if unknown)."""
    doc = await _cached(
        request,
        vendors,
        tenant_id,
        f"variants/{blueprint_id}/{provider_id}",
        lambda c: c.get_variants(blueprint_id, provider_id),
    )
    return [CatalogVariant.model_validate(row) for row in doc.get("variants", [])]
