"""Prometheus metrics (issue 17, ADR 0034).

- The API's requests: `http_server_requests_total` by method, route template and status,
  and `http_server_request_duration_seconds` by method and route, kept by
  `prometheus_client`. `pod api` runs several processes: it sets
  `PROMETHEUS_MULTIPROC_DIR` (`use_multiprocess_dir`) before they start, each writes its
  values to a file there, and whichever answers `/metrics` sums them all.
- The business figures (runs by kind, status, stage and code; listings; model cost) are
  read from Postgres at each scrape (`models.repositories.figures`): right whichever
  process answers, and whichever worker did the work.
- Each worker serves the Temporal SDK's own metrics (task slots, schedule-to-start,
  activity latency and failures by type) on a port of its own (`WORKER_METRICS_PORT`),
  with the vendor calls its activities made, by vendor, answer code and activity type,
  and how long they took (`MeteredTransport`, `metered_hooks`), on the meter of the
  worker running the activity.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from temporalio import activity
from temporalio.common import MetricCounter, MetricHistogramFloat, MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

logger = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# What Prometheus' text format is served as.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; a read answers in milliseconds, a start in tens of them, a slow vendor in many.
HTTP_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Seconds a vendor took, the same on the API's and the workers' side (one histogram to
# Prometheus): a catalog read answers in tens of ms, an image model in tens of seconds.
VENDOR_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
VENDOR_CALLS = "pod_vendor_calls"
VENDOR_CALLS_HELP = "HTTP calls to vendors, by vendor and answer code."
VENDOR_DURATION = "pod_vendor_call_duration"
VENDOR_DURATION_HELP = "How long vendors took to answer, by vendor."
# The route label of a request no route matched (a 404): never the raw path, whose
# values a caller chooses and would make a series each.
UNMATCHED_ROUTE = "unmatched"


def use_multiprocess_dir(directory: Path) -> None:
    """Before the API's processes start: their metrics go to files in `directory`,
    emptied first (values of processes of an earlier start would count again)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROCESS_ENV] = str(directory)


class HttpMetrics:
    """The API's request counter and latency histogram, one per app, and the vendor
    calls its requests made (`record`; shop setup reads).

    A request's label values pick its children once; after that a request costs one
    counter and one histogram increment (in multiprocess mode, writes to a memory-mapped
    file)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        directory = os.environ.get(MULTIPROCESS_ENV)
        # In multiprocess mode the values are read back from every process's files.
        own = None if directory else self.registry
        if directory:
            MultiProcessCollector(self.registry, path=directory)
        self._requests = Counter(
            "http_server_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=own,
        )
        self._duration = Histogram(
            "http_server_request_duration_seconds",
            "Time from a request's arrival to its answer, by method and route template.",
            ("method", "route"),
            buckets=HTTP_BUCKETS,
            registry=own,
        )
        self._vendor_calls = Counter(
            VENDOR_CALLS, VENDOR_CALLS_HELP, ("vendor", "code"), registry=own
        )
        self._vendor_duration = Histogram(
            f"{VENDOR_DURATION}_seconds",
            VENDOR_DURATION_HELP,
            ("vendor",),
            buckets=VENDOR_BUCKETS,
            registry=own,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None:
        key = (method, route or UNMATCHED_ROUTE, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self._requests.labels(key[0], key[1], str(status)),
                self._duration.labels(key[0], key[1]),
            )
            self._children[key] = children
        requests, duration = children
        requests.inc()
        duration.observe(seconds)

    def record(self, vendor: str, code: str, seconds: float) -> None:
        """A vendor call made while answering a request (`record_vendor_call`)."""
        self._vendor_calls.labels(vendor, code).inc()
        self._vendor_duration.labels(vendor).observe(seconds)

    def render(self, extra: Iterable[Metric] = ()) -> bytes:
        """The text exposition of the requests, then `extra` (figures read elsewhere)."""
        return generate_latest(self.registry) + generate_latest(_Families(list(extra)))


class _Families:
    """What `generate_latest` reads: metric families built for one scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


