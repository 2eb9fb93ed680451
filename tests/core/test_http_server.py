"""How the API and the emulators are served: idle connections outlast the clients', and
a server that cannot start says so in its exit status."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from core.http_server import (
    KEEP_ALIVE_SECONDS,
    SERVER_GC_THRESHOLD,
    free_port,
    serve,
    server_config,
)
from tests.stack import unmeasured_env


def test_idle_connections_outlast_the_clients_expiry() -> None:
    config = server_config(Starlette(), "127.0.0.1", free_port())
    # httpx drops an idle connection after 5 s, browsers after at most 60 s: the server
    # must not close one first, or a reused connection can lose its request.
    assert config.timeout_keep_alive == KEEP_ALIVE_SECONDS
    assert max(httpx.Limits().keepalive_expiry or 0, 60) < KEEP_ALIVE_SECONDS
    assert config.log_config is None  # uvicorn logs through our redacting handlers


def test_a_start_up_failure_is_exit_status_3() -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    with pytest.raises(SystemExit) as exited:
        serve(Starlette(lifespan=lifespan), "127.0.0.1", free_port())
    assert exited.value.code == 3


def pid_app() -> Starlette:
    """A factory for `serve_processes`: answers with the pid of the process serving."""

    async def pid(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(os.getpid()))

    return Starlette(routes=[Route("/pid", pid)])


def test_the_api_can_run_in_several_processes_on_one_port() -> None:
    port = free_port()
    code = (
        "from core.http_server import serve_processes; "
        f"serve_processes('tests.core.test_http_server:pid_app', '127.0.0.1', {port}, 2)"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code], env=unmeasured_env(), cwd=Path(__file__).parents[2]
    )
    try:
        pids: set[str] = set()
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            try:  # a new connection each time: the kernel hands them to either process
                pids.add(httpx.get(f"http://127.0.0.1:{port}/pid", timeout=5).text)
            except httpx.TransportError:
                time.sleep(0.2)
        assert len(pids) == 2, pids
        assert str(server.pid) not in pids  # the parent only supervises
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0


def test_an_api_process_freezes_its_start_up_objects_and_collects_rarely(
    tmp_path: Path,
) -> None:
    """What uvicorn's factory builds in each API process leaves the collector tuned
    for serving (the test's own process is left as it is)."""
    code = (
        "import gc; from api.app import app_from_environment; "
        "before = gc.get_freeze_count(); app_from_environment(); "
        "print(before, gc.get_freeze_count(), *gc.get_threshold())"
    )
    env = {
        **unmeasured_env(),
        "POD_HOME": str(tmp_path),
        "DATABASE_URL": "postgresql://pod@127.0.0.1:1/pod",  # never reached: no lifespan
    }
    shown = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    before, frozen, youngest, *older = (int(value) for value in shown)
    assert frozen > before + 10_000  # the imports and the app, no longer scanned
    assert youngest == SERVER_GC_THRESHOLD and older == list(gc.get_threshold()[1:])
