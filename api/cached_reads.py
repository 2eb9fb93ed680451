"""Read-only pages answered from the process's `core.read_cache.ReadCache` (ADR 0030).

A route hands over what identifies its page and how to read it; a hit is the stored
bytes (no query, no rows, no serialisation), a miss reads, serialises as FastAPI would
(`by_alias`) and stores the bytes under the stamp taken before the read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable

from fastapi import Request, Response
from pydantic import BaseModel

from core.read_cache import ReadCache


async def cached_page[M: BaseModel](
    request: Request,
    *,
    table: str,
    tenant_id: str,
    key: Hashable,
    read: Callable[[], Awaitable[M]],
    keep: Callable[[M], bool] | None = None,
) -> Response:
    """The answer for `key` among the tenant's rows of `table`, from the cache or `read`
    (stored unless `keep` says the answer depends on more than those rows)."""
    cache: ReadCache[bytes] = request.app.state.read_cache
    body = cache.get(table, tenant_id, key)
    if body is None:
        stamp = cache.stamp(table, tenant_id)
        page = await read()
        body = type(page).__pydantic_serializer__.to_json(page, by_alias=True)
        if keep is None or keep(page):
            cache.put(stamp, table, tenant_id, key, body)
    return Response(body, media_type="application/json")
