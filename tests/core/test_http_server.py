"""How the API and the emulators are served: idle connections outlast the clients', and
a server that cannot start says so in its exit status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette

from core.http_server import KEEP_ALIVE_SECONDS, free_port, serve, server_config


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
