"""Where spans go (`OTEL_*` settings, else a file under POD_HOME), what they hide, and how
`pod trace` prints a trace it finds (or says it found none)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

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
)

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
