"""The one place a Temporal client is built."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.opentelemetry import OpenTelemetryPlugin
from temporalio.runtime import Runtime

from core.settings import Settings
from core.telemetry import tracing_enabled


async def connect_temporal(settings: Settings, runtime: Runtime | None = None) -> Client:
    """Connect to the configured Temporal frontend and namespace. In a process that
    traces (`core.telemetry`), the client and every worker made with it carry the trace
    across: a workflow's and each activity's spans join the trace that started it.
    `runtime`: one whose metrics are served (a worker's, `core.metrics.worker_runtime`)."""
    plugins = [OpenTelemetryPlugin(add_temporal_spans=True)] if tracing_enabled() else []
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        plugins=plugins,
        runtime=runtime,
    )


def workflow_ui_url(settings: Settings, workflow_id: str) -> str:
    """Link to the run in the Temporal Web UI."""
    return (
        f"{settings.temporal_web_url}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{workflow_id}"
    )
