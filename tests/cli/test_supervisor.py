"""The `pod up` supervisor's own rules, on real processes and without a stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from cli.stack import (
    Child,
    Stack,
    _entry,
    read_supervisor,
    run_foreground,
    status,
    stop_detached,
)
from core.embedded import postgres_pid, stop_postgres
from core.settings import load_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POD_HOME", str(tmp_path / "pod-home"))
    return tmp_path / "pod-home"


def test_a_second_supervisor_for_the_same_home_refuses_to_start(home: Path) -> None:
    supervisor = home / "run" / "supervisor.json"
    supervisor.parent.mkdir(parents=True)
    supervisor.write_text(json.dumps({"pid": os.getpid()}))  # a live process holds it
    settings = load_settings()
    assert read_supervisor(settings) == {"pid": os.getpid()}
    assert run_foreground(settings) == 1
    assert supervisor.exists()  # the running one's file is left alone


def test_a_child_that_exits_is_started_again(home: Path) -> None:
    stack = Stack(load_settings())
    child = Child(
        name="short-lived",
        argv=[sys.executable, "-c", "pass"],
        env=dict(os.environ),
        log=home / "logs" / "short-lived.log",
    )
    stack.children.append(child)
    child.start()
    watcher = threading.Thread(target=stack.watch, daemon=True)
    watcher.start()
    try:
        deadline = time.monotonic() + 30
        while child.restarts < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stack.request_stop()
        watcher.join(timeout=10)
    assert child.restarts >= 1
    assert not watcher.is_alive()
    assert "children" in json.loads((home / "run" / "supervisor.json").read_text())
    child.stop()
    # A stack that started no Postgres starts none (one was left running per test run).
    assert postgres_pid(stack.paths["postgres"]) is None


def test_postgres_killed_is_started_again_with_its_records(home: Path) -> None:
    """The embedded Postgres is supervised like the other children (issue 14): killed,
    it is started again on the same data, and `pod status` counts the restart."""
    stack = Stack(load_settings())
    stack.start_database()
    url = stack.database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    first = postgres_pid(stack.paths["postgres"])
    assert first is not None
    watcher = threading.Thread(target=stack.watch, daemon=True)
    watcher.start()
    try:
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # restarted, and the supervisor file says so
            state = status(load_settings())
            if state["postgres"]["restarts"] == 1:  # type: ignore[index]
                break
            time.sleep(0.1)
        else:
            raise AssertionError("Postgres was not started again")
        again = postgres_pid(stack.paths["postgres"])
        assert again not in (None, first)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(7,)]
        assert state["postgres"] == {
            "embedded": True,
            "data_dir": str(stack.paths["postgres"]),
            "pid": again,
            "up": True,
            "restarts": 1,
        }
    finally:
        stack.request_stop()
        watcher.join(timeout=10)
        stop_postgres(stack.paths["postgres"])
    assert postgres_pid(stack.paths["postgres"]) is None


def test_pod_down_stops_what_a_killed_supervisor_left_running(home: Path) -> None:
    """A supervisor killed with SIGKILL leaves its children; `pod down` stops those the
    file names as the same processes (pid and start time), and nothing else."""
    settings = load_settings()
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    supervisor = home / "run" / "supervisor.json"
    supervisor.parent.mkdir(parents=True)
    other_entry = _entry(other.pid, 0)
    other_entry["started"] = float(str(other_entry["started"])) - 60  # its pid was reused
    supervisor.write_text(
        json.dumps(
            {
                "pid": gone.pid,  # the supervisor: dead
                "children": {
                    "worker-image": _entry(ours.pid, 0),
                    "api": other_entry,
                    "emulators": {"pid": other.pid, "restarts": 0},  # no start time: not ours
                },
                "temporal": None,
            }
        )
    )
    try:
        assert read_supervisor(settings) is None
        assert stop_detached(settings) == 0
        ours.wait(timeout=15)  # stopped (it sleeps two minutes); `pod down` reaped it
        assert other.poll() is None  # left alone
        assert not supervisor.exists()
    finally:
        for process in (ours, other):
            process.kill()
            process.wait()
