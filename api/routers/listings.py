from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.auth import ListingsRead
from api.cached_reads import cached_page
from api.deps import ReadsDep
from api.hygiene import KnownQueryRoute
from api.schemas import ListingPage, ListingPublic
from models import repositories

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/listings", tags=["listings"])


@router.get("", operation_id="list_listings", response_model=ListingPage)
async def list_listings(
    request: Request,
    reads: ReadsDep,
    principal: ListingsRead,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The tenant's listings (Printify product + Etsy listing), newest first, each with its
    views and favourites on Etsy, its orders, units, revenue, model cost and margin."""

    async def read() -> ListingPage:
        rows, count = await repositories.reads.listings_page(
            reads, tenant_id=principal.tenant_id, limit=limit, offset=offset
        )
        return ListingPage(
            data=[ListingPublic.of(row) for row in rows],
            count=count,
        )

    return await cached_page(
        request,
        table="listings",
        tenant_id=principal.tenant_id,
        key=("page", limit, offset),
        read=read,
    )
