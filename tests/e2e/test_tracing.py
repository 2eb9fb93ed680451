"""One trace per run (issue 17): the API request, its workflow, every activity and the
vendor calls under one trace id, in an in-memory exporter; the run's log lines carry its
workflow and trace ids, the API's its request and tenant; no secret in a span or a line;
`pod trace` prints the same tree from the span files."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.client import Client
from temporalio.contrib.opentelemetry import create_tracer_provider

from api.app import create_app
from cli.trace import show_trace
from core.logging import ContextFields, RedactSecrets
from core.settings import Settings
from core.storage import LocalStorage
from core.telemetry import (
    TRACES_DIR,
    JsonLinesFile,
    RedactedSpans,
    instrument_clients,
)
from core.temporal import connect_temporal
from sandbox.app import EmulatorConfig
from tests.accounts import Account, create_account
from tests.conftest import ISOLATED_NAMESPACE, api_client
from tests.e2e.helpers import wait_for_end
from tests.stack import WorkerSet
from tests.tracing import reset_tracing

# Loggers of ours: what "every line our loggers write" covers (the SDK's and libraries'
# own lines are not ours, `temporalio.workflow` is `workflow.logger`).
OUR_LOGGERS = ("api", "services", "activities", "integrations", "models", "temporalio.workflow")


@dataclass
class Tracing:
    exporter: InMemorySpanExporter
    records: list[logging.LogRecord]
    home: Path


class Collect(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into
        self.addFilter(ContextFields())
        self.addFilter(RedactSecrets())

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


@pytest.fixture
def tracing(tmp_path: Path) -> Iterator[Tracing]:
    """This process traces into memory (and into a span file, for `pod trace`) for the
    test, then stops: the global provider is reset as OpenTelemetry's own tests do."""
    exporter = InMemorySpanExporter()
    provider = create_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    files = JsonLinesFile(tmp_path / TRACES_DIR, "test", retention_days=1)
    provider.add_span_processor(SimpleSpanProcessor(RedactedSpans(files)))
    trace.set_tracer_provider(provider)
    instrument_clients()
    records: list[logging.LogRecord] = []
    handler = Collect(records)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Tracing(exporter, records, tmp_path)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        reset_tracing()


@pytest.fixture
async def traced_stack(
    tracing: Tracing,
    settings: Settings,
    database_url: str,
    storage: LocalStorage,
) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    """The API app and a worker per queue, on a client that carries traces, in a
    namespace of their own (the session's untraced workers poll the default one)."""
    own = settings.model_copy(update={"temporal_namespace": ISOLATED_NAMESPACE})
    client = await connect_temporal(own)
    app = create_app(own, database_url=database_url, temporal=client, storage=storage)
    async with (
        app.router.lifespan_context(app),
        WorkerSet(own, client, database_url),
        api_client(app) as api,
    ):
        yield api, client


def _hex(span_id: int) -> str:
    return format(span_id, "016x")


