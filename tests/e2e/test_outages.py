"""Ten runs in flight on the real stack (`pod up -d`) while the Temporal server is killed
once and Postgres is stopped for a minute: every run completes with exactly one product
and one listing, no record is left that no run made, and the plan counts ten runs.

Issue 14's fault test, in `make chaos` (about five minutes). The stack's Postgres is
the test's own (`DATABASE_URL`), so the test decides when it is down; the Temporal dev
server is the supervisor's, which starts it again (as `tests/cli/test_supervisor.py`
shows for Postgres).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.emulators import emulator_config
from core.embedded import port_open, start_postgres, stop_postgres
from core.http_server import free_port
from core.settings import load_settings
from tests.cli.test_stack_and_demo import NOT_INHERITED
from tests.e2e.helpers import LISTING_PHOTOS, runs_vendor_counts

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(1500)]

RUNS = 10
OUTAGE_SECONDS = 60
KEYWORDS = [
    f"{animal} {hobby}"
    for animal in ("otter", "heron", "badger", "puffin", "walrus")
    for hobby in ("kayaking", "gardening")
]


def pod(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """`pod up -d` on a Postgres of the test's own; `pod down` and that Postgres stopped
    whatever happens."""
    database = tmp_path / "postgres"
    env = {key: value for key, value in os.environ.items() if not key.startswith(NOT_INHERITED)}
    env.update(
        POD_HOME=str(tmp_path / "pod-home"),
        DATABASE_URL=start_postgres(database),
        API_PORT=str(free_port()),
        TEMPORAL_PORT=str(free_port()),
        TEMPORAL_UI_PORT=str(free_port()),
        EMULATOR_PORT=str(free_port()),
        # Not what these tests watch; left on, two stacks would share 9464 and up.
        WORKER_METRICS_PORT="0",
    )
    try:
        up = pod(env, "up", "-d")
        assert up.returncode == 0, up.stdout + up.stderr
        yield env, database
    finally:
        pod(env, "down")
        stop_postgres(database)


def supervisor(env: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (Path(env["POD_HOME"]) / "run" / "supervisor.json").read_text()
    )
    return data


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s")
        time.sleep(0.5)


def test_runs_survive_temporal_killed_and_postgres_down_for_a_minute(
    stack: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, database = stack
    key = (Path(env["POD_HOME"]) / "dev-api-key").read_text().strip()
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{env['API_PORT']}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    ids = []
    for keyword in KEYWORDS[:RUNS]:
        started = api.post(
            "/v1/workflows/design-to-listing",
            json={"keyword": keyword},
            headers={"Idempotency-Key": "outage-" + keyword.replace(" ", "-")},
        )
        assert started.status_code == 202, started.text
        ids.append(started.json()["workflow_id"])

    # The Temporal server dies; the supervisor starts it again on the same database.
    temporal_pid = supervisor(env)["temporal"]["pid"]
    os.kill(temporal_pid, signal.SIGKILL)
    wait_until(
        lambda: (
            supervisor(env)["temporal"]["restarts"] == 1
            and port_open("127.0.0.1", int(env["TEMPORAL_PORT"]))
        ),
        60,
        "Temporal was not started again",
    )

    # Postgres stops for a minute, with the runs in flight (none can end without it).
    views = [api.get(f"/v1/workflows/{wid}").json() for wid in ids]
    in_flight = [v["workflow_id"] for v in views if v["status"] == "running"]
    assert len(in_flight) == RUNS, views
    stop_postgres(database)
    down_since = time.monotonic()
    during = api.get("/v1/workflows")
    assert during.status_code == 503, during.text
    assert during.json()["code"] == "DATABASE_UNAVAILABLE"
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
    start_postgres(database)

    def ended() -> bool:
        page = api.get("/v1/workflows", params={"limit": 100})
        if page.status_code != 200:
            return False
        return all(v["status"] not in ("running", "awaiting_approval") for v in page.json()["data"])

    wait_until(ended, 600, "the runs did not end")

    page = api.get("/v1/workflows", params={"limit": 100}).json()
    assert page["count"] == RUNS  # no record that no run made
    assert {v["workflow_id"]: v["status"] for v in page["data"]} == dict.fromkeys(
        ids, "completed"
    ), [(v["workflow_id"], v["status"], v["error"]) for v in page["data"]]
    assert api.get("/v1/listings", params={"limit": 100}).json()["count"] == RUNS
    used = api.get("/v1/billing/usage").json()["used"]
    assert (used["workflows"], used["products"], used["listings"]) == (RUNS, RUNS, RUNS)

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = emulator_config(load_settings())
    titles = {v["workflow_id"]: v["result"]["title"] for v in page["data"]}
    emulators = f"http://127.0.0.1:{env['EMULATOR_PORT']}"
    counts = asyncio.run(runs_vendor_counts(emulators, config, titles))
    once = {"uploads": 1, "products": 1, "listings": 1, "listing_images": LISTING_PHOTOS}
    assert counts == dict.fromkeys(ids, once)
    assert supervisor(env)["temporal"]["restarts"] == 1
