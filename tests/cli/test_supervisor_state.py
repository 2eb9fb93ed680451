"""How `pod status` reads the supervisor's file and the embedded Postgres's pid file."""

from __future__ import annotations

import os
from pathlib import Path

from cli.stack import _process_state
from core.embedded import postgres_pid

GONE = 2**22 + 12345  # above the largest pid_max Linux allows (2**22): no such process


def test_a_child_is_named_with_its_pid_whether_alive_and_its_restarts() -> None:
    me = os.getpid()
    assert _process_state({"pid": me, "restarts": 2}) == {"pid": me, "alive": True, "restarts": 2}
    assert _process_state({"pid": GONE, "restarts": 0})["alive"] is False
    # A supervisor file of the earlier format named each child's pid alone.
    assert _process_state(me) == {"pid": me, "alive": True, "restarts": 0}
    assert _process_state(None) == {"pid": None, "alive": False, "restarts": 0}


def test_postgres_runs_when_its_pid_file_names_a_live_process(tmp_path: Path) -> None:
    assert postgres_pid(tmp_path) is None  # no pid file
    (tmp_path / "postmaster.pid").write_text(f"{os.getpid()}\n{tmp_path}\n")
    assert postgres_pid(tmp_path) == os.getpid()
    (tmp_path / "postmaster.pid").write_text(f"{GONE}\n")
    assert postgres_pid(tmp_path) is None
    (tmp_path / "postmaster.pid").write_text("garbage")
    assert postgres_pid(tmp_path) is None
