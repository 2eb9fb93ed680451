"""The `pod up` supervisor's own rules, on real processes and without a stack."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from cli.stack import Child, Stack, read_supervisor, run_foreground
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
