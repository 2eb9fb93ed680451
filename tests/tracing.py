"""Tracing in a test's process, undone afterwards as OpenTelemetry's own tests do."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.util._once import Once

from core.telemetry import uninstrument_clients


def reset_tracing() -> None:
    """Shut down this process's tracer provider, undo the client instrumentation and let
    another provider be set."""
    provider = trace.get_tracer_provider()
    uninstrument_clients()
    shutdown = getattr(provider, "shutdown", None)
    if shutdown is not None:
        shutdown()
    trace._TRACER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
