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
  with the vendor calls its activities made, by vendor and answer code, and how long
  they took (`MeteredTransport`, `metered_hooks`), through the same meter.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from temporalio.common import MetricCounter, MetricHistogramFloat, MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

logger = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# What Prometheus' text format is served as.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; a read answers in milliseconds, a start in tens of them, a slow vendor in many.
HTTP_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
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
    """The API's request counter and latency histogram, one per app.

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
                )
            )
        )
    except ValueError as exc:  # the exporter could not bind
        logger.error("worker metrics not served on %s:%d: %s", host, port, exc)
        return None


class VendorCalls:
    """`pod_vendor_calls_total{vendor,code}` and `pod_vendor_call_duration_seconds`,
    on the meter `use_meter` gave: every HTTP exchange with a vendor, retries and 429s
    included (`code` is the answer's status, or `transport_error`)."""

    def __init__(self, meter: MetricMeter) -> None:
        self._calls: MetricCounter = meter.create_counter(
            "pod_vendor_calls", "HTTP calls to vendors, by vendor and answer code."
        )
        self._duration: MetricHistogramFloat = meter.create_histogram_float(
            "pod_vendor_call_duration",
            "How long vendors took to answer, by vendor.",
            "seconds",
        )

    def record(self, vendor: str, code: str, seconds: float) -> None:
        self._calls.add(1, {"vendor": vendor, "code": code})
        self._duration.record(seconds, {"vendor": vendor})


_vendor_calls: VendorCalls | None = None


def use_meter(meter: MetricMeter | None) -> None:
    """Count this process's vendor calls on `meter` (a worker's runtime's); None stops."""
    global _vendor_calls
    _vendor_calls = VendorCalls(meter) if meter is not None else None


class MeteredTransport(httpx.AsyncBaseTransport):
    """An httpx transport that counts each exchange with `vendor` on the meter in use."""

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
            calls = _vendor_calls
            if calls is not None:
                calls.record(self.vendor, code, time.perf_counter() - started)

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
        calls = _vendor_calls
        if calls is not None:
            started = response.request.extensions.get(_STARTED, time.perf_counter())
            calls.record(vendor, str(response.status_code), time.perf_counter() - started)

    return {"request": [sent], "response": [answered]}
