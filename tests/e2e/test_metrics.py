"""Metrics (issue 17): after three design-to-listing runs, the API's `/metrics` and the
workers' Temporal SDK endpoint show the requests, the runs, the listings, the model cost
and the vendor calls (a 429 included) with the values the runs really had: counted
from the API's own answers and from the emulators' request log, not from the figures'
own queries. Every query of the committed Grafana dashboard names a series one of
the two endpoints serves."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url
from temporalio.client import Client

from api.app import create_app
from core.db import libpq_url, make_engine, make_session_factory, migrate
from core.http_server import ThreadedServer, free_port
from core.metrics import worker_runtime
from core.settings import Settings
from core.storage import LocalStorage
from core.temporal import connect_temporal
from sandbox.app import EmulatorConfig
from tests.accounts import create_account
from tests.conftest import ISOLATED_NAMESPACE, api_client, emulator_of_its_own
from tests.e2e.helpers import wait_for_end
from tests.stack import WorkerSet

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "pod-automator.json"
RUNS = 3

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def series_names(text: str) -> set[str]:
    """The names a query may use: every sample's and every family's (a gauge with no
    sample yet, `pod_runs_active` when nothing runs, is still served)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (n, ls), value in samples.items() if n == name and wanted <= ls)


@dataclass
class Stack:
    api: httpx.AsyncClient
    emulator: ThreadedServer
    worker_metrics: str
    settings: Settings
    database_url: str


@pytest.fixture(scope="module")
def own_emulator(emulator_config: EmulatorConfig) -> Iterator[ThreadedServer]:
    yield from emulator_of_its_own(emulator_config)


def own_database(server_url: str) -> str:
    """A new, migrated database on the session's Postgres: figures of these runs alone."""
    name = f"metrics_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    migrate(url)
    return url


@pytest.fixture
async def stack(
    settings: Settings,
    database_url: str,
    storage: LocalStorage,
    own_emulator: ThreadedServer,
) -> AsyncIterator[Stack]:
    """The API app and a worker per queue whose client's runtime serves the Temporal
    SDK's metrics, as `pod worker` does, over a database and emulators of their own."""
    url, emulator = own_database(database_url), own_emulator
    own = settings.model_copy(
        update={
            "temporal_namespace": ISOLATED_NAMESPACE,
            "database_url": url,
            "printify_base_url": f"{emulator.url}/printify/v1",
            "etsy_base_url": f"{emulator.url}/etsy/v3",
            # Paid models (the OpenAI emulator): the runs have a cost.
            "ideation_provider": "openai",
            "image_provider": "openai",
            "embedding_provider": "openai",
            "openai_base_url": f"{emulator.url}/openai/v1",
            "openai_image_model": "emulated-image-model",
        }
    )
    port = free_port()
    runtime = worker_runtime("127.0.0.1", port)
    assert runtime is not None
    client: Client = await connect_temporal(own, runtime)
    app = create_app(own, database_url=url, temporal=client, storage=storage)
    async with (
        app.router.lifespan_context(app),
        WorkerSet(own, client, url),
        api_client(app) as api,
    ):
        yield Stack(api, emulator, f"http://127.0.0.1:{port}/metrics", own, url)