async def test_one_trace_runs_from_the_request_to_every_vendor_call(
    tracing: Tracing,
    traced_stack: tuple[httpx.AsyncClient, Client],
    sessions,
    settings: Settings,
    emulator_config: EmulatorConfig,
) -> None:
    api, _ = traced_stack
    account: Account = await create_account(sessions, settings.cipher, emulator_config)
    api.headers.update(account.headers)
    started = await api.post(
        "/v1/workflows/design-to-listing",
        json={"keyword": "cat mom"},
        headers={"Idempotency-Key": "trace-cat-mom", "X-Request-ID": "req-trace-1"},
    )
    assert started.status_code == 202, started.text
    assert started.headers["x-request-id"] == "req-trace-1"
    workflow_id = started.json()["workflow_id"]
    view = await wait_for_end(api, workflow_id)
    assert view["status"] == "completed", view
    provider = trace.get_tracer_provider()
    provider.force_flush()  # type: ignore[attr-defined]

    spans: list[ReadableSpan] = list(tracing.exporter.get_finished_spans())
    request = next(s for s in spans if s.name == "POST /v1/workflows/design-to-listing")
    trace_id = request.context.trace_id
    ours = [s for s in spans if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in ours}

    def parent(span: ReadableSpan) -> ReadableSpan:
        assert span.parent is not None, span.name
        return by_id[span.parent.span_id]

    start = next(s for s in ours if s.name == "StartWorkflow:DesignToListingWorkflow")
    assert parent(start) is request
    run = next(s for s in ours if s.name == "RunWorkflow:DesignToListingWorkflow")
    assert parent(run) is start
    activities = [s for s in ours if s.name.startswith("RunActivity:")]
    for span in activities:
        scheduled = parent(span)
        assert scheduled.name == "StartActivity:" + span.name.removeprefix("RunActivity:")
        assert parent(scheduled) is run
    names = {s.name.removeprefix("RunActivity:") for s in activities}
    assert len(names) >= 10, names
    assert {"printify.create_product", "etsy.create_draft_listing"} <= names
    # Each vendor call is a child of the activity that made it, named by what it asked.
    create = next(s for s in activities if s.name == "RunActivity:printify.create_product")
    calls = [s.name for s in ours if s.parent and s.parent.span_id == create.context.span_id]
    assert any(c.startswith("POST ") and c.endswith("/products.json") for c in calls), calls
    vendor_calls = [
        s
        for s in ours
        if s.kind is SpanKind.CLIENT and s.name.split(" ")[0] in ("GET", "POST", "PUT", "PATCH")
    ]
    assert sum(1 for s in vendor_calls if parent(s).name.startswith("RunActivity:")) >= 10
    statements = [s for s in ours if (s.attributes or {}).get("db.system") == "postgresql"]
    assert statements, "the database driver is traced"
    # Nothing of the run left the trace.
    assert {s.context.trace_id for s in spans if s.name.startswith("RunActivity:")} == {trace_id}

    # No secret in a span as exported: the tenant's API key, vendor tokens.
    secrets = [
        account.owner_key,
        emulator_config.printify_token,
        emulator_config.etsy_access_token,
    ]
    exported = "\n".join(path.read_text() for path in (tracing.home / TRACES_DIR).glob("*.jsonl"))
    for secret in secrets:
        assert secret not in exported

    # The log lines: the run's carry its workflow and trace ids; the API's its request.
    run_lines = [
        r
        for r in tracing.records
        if r.name.startswith(OUR_LOGGERS) and getattr(r, "workflow_id", None) == workflow_id
    ]
    assert run_lines, "the run wrote log lines"
    for record in run_lines:
        assert getattr(record, "trace_id", None), record.getMessage()
    worker_lines = [
        r
        for r in tracing.records
        if r.name.startswith(("activities", "temporalio.workflow")) and r.levelno >= logging.INFO
    ]
    for record in worker_lines:
        assert getattr(record, "workflow_id", None), record.getMessage()
    access = [r for r in tracing.records if r.name == "api.access"]
    first = next(r for r in access if getattr(r, "request_id", None) == "req-trace-1")
    assert first.tenant_id == account.tenant_id  # type: ignore[attr-defined]
    assert first.trace_id == format(trace_id, "032x")  # type: ignore[attr-defined]
    for record in access:
        assert getattr(record, "request_id", None) and getattr(record, "tenant_id", None)
    # The status polls are reads: only TRACE_READS_RATIO (1 %) of them are traced.
    polls = [r for r in access if r.http_method == "GET"]  # type: ignore[attr-defined]
    traced_polls = [s for s in spans if s.name == "GET /v1/workflows/{workflow_id}"]
    assert len(polls) >= 5 and len(traced_polls) < len(polls) / 2
    for record in tracing.records:
        line = record.getMessage() + str(record.__dict__)
        for secret in secrets:
            assert secret not in line

    # `pod trace` prints the same tree from the span files.
    out = io.StringIO()
    home = settings.model_copy(update={"pod_home": tracing.home})
    assert show_trace(home, workflow_id, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"trace {format(trace_id, '032x')}")
    assert lines[1].startswith("POST /v1/workflows/design-to-listing  ")
    depth = {line.strip().split("  ")[0]: len(line) - len(line.lstrip()) for line in lines[1:]}
    assert depth["RunWorkflow:DesignToListingWorkflow"] == 4
    assert depth["RunActivity:printify.create_product"] == 8
    assert any(
        line.startswith(" " * 10 + "POST ") and "/products.json" in line for line in lines
    ), lines
    assert json.dumps(lines)  # printable as it is