# The workers' side: the Temporal SDK's meter, served on the worker's own port.


def worker_runtime(host: str, port: int) -> Runtime | None:
    """A Temporal runtime whose metrics Prometheus scrapes on `host:port`, named as
    Prometheus names them (`_total`, `_seconds`); None (the default runtime, no
    endpoint) when the port is 0 or taken: a worker that cannot serve its metrics still
    serves its queue, and says so."""
    if port == 0:
        return None
    try:
        return Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(
                    bind_address=f"{host}:{port}",
                    counters_total_suffix=True,
                    unit_suffix=True,
                    durations_as_seconds=True,
                    histogram_bucket_overrides={VENDOR_DURATION: VENDOR_BUCKETS},
                )
            )
        )
    except ValueError as exc:  # the exporter could not bind
        logger.error("worker metrics not served on %s:%d: %s", host, port, exc)
        return None


class VendorCalls:
    """`pod_vendor_calls_total{vendor,code}` and `pod_vendor_call_duration_seconds`:
    every HTTP exchange with a vendor, retries and 429s included (`code` is the answer's
    status, or `transport_error`)."""

    def __init__(self, meter: MetricMeter) -> None:
        self._calls: MetricCounter = meter.create_counter(VENDOR_CALLS, VENDOR_CALLS_HELP)
        self._duration: MetricHistogramFloat = meter.create_histogram_float(
            VENDOR_DURATION, VENDOR_DURATION_HELP, "seconds"
        )

    def record(self, vendor: str, code: str, seconds: float) -> None:
        self._calls.add(1, {"vendor": vendor, "code": code})
        self._duration.record(seconds, {"vendor": vendor})


# The API's metrics while it answers a request (`answering`): where the vendor calls
# made outside an activity are counted.
_ANSWERING: ContextVar[HttpMetrics | None] = ContextVar("pod_answering", default=None)


@contextmanager
def answering(metrics: HttpMetrics | None) -> Iterator[None]:
    """While a request is answered, its vendor calls are counted in `metrics` (None:
    not counted)."""
    token = _ANSWERING.set(metrics)
    try:
        yield
    finally:
        _ANSWERING.reset(token)


def record_vendor_call(vendor: str, code: str, seconds: float) -> None:
    """Count a vendor call where it was made: on the meter of the worker running the
    current activity (its runtime's, labelled with the activity's type, task queue and
    namespace), or in the API's metrics while it answers a request.

    The worker's own meter, not a process-wide one: a call is counted by the worker that
    made it, and only there. Making the two instruments and recording takes ~9 µs a call
    (20 000 calls on a Prometheus runtime's meter), nothing beside an HTTP exchange."""
    if activity.in_activity():
        try:
            meter = activity.metric_meter()
        except RuntimeError:  # a non-threaded sync activity has no meter (none of ours)
            return
        VendorCalls(meter).record(vendor, code, seconds)
        return
    api = _ANSWERING.get()
    if api is not None:
        api.record(vendor, code, seconds)


class MeteredTransport(httpx.AsyncBaseTransport):
    """An httpx transport that counts each exchange with `vendor` (`record_vendor_call`)."""

    def __init__(self, vendor: str, inner: httpx.AsyncBaseTransport) -> None:
        self.vendor = vendor
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        code = "transport_error"
        try:
            response = await self._inner.handle_async_request(request)
            code = str(response.status_code)
            return response
        finally:
            record_vendor_call(self.vendor, code, time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._inner.aclose()


_STARTED = "pod_metrics_started"


def metered_hooks(vendor: str) -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """Event hooks that count a client's exchanges with `vendor`, for a client whose
    transport is not ours to wrap (the OpenAI SDK's). A request that got no answer is
    not seen by them: only `MeteredTransport` counts `transport_error`."""

    async def sent(request: Any) -> None:
        request.extensions[_STARTED] = time.perf_counter()

    async def answered(response: Any) -> None:
        started = response.request.extensions.get(_STARTED, time.perf_counter())
        record_vendor_call(vendor, str(response.status_code), time.perf_counter() - started)

    return {"request": [sent], "response": [answered]}
