"""The FastAPI gateway: starts, queries and signals workflows; serves records and files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cachetools import TTLCache
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp
from temporalio.client import Client

from api.auth import KeyCache
from api.errors import install_error_handlers
from api.hygiene import InputHygieneMiddleware
from api.live_state import LiveStates
from api.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    RequestRateLimiter,
    SecurityHeadersMiddleware,
    SomeReadsTraced,
    UnexpectedErrorMiddleware,
)
from api.routers import (
    billing,
    briefs,
    campaigns,
    catalog,
    designs,
    files,
    health,
    integrations,
    keys,
    listings,
    members,
    metrics,
    orders,
    protected_names,
    schedules,
    templates,
    trends,
    webhooks,
    workflows,
)
from api.schemas import ErrorBody
from core.db import (
    CONNECTION_OPTIONS,
    libpq_url,
    make_engine,
    make_read_pool,
    make_session_factory,
)
from core.http_server import tune_collector_for_serving
from core.logging import configure_logging
from core.metrics import HttpMetrics
from core.oidc import OidcVerifier
from core.read_cache import ChangeFeed, ReadCache
from core.redis_shared import RedisCounter, RedisRateLimiter, redis_client
from core.settings import Settings, load_settings
from core.shared_buckets import SharedRateLimiter
from core.shared_counter import Counter, LocalCounter, SharedCounter
from core.storage import ObjectStorage, build_storage
from core.telemetry import configure_tracing, tracing_enabled
from core.temporal import connect_temporal
from services.runs import StartSetups
from services.vendors import VendorGateway

API_VERSION = "0.1.0"
# The routers in the order the API documents them (`openapi.yaml`, `docs/api.md`).
DOCUMENTED = (
    health,
    metrics,
    workflows,
    listings,
    designs,
    briefs,
    catalog,
    members,
    keys,
    integrations,
    billing,
    templates,
    protected_names,
    trends,
    campaigns,
    schedules,
    orders,
    webhooks,
    files,
)
# ...and in the order a request is matched against them. FastAPI tries each route in
# turn, a regular expression each, so the reads most requests make come first (their
# prefixes are disjoint, so the order decides nothing else). In the documented order
# `GET /v1/trends` was tried against some fifty routes first, ~70 of the ~340 µs it
# took in the app (`tests/api/profile_read.py`, `docs/performance.md`).
_HOT = (workflows, listings, trends)
MATCHED = (*_HOT, *(module for module in DOCUMENTED if module not in _HOT))
# Swagger UI's and ReDoc's scripts and styles, served from fastapi-offline's package.
DOCS_ASSETS = "/docs/assets"


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
        app.state.reads = make_read_pool(
            url, size=settings.api_read_pool_size, wait_seconds=settings.api_read_pool_wait_seconds
        )
        # Not waiting: the API starts while Postgres is down and answers 503 meanwhile.
        await app.state.reads.open(wait=False)
        feed = ChangeFeed(libpq_url(url), options=CONNECTION_OPTIONS)
        app.state.read_cache = ReadCache[bytes](feed, ttl=settings.api_read_cache_seconds)
        app.state.start_setups = StartSetups(feed, ttl=settings.api_read_cache_seconds)
        if app.state.read_cache.enabled:
            feed.start()
        app.state.temporal = temporal or await connect_temporal(settings)
        app.state.storage = storage or build_storage(settings)
        app.state.vendors = VendorGateway(app.state.sessions, settings, settings.cipher)
        for counter in redis_counters:
            counter.start()
        try:
            yield
        finally:
            for counter in redis_counters:
                await counter.close()
            if redis is not None:
                await redis.aclose()
            await app.state.vendors.aclose()
            await feed.close()
            await app.state.reads.close()
            await engine.dispose()

    # Swagger UI and ReDoc from the installed package, not a CDN: the docs work offline.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="POD Automator API",
        version=API_VERSION,
        description="Turns trends into print-on-demand listings (Printify + Etsy).",
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry spans (0.165+) are off: `trace_requests` traces the
        # requests, and only some of the reads. Left on, they traced every read again
        # (a request span and one per dependency and endpoint), hidden from it by
        # `SomeReadsTraced`: reads fell to 0.4 of the bare query on `make bench-api`.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.oidc = (
        OidcVerifier(
            issuer=str(settings.oidc_issuer),
            audience=str(settings.oidc_audience),
            jwks_file=settings.oidc_jwks_file,
            jwks_url=settings.oidc_jwks_url,
            tenant_claim=settings.oidc_tenant_claim,
        )
        if settings.oidc_enabled
        else None
    )
    # With REDIS_URL every host's processes share rate limits and forget together;
    # without it, the host's processes do (ADR 0027).
    redis = redis_client(settings.redis_url.get_secret_value()) if settings.redis_url else None
    redis_counters: list[RedisCounter] = []

    def counter(name: str) -> Counter:
        if redis is None:
            return _shared_counter(settings, name)
        redis_counters.append(RedisCounter(redis, name))
        return redis_counters[-1]

    app.state.rate_limiter = (
        RedisRateLimiter(
            redis,
            settings.api_rate_per_second,
            settings.api_rate_burst,
            fallback=_rate_limiter(settings),
        )
        if redis is not None
        else _rate_limiter(settings)
    )
    app.state.key_cache = KeyCache(settings.api_key_cache_seconds, counter("credentials"))
    app.state.live_states = LiveStates(settings.api_live_state_seconds, counter("run-signals"))
    install_error_handlers(app)
    app.state.catalog_cache = TTLCache(maxsize=1024, ttl=settings.catalog_cache_seconds)
    for module in MATCHED:
        app.include_router(module.router)
    # Last added runs first: the request id and access line, security headers (on every
    # answer, 413 included), the body size limit, input hygiene (control characters,
    # non-JSON bodies), CORS (closed unless configured), then the 500 for an error
    # nothing handled.
    app.add_middleware(UnexpectedErrorMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["Location", "Retry-After", "Idempotent-Replayed", "X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(InputHygieneMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.environment != "development")
    # Outermost: every answer, a refusal by the middlewares above included, has its
    # request id, its access line and its place in the request metrics.
    app.state.http_metrics = HttpMetrics()
    app.add_middleware(RequestContextMiddleware, metrics=app.state.http_metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    if tracing_enabled():
        trace_requests(app, settings.trace_reads_ratio)
    return app


def trace_requests(app: FastAPI, reads_ratio: float) -> None:
    """A server span per request, named by its route (`GET /v1/workflows/{workflow_id}`),
    outside every middleware; probes and metrics scrapes are left out.

    Every write is traced (a start is the root of its run's trace), but only
    `reads_ratio` of the reads, and a read whose caller's trace is sampled: the others
    skip the instrumentation altogether. Reads are most of the traffic; traced, or even
    given a span not sampled, they lost a third of their throughput on `make bench-api`
    (py-spy: the ASGI instrumentation, span ids and attributes; ADR 0032)."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="/healthz,/readyz,/metrics", exclude_spans=["receive", "send"]
    )
    build_traced = app.build_middleware_stack

    def build_middleware_stack() -> ASGIApp:
        traced = build_traced()  # ServerErrorMiddleware(OpenTelemetryMiddleware(stack))
        tracing = getattr(traced, "app", None)
        if not isinstance(tracing, OpenTelemetryMiddleware):
            return traced  # another shape: every request traced rather than none served
        return SomeReadsTraced(tracing.app, traced, reads_ratio)

    app.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]


