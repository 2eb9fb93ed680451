"""The real thing as a user runs it: `pod demo` starts the embedded stack in the
background, makes a listing, a rerun makes nothing new, and a restart keeps it all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.http_server import free_port


@pytest.fixture
def pod_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A state dir and free ports of its own, and `pod down` whatever happens."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "TEMPORAL_", "PRINTIFY_", "ETSY_", "S3_"))
    }
    env.update(
        POD_HOME=str(tmp_path / "pod-home"),
        API_PORT=str(free_port()),
        TEMPORAL_PORT=str(free_port()),
        TEMPORAL_UI_PORT=str(free_port()),
        EMULATOR_PORT=str(free_port()),
    )
    yield env
    pod(env, "down")


def pod(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo_rerun_and_restart(pod_env: dict[str, str]) -> None:
    first = pod(pod_env, "demo", "vintage camper van", "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    result = json.loads(first.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed"
    assert result["listing_state"] == "active"
    assert Path(result["print_file"]).is_file()
    assert result["temporal_ui_url"].startswith(
        f"http://127.0.0.1:{pod_env['TEMPORAL_UI_PORT']}/namespaces/default/workflows/"
    )
    assert "pod down" in first.stderr

    again = pod(pod_env, "demo", "vintage camper van", "--json")
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout.strip().splitlines()[-1])
    assert rerun["workflow_id"] == result["workflow_id"]
    assert rerun["etsy_listing_id"] == result["etsy_listing_id"]

    status = json.loads(pod(pod_env, "status").stdout)
    assert status["running"] is True
    assert status["api"]["healthy"] is True
    assert set(status["children"]) >= {"api", "emulators", "worker-image", "worker-workflows"}
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

    assert pod(pod_env, "down").returncode == 0
    assert json.loads(pod(pod_env, "status").stdout)["running"] is False

    assert pod(pod_env, "up", "-d").returncode == 0
    api = f"http://127.0.0.1:{pod_env['API_PORT']}"
    listings = httpx.get(f"{api}/v1/listings", timeout=10).json()
    assert [item["etsy_listing_id"] for item in listings["data"]] == [result["etsy_listing_id"]]
    run = httpx.get(f"{api}/v1/workflows/{result['workflow_id']}", timeout=10).json()
    assert run["status"] == "completed"
    emulator = f"http://127.0.0.1:{pod_env['EMULATOR_PORT']}"
    page = httpx.get(f"{emulator}/etsy/listing/{result['etsy_listing_id']}", timeout=10)
    assert "active" in page.text
