"""core.metrics: the API's request metrics summed across processes (multiprocess mode),
the vendor-call counter on a worker runtime's Prometheus endpoint, and a worker whose
metrics port is taken still getting a runtime-less start."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import ActivityEnvironment

from core.http_server import free_port
from core.metrics import MULTIPROCESS_ENV, VENDOR_BUCKETS, MeteredTransport, worker_runtime
from tests.stack import unmeasured_env

ROOT = Path(__file__).resolve().parents[2]


def values(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def in_process(directory: Path, code: str) -> str:
    """Run `code` in a new interpreter whose metrics go to `directory`, as an API
    process of `pod api` does; its standard output."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=unmeasured_env(**{MULTIPROCESS_ENV: str(directory)}),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def test_the_request_metrics_of_every_api_process_are_summed(tmp_path: Path) -> None:
    observe = """
        from core.metrics import HttpMetrics
        metrics = HttpMetrics()
        for _ in range({n}):
            metrics.observe("GET", "/v1/listings", 200, 0.004)
        metrics.observe("GET", None, 404, 0.001)
    """
    in_process(tmp_path, observe.format(n=3))
    in_process(tmp_path, observe.format(n=4))
    text = in_process(
        tmp_path,
        """
        import sys
        from core.metrics import HttpMetrics
        sys.stdout.write(HttpMetrics().render().decode())
        """,
    )
    requests = values(text, "http_server_requests_total")
    listings = frozenset({("method", "GET"), ("route", "/v1/listings"), ("status", "200")})
    assert requests[listings] == 7
    # A path no route matched is one series, whatever the path was.
    unmatched = frozenset({("method", "GET"), ("route", "unmatched"), ("status", "404")})
    assert requests[unmatched] == 2
    counts = values(text, "http_server_request_duration_seconds_count")
    assert counts[frozenset({("method", "GET"), ("route", "/v1/listings")})] == 7
    buckets = values(text, "http_server_request_duration_seconds_bucket")
    le = frozenset({("method", "GET"), ("route", "/v1/listings"), ("le", "0.005")})
    assert buckets[le] == 7


@pytest.fixture
def metered() -> Iterator[tuple[ActivityEnvironment, str]]:
    """An activity environment whose meter is a worker runtime's, as a worker's
    activities have, and the URL of that runtime's metrics."""
    port = free_port()
    runtime = worker_runtime("127.0.0.1", port)
    assert runtime is not None
    env = ActivityEnvironment()
    env.metric_meter = runtime.metric_meter
    yield env, f"http://127.0.0.1:{port}/metrics"


async def test_vendor_calls_are_counted_by_answer_and_a_lost_one_too(
    metered: tuple[ActivityEnvironment, str],
) -> None:
    env, url = metered
    closed = free_port()  # nothing listens there
    transport = MeteredTransport("printify", httpx.AsyncHTTPTransport())
    async with httpx.AsyncClient(transport=transport) as client:

        async def calls() -> None:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{closed}/v1/shops.json")
            answered = await client.get(url)  # any HTTP server answers: the runtime's
            assert answered.status_code == 200

        await env.run(calls)
        # Outside an activity, a call is not counted: no worker made it.
        assert (await client.get(url)).status_code == 200
    text = httpx.get(url).text
    counted = values(text, "pod_vendor_calls_total")
    assert labelled(counted, vendor="printify", code="transport_error") == 1
    assert labelled(counted, vendor="printify", code="200") == 1
    # Labelled with the activity that made the calls.
    assert labelled(counted, vendor="printify", activity_type="unknown") == 2
    durations = values(text, "pod_vendor_call_duration_seconds_count")
    assert labelled(durations, vendor="printify") == 2
    # The API's histogram has the same buckets: one histogram to Prometheus.
    buckets = values(text, "pod_vendor_call_duration_seconds_bucket")
    bounds = {float(dict(labels)["le"]) for labels in buckets}
    assert bounds == {*VENDOR_BUCKETS, float("inf")}


def labelled(samples: dict[frozenset[tuple[str, str]], float], **labels: str) -> float:
    """The sum of the samples whose labels include `labels` (the runtime adds its own)."""
    return sum(value for have, value in samples.items() if set(labels.items()) <= have)


def test_a_taken_metrics_port_leaves_the_worker_without_an_endpoint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.ERROR, logger="core.metrics"):
            assert worker_runtime("127.0.0.1", port) is None
    assert f"worker metrics not served on 127.0.0.1:{port}" in caplog.text
    assert worker_runtime("127.0.0.1", 0) is None  # 0: none asked for