COMMON_AUTH_ERRORS = {
    "401": "No valid API key (UNAUTHENTICATED)",
    "403": "The key's role or scopes do not allow this (FORBIDDEN)",
    "429": "Too many requests with this key (RATE_LIMITED); see Retry-After",
}
# Starts of a run (services.runs.start_run): 503 when Temporal cannot be reached.
# Operations that start or read a workflow: 503 `TEMPORAL_UNAVAILABLE` when it is down.
RUN_STARTS = {
    "start_design_to_listing",
    "request_brief",
    "request_design",
    "publish_design",
    "start_campaign",
    "scrape_trends",
    "get_scrape",
    "approve_workflow",
    "reject_workflow",
    "cancel_workflow",
}
QUOTA_OPERATIONS = {
    "start_design_to_listing",
    "request_brief",
    "request_design",
    "publish_design",
    "start_campaign",
    "add_member",
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema with FastAPI's validation error replaced by our error body."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    documented = [route for module in DOCUMENTED for route in module.router.routes]
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=documented
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["ErrorBody"] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components.update(webhooks.event_schemas())
    _forbid_control_characters(schema)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            # Any operation: control characters in the path or query (api/hygiene.py).
            responses["422"] = _error("Validation error")
            if operation.get("security"):
                for code, text in COMMON_AUTH_ERRORS.items():
                    responses.setdefault(code, _error(text))
            if operation.get("operationId") in RUN_STARTS:
                responses.setdefault(
                    "503",
                    _error("Temporal cannot be reached (TEMPORAL_UNAVAILABLE); see Retry-After"),
                )
            if operation.get("operationId") in QUOTA_OPERATIONS:
                responses.setdefault("402", _error("A plan limit is reached (QUOTA_EXCEEDED)"))
            if "requestBody" in operation:
                responses.setdefault("400", _error("The body is not parseable JSON"))
                responses.setdefault("413", _error("The request body is too large"))
                responses.setdefault("415", _error("The body is not JSON (UNSUPPORTED_MEDIA_TYPE)"))
    app.openapi_schema = schema
    return schema


# What `api.hygiene` refuses, said in the schema: a free-text string holds no control
# character (tab, newline and carriage return aside in a body). Lone surrogates, refused
# too, are left out: regex engines that work on UTF-8 (Rust's) cannot name them.
_BODY_TEXT = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]"
_PARAMETER_TEXT = r"[^\u0000-\u001f\u007f-\u009f]"
# Formats whose text cannot hold a control character anyway (an e-mail address can).
_EXACT_FORMATS = frozenset({"uuid", "date-time", "date", "time", "duration", "binary", "byte"})


