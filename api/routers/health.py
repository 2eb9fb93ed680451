from __future__ import annotations

from fastapi import APIRouter

from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health", response_model=Health)
async def health() -> Health:
    """Liveness: the API process answers."""
    return Health(status="ok")
