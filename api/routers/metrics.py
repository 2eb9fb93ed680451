"""`GET /metrics`: the API's requests and the platform's business figures, in Prometheus'
text format (issue 17, ADR 0034)."""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, Request, Response
from fastapi.security.utils import get_authorization_scheme_param
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from api.hygiene import KnownQueryRoute
from core.metrics import CONTENT_TYPE, HttpMetrics
from domain import errors
from domain.errors import DomainError
from models.repositories.figures import Figures, platform_figures

router = APIRouter(route_class=KnownQueryRoute, tags=["health"])
logger = logging.getLogger(__name__)
# A scrape waits this long for a database connection before it answers without figures.
FIGURES_WAIT_SECONDS = 3.0


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format (0.0.4)",
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
        },
        401: {
            "description": "METRICS_TOKEN is set and the bearer token is not it (UNAUTHENTICATED)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        },
    },
)
async def metrics(request: Request) -> Response:
    """Requests by route, method and status, their latency, and the business figures:
    runs started, finished (by status, stage and error code) and under way, listings
    made, model calls and cost. `pod_figures_up` is 0 when the database did not answer
    (the request series are still served)."""
    state = request.app.state
    token = state.settings.metrics_token
    if token is not None and not _bearer_is(request, token.get_secret_value()):
        raise DomainError(errors.UNAUTHENTICATED, "/metrics needs the METRICS_TOKEN bearer token")
    families: list[Metric] = []
    up = GaugeMetricFamily("pod_figures_up", "1 when the business figures were read, else 0.")
    try:
        async with state.reads.connection(timeout=FIGURES_WAIT_SECONDS) as connection:
            figures = await platform_figures(connection)
    except Exception as exc:  # the request series are worth serving without them
        logger.warning("metrics: no business figures: %s: %s", type(exc).__name__, exc)
        up.add_metric([], 0)
    else:
        up.add_metric([], 1)
        families = business_families(figures)
    http: HttpMetrics = state.http_metrics
    return Response(http.render([up, *families]), media_type=CONTENT_TYPE)


def _bearer_is(request: Request, token: str) -> bool:
    scheme, given = get_authorization_scheme_param(request.headers.get("authorization"))
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def business_families(figures: Figures) -> list[Metric]:
    started = CounterMetricFamily("pod_runs_started", "Runs started, by kind.", labels=["kind"])
    by_kind: dict[str, int] = {}
    for figure in figures.runs:
        by_kind[figure.kind] = by_kind.get(figure.kind, 0) + figure.runs
    for kind, runs in sorted(by_kind.items()):
        started.add_metric([kind], runs)
    finished = CounterMetricFamily(
        "pod_runs_finished",
        "Runs that ended, by kind, status (completed, failed, rejected, cancelled), "
        "the stage they ended at and the error code of a failure.",
        labels=["kind", "status", "stage", "code"],
    )
    for figure in figures.finished:
        finished.add_metric([figure.kind, figure.status, figure.stage, figure.code], figure.runs)
    live = GaugeMetricFamily(
        "pod_runs_active",
        "Runs under way (running or awaiting approval), by kind, status and stage.",
        labels=["kind", "status", "stage"],
    )
    for figure in figures.live:
        live.add_metric([figure.kind, figure.status, figure.stage], figure.runs)
    listings = CounterMetricFamily("pod_listings_created", "Etsy listings made.")
    listings.add_metric([], figures.listings)
    calls = CounterMetricFamily(
        "pod_model_calls", "Paid model calls, by vendor and model.", labels=["vendor", "model"]
    )
    cost = CounterMetricFamily(
        "pod_model_cost_usd",
        "Estimated model cost in US dollars, by vendor and model.",
        labels=["vendor", "model"],
    )
    for line in figures.model_costs:
        calls.add_metric([line.vendor, line.model], line.calls)
        cost.add_metric([line.vendor, line.model], line.cost_micros / 1_000_000)
    return [started, finished, live, listings, calls, cost]
