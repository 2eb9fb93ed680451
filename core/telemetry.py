"""Traces (OpenTelemetry) for the API and the workers: one trace from an API request
through its workflow to every activity, vendor call and database query (ADR 0032).

Export follows the standard `OTEL_*` settings: `OTEL_TRACES_EXPORTER=otlp` (or an
`OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT`) sends spans by OTLP/HTTP, `none` or
`OTEL_SDK_DISABLED=true` turns tracing off, `OTEL_TRACES_SAMPLER` samples. With none of
them set (the embedded stack), each process appends its spans, one JSON object a line, to
`POD_HOME/traces/<service>-<pid>.jsonl`, which `pod trace` reads. Every attribute, event
and status text passes through the logs' secret redaction first.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, Span, SpanKind, Status, TraceState
from opentelemetry.util.types import Attributes
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

from core.logging import redact_text
from core.settings import Settings

logger = logging.getLogger(__name__)

TRACES_DIR = "traces"
# Spans wait at most this long in the file exporter's batch: `pod trace` right after a
# run ends should find them (the SDK's default is 5 s; OTEL_BSP_SCHEDULE_DELAY overrides).
FILE_BATCH_DELAY_MS = 500


def traces_dir(settings: Settings) -> Path:
    return settings.home / TRACES_DIR


def tracing_enabled() -> bool:
    """Whether this process records spans (`configure_tracing` ran and did not refuse)."""
    return isinstance(trace.get_tracer_provider(), ReplaySafeTracerProvider)


def configure_tracing(settings: Settings, service: str) -> ReplaySafeTracerProvider | None:
    """Set this process's tracer provider and instrument httpx and psycopg; None when
    tracing is off. Call once per process, before clients are made."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = _exporter(settings, service)
    if exporter is None:
        return None
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": f"pod-{service}"}
    # The SDK reads OTEL_TRACES_SAMPLER itself when no sampler is given.
    sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else runs_and_requests()
    provider = create_tracer_provider(resource=Resource.create(attributes), sampler=sampler)
    delay = None if "OTEL_BSP_SCHEDULE_DELAY" in os.environ else FILE_BATCH_DELAY_MS
    provider.add_span_processor(
        BatchSpanProcessor(RedactedSpans(exporter), schedule_delay_millis=delay)
    )
    trace.set_tracer_provider(provider)
    instrument_clients()
    return provider


class NoLoneCalls(Sampler):
    """For a trace's first span: everything but a client call (a database statement, a
    query of a workflow, an HTTP call) made outside any request or run, which would
    otherwise be a trace of its own: a pool's check, a notice listener, the stack's
    start-up. Which API reads are traced at all is decided before any span is made
    (`api.middleware.SomeReadsTraced`)."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        chosen = ALWAYS_OFF if kind is SpanKind.CLIENT else ALWAYS_ON
        return chosen.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return "NoLoneCalls"


def runs_and_requests() -> Sampler:
    """Children follow their parent (a run's activities join its trace); first spans as
    `NoLoneCalls` decides."""
    return ParentBased(root=NoLoneCalls())


def instrument_clients() -> None:
    """Spans for every httpx request (named `POST /v1/shops/1/products.json`) and every
    psycopg statement, in whatever trace is current."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    HTTPXClientInstrumentor().instrument(
        request_hook=_name_http_span, async_request_hook=_name_http_span_async
    )
    PsycopgInstrumentor().instrument(enable_commenter=False, skip_dep_check=True)


def uninstrument_clients() -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    PsycopgInstrumentor().uninstrument()


def _name_http_span(span: Span, request: Any) -> None:
    """A vendor call's span says what it asked for: method and path, not only `POST`."""
    if span.is_recording():
        method = request.method.decode() if isinstance(request.method, bytes) else request.method
        span.update_name(f"{method} {request.url.path}")


async def _name_http_span_async(span: Span, request: Any) -> None:
    _name_http_span(span, request)


def _exporter(settings: Settings, service: str) -> SpanExporter | None:
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not chosen and (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        chosen = "otlp"
    if chosen == "none":
        return None
    if chosen == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if chosen == "console":
        return ConsoleSpanExporter()
    if chosen:
        logger.warning("OTEL_TRACES_EXPORTER=%s is not supported; spans go to a file", chosen)
    return JsonLinesFile(traces_dir(settings), service, settings.trace_retention_days)


class JsonLinesFile(ConsoleSpanExporter):
    """The SDK's console exporter writing one JSON object a line to a file of this
    process; files older than `retention_days` are removed when one is opened."""

    def __init__(self, directory: Path, service: str, retention_days: float) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        _remove_old(directory, retention_days)
        self.path = directory / f"{service}-{os.getpid()}.jsonl"
        out: IO[str] = self.path.open("a", encoding="utf-8")
        super().__init__(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")

    def shutdown(self) -> None:
        self.out.close()


def _remove_old(directory: Path, retention_days: float) -> None:
    cutoff = time.time() - retention_days * 86_400
    for old in directory.glob("*.jsonl"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue  # another process removed it, or it is not ours to remove


class RedactedSpans(SpanExporter):
    """Passes spans on with secrets masked in their attributes, events and status."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([redacted_span(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def _redacted(attributes: Any) -> dict[str, Any]:
    return {
        name: redact_text(value) if isinstance(value, str) else value
        for name, value in (attributes or {}).items()
    }


def redacted_span(span: ReadableSpan) -> ReadableSpan:
    """`span` with every string attribute, event attribute and status text redacted."""
    status = span.status
    if status.description:
        status = Status(status.status_code, redact_text(status.description))
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_redacted(span.attributes),
        events=[Event(e.name, _redacted(e.attributes), e.timestamp) for e in span.events],
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
