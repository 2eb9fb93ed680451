"""The FastAPI gateway: starts, queries and signals workflows; serves records and files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.errors import install_error_handlers
from api.routers import designs, health, listings, workflows
from api.schemas import ErrorBody
from core.db import make_engine, make_session_factory
from core.settings import Settings
from core.storage import ObjectStorage, build_storage
from core.temporal import connect_temporal

API_VERSION = "0.1.0"


def create_app(
    settings: Settings,
    *,
    database_url: str | None = None,
    temporal: Client | None = None,
    storage: ObjectStorage | None = None,
) -> FastAPI:
    """Build the app; clients are made in the lifespan unless given (tests pass real ones)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url or settings.database_url
        if url is None:
            raise RuntimeError("DATABASE_URL is not set")
        engine: AsyncEngine = make_engine(url)
        app.state.sessions = make_session_factory(engine)
        app.state.temporal = temporal or await connect_temporal(settings)
        app.state.storage = storage or build_storage(settings)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="POD Automator API",
        version=API_VERSION,
        description="Turns trends into print-on-demand listings (Printify + Etsy).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(workflows.router)
    app.include_router(listings.router)
    app.include_router(designs.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema with FastAPI's validation error replaced by our error body."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["ErrorBody"] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "Validation error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                    },
                }
    app.openapi_schema = schema
    return schema
