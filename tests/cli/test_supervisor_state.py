"""How `pod status` reads the supervisor's file and the embedded Postgres's pid file."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import psutil

from cli.stack import _process_state
from core.embedded import postgres_pid, process_alive, process_started

GONE = 2**22 + 12345  # above the largest pid_max Linux allows (2**22): no such process


def test_a_child_is_named_with_its_pid_whether_alive_and_its_restarts() -> None:
    me = os.getpid()
    assert _process_state({"pid": me, "restarts": 2}) == {"pid": me, "alive": True, "restarts": 2}
    assert _process_state({"pid": GONE, "restarts": 0})["alive"] is False
    # A supervisor file of the earlier format named each child's pid alone.
    assert _process_state(me) == {"pid": me, "alive": True, "restarts": 0}
    assert _process_state(None) == {"pid": None, "alive": False, "restarts": 0}


def test_postgres_runs_only_when_its_pid_file_names_a_live_postgres(tmp_path: Path) -> None:
    assert postgres_pid(tmp_path) is None  # no pid file
    # A live process that is not a Postgres: the pid went to another process.
    (tmp_path / "postmaster.pid").write_text(f"{os.getpid()}\n{tmp_path}\n")
    assert postgres_pid(tmp_path) is None
    (tmp_path / "postmaster.pid").write_text(f"{GONE}\n")
    assert postgres_pid(tmp_path) is None
    (tmp_path / "postmaster.pid").write_text("garbage")
    assert postgres_pid(tmp_path) is None


def test_a_zombie_is_not_alive_and_a_reused_pid_is_not_ours() -> None:
    me = os.getpid()
    assert process_alive(me) and process_alive(me, named=psutil.Process(me).name())
    started = process_started(me)
    assert started is not None and process_alive(me, started=started)
    assert not process_alive(me, started=started - 5)  # another process had this pid
    assert not process_alive(me, named="postgres")
    exited = subprocess.Popen(["true"])
    for _ in range(100):
        if psutil.Process(exited.pid).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.02)
    try:
        assert not process_alive(exited.pid)  # os.kill(pid, 0) still succeeds
        os.kill(exited.pid, 0)
    finally:
        exited.wait()