async def test_metrics_match_three_runs(stack: Stack, emulator_config: EmulatorConfig) -> None:
    api, admin = stack.api, f"{stack.emulator.url}/__admin"
    engine = make_engine(stack.database_url)
    try:
        account = await create_account(
            make_session_factory(engine), stack.settings.cipher, emulator_config
        )
    finally:
        await engine.dispose()
    api.headers.update(account.headers)
    httpx.delete(f"{admin}/faults").raise_for_status()
    # Etsy answers one request 429 (with Retry-After): the client waits and tries again.
    rule = {"method": "POST", "path_regex": r"/listings$", "status": 429, "retry_after": 1}
    httpx.post(f"{admin}/faults", json=rule).raise_for_status()

    sent: dict[tuple[str, str], int] = {}

    async def count(response: httpx.Response) -> None:
        route = response.url.path
        if response.request.method == "GET":
            route = re.sub(r"^/v1/workflows/[^/]+$", "/v1/workflows/{workflow_id}", route)
        key = (route, str(response.status_code))
        sent[key] = sent.get(key, 0) + 1

    api.event_hooks["response"].append(count)
    views = []
    for n in range(RUNS):
        started = await api.post(
            "/v1/workflows/design-to-listing",
            json={"keyword": f"metric cat {n}"},
            headers={"Idempotency-Key": f"metrics-{n}"},
        )
        assert started.status_code == 202, started.text
        views.append(await wait_for_end(api, started.json()["workflow_id"]))
    assert [view["status"] for view in views] == ["completed"] * RUNS, views
    listings = (await api.get("/v1/listings")).json()
    api.event_hooks["response"].remove(count)

    scraped = await api.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    served = parse(scraped.text)
    # The requests, by route, method and status, and their latency.
    starts = sent[("/v1/workflows/design-to-listing", "202")]
    assert starts == RUNS
    assert (
        total(
            served,
            "http_server_requests_total",
            method="POST",
            route="/v1/workflows/design-to-listing",
            status="202",
        )
        == RUNS
    )
    polls = sent[("/v1/workflows/{workflow_id}", "200")]
    assert (
        total(
            served,
            "http_server_requests_total",
            method="GET",
            route="/v1/workflows/{workflow_id}",
            status="200",
        )
        == polls
    )
    assert (
        total(
            served,
            "http_server_request_duration_seconds_count",
            method="GET",
            route="/v1/workflows/{workflow_id}",
        )
        == polls
    )
    assert total(served, "http_server_request_duration_seconds_sum") > 0
    # The business figures, from the database of these runs alone.
    assert total(served, "pod_figures_up") == 1
    assert total(served, "pod_runs_started_total", kind="design_to_listing") == RUNS
    assert (
        total(served, "pod_runs_finished_total", kind="design_to_listing", status="completed")
        == RUNS
    )
    assert total(served, "pod_runs_finished_total", status="failed") == 0
    assert total(served, "pod_runs_active") == 0
    assert total(served, "pod_listings_created_total") == RUNS == listings["count"]
    costs = [line for view in views for line in view["model_costs"] or []]
    assert costs, "the runs' models were priced"
    cost = total(served, "pod_model_cost_usd_total")
    assert cost == pytest.approx(sum(line["cost_usd"] for line in costs), abs=1e-6)
    assert total(served, "pod_model_calls_total") == sum(line["calls"] for line in costs)

    # The workers' endpoint: the SDK's metrics and the vendor calls their activities
    # made; with the API's (the first start read the shops' setup), each exchange the
    # emulators answered, the 429 and its retry included. Other tests' workers in this
    # process call vendors too: a worker's meter counts only its own activities' calls.
    worker_text = httpx.get(stack.worker_metrics).text
    worker = parse(worker_text)
    for vendor in ("printify", "etsy", "openai"):
        answered = httpx.get(f"{admin}/traffic", params={"vendor": vendor}).json()["count"]
        assert answered > 0
        for name in ("pod_vendor_calls_total", "pod_vendor_call_duration_seconds_count"):
            counted = total(worker, name, vendor=vendor) + total(served, name, vendor=vendor)
            assert counted == answered, (vendor, name)
    assert total(served, "pod_vendor_calls_total", vendor="printify", code="200") == 1
    assert total(served, "pod_vendor_calls_total", vendor="etsy", code="200") > 0
    assert total(worker, "pod_vendor_calls_total", activity_type="printify.create_product") > 0
    assert total(worker, "pod_vendor_calls_total", vendor="etsy", code="429") == 1
    assert total(worker, "pod_vendor_calls_total", vendor="printify", code="429") == 0
    assert (
        total(
            worker,
            "temporal_activity_execution_latency_seconds_count",
            activity_type="printify.create_product",
        )
        == RUNS
    )

    # Every series the dashboard queries is one of these endpoints'.
    names = series_names(scraped.text) | series_names(worker_text)
    assert "pod_runs_active" in names
    for query in dashboard_queries():
        for metric in metric_names(query):
            assert metric in names, (metric, query)


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]
    assert len(queries) >= 6
    return queries


# A PromQL word followed by `{`, `[`, `)` or an operator is a metric name unless it is a
# function, an aggregation or a keyword.
PROMQL_WORDS = {
    "sum", "rate", "irate", "increase", "histogram_quantile", "by", "without", "on",
    "ignoring", "group_left", "group_right", "and", "or", "unless", "avg", "max", "min",
    "count", "topk", "bottomk", "clamp_min", "le", "offset", "vector", "label_replace",
}  # fmt: skip


def metric_names(query: str) -> set[str]:
    text = re.sub(r"\{[^}]*\}", "{}", query)  # label matchers hold no metric names
    text = re.sub(r"\[[^\]]*\]", "[]", text)
    text = re.sub(r"\bby\s*\([^)]*\)", "", text)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text))
    return {word for word in words if word not in PROMQL_WORDS and not word.isdigit()}