def _forbid_control_characters(schema: dict[str, Any]) -> None:
    """A `pattern` on every request string that has none (nor a format or enum): the
    parameters' schemas and those the request bodies use. Lengths go into the pattern
    too, so a generator need not filter (schemathesis's positive data, issue 14)."""
    components = schema.get("components", {}).get("schemas", {})
    bodies: set[str] = set()
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                _text_pattern(parameter.get("schema", {}), _PARAMETER_TEXT, components, set())
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _text_pattern(media.get("schema", {}), _BODY_TEXT, components, bodies)


def _text_pattern(node: Any, allowed: str, components: dict[str, Any], visited: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _text_pattern(item, allowed, components, visited)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in visited:
            visited.add(name)
            _text_pattern(components.get(name), allowed, components, visited)
        return
    if (
        node.get("type") == "string"
        and not {"pattern", "enum", "const"} & set(node)
        and node.get("format") not in _EXACT_FORMATS
    ):
        low, high = node.get("minLength", 0), node.get("maxLength")
        node["pattern"] = f"^{allowed}{{{low},{'' if high is None else high}}}$"
    if node.get("type") == "object" and node.get("additionalProperties") not in (None, False):
        node.setdefault("propertyNames", {"pattern": f"^{allowed}*$"})
    for key, value in node.items():
        if key not in ("examples", "example", "default", "const", "enum"):
            _text_pattern(value, allowed, components, visited)


def _shared_counter(settings: Settings, name: str) -> SharedCounter | LocalCounter:
    """A counter the host's API processes share to forget cached answers together; one
    of this process alone when the state directory cannot be written."""
    try:
        return SharedCounter(settings.home / "run" / f"{name}.counter")
    except OSError:
        return LocalCounter()


def app_from_environment() -> FastAPI:
    """The app of one API process, from the environment (`pod api` sets `DATABASE_URL`):
    what uvicorn's factory calls in each process it runs."""
    settings = load_settings()
    configure_logging(settings.effective_log_level, settings.log_format)
    configure_tracing(settings, "api")
    app = create_app(settings)
    tune_collector_for_serving()
    return app


def _rate_limiter(settings: Settings) -> SharedRateLimiter | RequestRateLimiter:
    """Per-key buckets every API process of the host shares; this process's own when
    the state directory cannot be written."""
    try:
        return SharedRateLimiter(
            settings.home / "run" / "rate-limits.buckets",
            settings.api_rate_per_second,
            settings.api_rate_burst,
        )
    except OSError:
        return RequestRateLimiter(
            rate_per_second=settings.api_rate_per_second, burst=settings.api_rate_burst
        )
