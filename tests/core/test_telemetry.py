"""Where spans go (`OTEL_*` settings, else a file under POD_HOME), what they hide, how
`pod trace` prints a trace it finds (or says it found none), and how a pending
activity's last failure is named."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from temporalio.api.failure.v1 import (
    ApplicationFailureInfo,
    CanceledFailureInfo,
    Failure,
    TimeoutFailureInfo,
)
from temporalio.api.workflow.v1 import PendingActivityInfo

from api.middleware import SomeReadsTraced
from cli.trace import show_trace
from core.apikeys import generate_key
from core.settings import Settings
from core.telemetry import (
    TRACES_DIR,
    JsonLinesFile,
    RedactedSpans,
    _exporter,
    _name_http_span,
    configure_tracing,
    runs_and_requests,
    tracing_enabled,
)
from services.run_watch import _failure
from tests.tracing import reset_tracing

KEY = generate_key()[0]


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    return Settings(POD_HOME=tmp_path)


def test_the_embedded_stack_writes_spans_to_a_file_of_its_own(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    exporter = _exporter(home, "api")
    assert isinstance(exporter, JsonLinesFile)
    assert exporter.path == home.home / TRACES_DIR / f"api-{os.getpid()}.jsonl"
    exporter.shutdown()


def test_the_standard_settings_choose_otlp_or_nothing(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert isinstance(_exporter(home, "api"), OTLPSpanExporter)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert _exporter(home, "api") is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert configure_tracing(home, "api") is None


def test_old_trace_files_are_removed(home: Settings) -> None:
    directory = home.home / TRACES_DIR
    directory.mkdir(parents=True)
    old, recent = directory / "api-1.jsonl", directory / "api-2.jsonl"
    old.write_text("{}\n")
    recent.write_text("{}\n")
    week_ago = time.time() - 8 * 86_400
    os.utime(old, (week_ago, week_ago))
    JsonLinesFile(directory, "api", retention_days=7).shutdown()
    assert not old.exists() and recent.exists()


def test_spans_are_exported_without_secrets() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactedSpans(memory)))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("call") as span:
        span.set_attribute("url.full", f"https://api.example/x?api_key={KEY}")
        span.set_attribute("http.status_code", 401)
        span.add_event("sent", {"header": f"Authorization: Bearer {KEY}"})
        span.set_status(Status(StatusCode.ERROR, f"refused token={KEY}"))
    (exported,) = memory.get_finished_spans()
    text = exported.to_json()
    assert KEY not in text and text.count("***") == 3
    assert exported.attributes["http.status_code"] == 401  # type: ignore[index]


def test_a_vendor_call_is_named_by_its_method_and_path() -> None:
    class Request:
        method = b"POST"
        url = type("U", (), {"path": "/v1/shops/1/products.json"})()

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("tests").start_as_current_span("POST") as span:
        _name_http_span(span, Request())
    assert memory.get_finished_spans()[0].name == "POST /v1/shops/1/products.json"


def test_pod_trace_says_when_it_finds_nothing(
    home: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert show_trace(home, "dtl-none", out=io.StringIO()) == 1
    assert "no spans of dtl-none" in capsys.readouterr().err


def test_a_process_that_traces_writes_its_spans_for_pod_trace(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    provider = configure_tracing(home, "worker-test")
    try:
        assert provider is not None and tracing_enabled()
        with trace.get_tracer("tests").start_as_current_span("RunActivity:x.y"):
            pass
        provider.force_flush()
        (path,) = (home.home / TRACES_DIR).glob("worker-test-*.jsonl")
        (line,) = path.read_text().splitlines()
        span = json.loads(line)
        assert span["name"] == "RunActivity:x.y"
        assert span["resource"]["attributes"]["service.name"] == "pod-worker-test"
    finally:
        reset_tracing()
    assert not tracing_enabled()


def _span(name: str, span_id: int, parent: int | None, *, trace_id: int = 1, **extra: Any) -> str:
    return json.dumps(
        {
            "name": name,
            "context": {"trace_id": f"0x{trace_id:032x}", "span_id": f"0x{span_id:016x}"},
            "parent_id": f"0x{parent:016x}" if parent else None,
            "start_time": f"2026-12-04T01:00:00.{span_id:06d}Z",
            "end_time": "2026-12-04T01:00:01.000000Z",
            "status": extra.pop("status", {"status_code": "UNSET"}),
            "attributes": {key.replace("db_", "db."): value for key, value in extra.items()},
            "resource": {"attributes": {"service.name": "pod-test"}},
        }
    )


def test_pod_trace_prints_the_tree_errors_and_folded_statements(home: Settings) -> None:
    directory = home.home / TRACES_DIR
    directory.mkdir(parents=True)
    wid = "dtl-t-1"
    lines = [
        _span("POST /v1/workflows/design-to-listing", 1, None),
        _span("StartWorkflow:DesignToListingWorkflow", 2, 1, temporalWorkflowID=wid),
        _span("RunActivity:printify.create_product", 3, 2, temporalWorkflowID=wid),
        _span(
            "POST /v1/shops/1/products.json",
            4,
            3,
            status={"status_code": "ERROR", "description": "503"},
        ),
        _span("SELECT", 5, 3, db_system="postgresql"),
        _span("SELECT", 6, 3, db_system="postgresql"),
        _span("QueryWorkflow:state", 7, None, trace_id=2, temporalWorkflowID=wid),
        '{"name": "cut off',
    ]
    (directory / "api-1.jsonl").write_text("\n".join(lines) + "\n")
    out = io.StringIO()
    assert show_trace(home, wid, out=out) == 0
    assert out.getvalue().splitlines() == [
        f"trace {1:032x}  (6 spans)",
        "POST /v1/workflows/design-to-listing  1000.0 ms  [pod-test]",
        "  StartWorkflow:DesignToListingWorkflow  1000.0 ms  [pod-test]",
        "    RunActivity:printify.create_product  1000.0 ms  [pod-test]",
        "      POST /v1/shops/1/products.json  1000.0 ms  [pod-test]  ERROR 503",
        "      · 2 database statements, 2000.0 ms",
        "in other traces: 1 x QueryWorkflow:state",
    ]
    everything = io.StringIO()
    assert show_trace(home, wid, show_statements=True, out=everything) == 0
    assert everything.getvalue().count("      SELECT  ") == 2
    assert show_trace(home, "dtl-t-other", out=io.StringIO()) == 1

    class ClosedAfterTwoLines(io.StringIO):
        """A pipe whose reader stops after two lines (`pod trace … | head -2`)."""

        def write(self, text: str) -> int:
            if self.getvalue().count("\n") >= 2:
                raise BrokenPipeError(32, "Broken pipe")
            return super().write(text)

    closed = ClosedAfterTwoLines()
    assert show_trace(home, wid, out=closed) == 0
    assert closed.getvalue().splitlines() == out.getvalue().splitlines()[:2]


def test_a_pending_activity_names_its_last_failure() -> None:
    application = PendingActivityInfo(
        last_failure=Failure(
            message="printify answered 503",
            application_failure_info=ApplicationFailureInfo(type="VENDOR_UNAVAILABLE"),
        )
    )
    timeout = PendingActivityInfo(
        last_failure=Failure(message="timed out", timeout_failure_info=TimeoutFailureInfo())
    )
    other = PendingActivityInfo(
        last_failure=Failure(message="cancelled", canceled_failure_info=CanceledFailureInfo())
    )
    assert _failure(application) == {
        "type": "VENDOR_UNAVAILABLE",
        "message": "printify answered 503",
    }
    assert _failure(timeout) == {"type": "TIMEOUT", "message": "timed out"}
    assert _failure(other) == {"type": "canceled_failure_info", "message": "cancelled"}
    assert _failure(PendingActivityInfo()) is None


def test_a_client_call_outside_any_request_or_run_is_not_a_trace_of_its_own() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider(sampler=runs_and_requests())
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT):
        pass  # a pool's check: dropped
    request = "POST /v1/workflows/design-to-listing"
    with (
        tracer.start_as_current_span(request, kind=SpanKind.SERVER),
        tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT),
    ):
        pass  # the request's query: kept, in its trace
    assert [span.name for span in memory.get_finished_spans()] == [
        "SELECT",
        "POST /v1/workflows/design-to-listing",
    ]


async def test_reads_skip_the_tracing_unless_sampled_or_carrying_a_trace() -> None:
    seen: list[tuple[str, bool]] = []

    def app(name: str) -> Any:
        async def serve(scope: Any, receive: Any, send: Any) -> None:
            seen.append((name, is_instrumentation_enabled()))

        return serve

    async def call(middleware: SomeReadsTraced, method: str, headers: list[Any]) -> None:
        nothing: Any = None  # the apps here neither receive nor send
        await middleware({"type": "http", "method": method, "headers": headers}, nothing, nothing)

    none = SomeReadsTraced(app("untraced"), app("traced"), reads_ratio=0.0)
    await call(none, "GET", [])
    await call(none, "HEAD", [])
    await call(none, "POST", [])
    await call(none, "GET", [(b"traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")])
    await call(SomeReadsTraced(app("untraced"), app("traced"), reads_ratio=1.0), "GET", [])
    assert seen == [
        ("untraced", False),  # nor its queries
        ("untraced", False),
        ("traced", True),
        ("traced", True),
        ("traced", True),
    ]
