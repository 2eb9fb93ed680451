from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import APIRouter, Request

from api.hygiene import KnownQueryRoute
from api.schemas import Health, Readiness
from core.storage import ObjectStorage
from domain import errors
from domain.errors import DomainError

router = APIRouter(route_class=KnownQueryRoute, tags=["health"])
logger = logging.getLogger(__name__)
# Each part has this long to answer a readiness check (a probe's usual timeout is longer).
READY_CHECK_SECONDS = 3.0


@router.get("/healthz", operation_id="health", response_model=Health)
async def health() -> Health:
    """Liveness: the API process answers."""
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="ready",
    response_model=Readiness,
    responses={503: {"description": "A part is down (NOT_READY); `details.checks` says which"}},
)
async def ready(request: Request) -> Readiness:
    """Readiness: the database, Temporal and object storage each answer within 3 s."""
    state = request.app.state
    storage: ObjectStorage = state.storage

    async def database() -> None:
        async with state.reads.connection(timeout=READY_CHECK_SECONDS) as connection:
            await connection.execute("SELECT 1")

    async def temporal() -> None:
        # With the client's retries: one slow answer of a busy server is not an outage.
        checked = state.temporal.service_client.check_health(
            retry=True, timeout=timedelta(seconds=READY_CHECK_SECONDS / 2)
        )
        if not await checked:
            raise ConnectionError("Temporal reports itself unhealthy")

    async def stored() -> None:
        await asyncio.to_thread(storage.check)

    parts: dict[str, Callable[[], Awaitable[None]]] = {
        "database": database,
        "temporal": temporal,
        "storage": stored,
    }
    results = await asyncio.gather(*(_checked(name, check) for name, check in parts.items()))
    checks = dict(zip(parts, results, strict=True))
    down = sorted(name for name, result in checks.items() if result != "ok")
    if down:
        raise DomainError(
            errors.NOT_READY, f"not ready: {', '.join(down)} did not answer", {"checks": checks}
        )
    return Readiness(status="ready", checks=checks)


async def _checked(name: str, check: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(check(), READY_CHECK_SECONDS)
    except Exception as exc:  # any failure means not ready; the answer names it
        logger.warning("readiness: %s is down: %s: %s", name, type(exc).__name__, exc)
        return f"down: {type(exc).__name__}"
    return "ok"
