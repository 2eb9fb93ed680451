"""uvicorn settings for every server we run, and an ASGI app on a background thread
(tests and the in-process demo)."""

from __future__ import annotations

import gc
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

# An idle keep-alive connection stays open this long. uvicorn's default (5 s) equals
# httpx's client-side expiry, so a client reusing a connection after ~5 s idle could send
# its request as the server closed it and get "Server disconnected without sending a
# response" (seen in the stack test). Servers should outlast their clients: 75 s is
# nginx's default, above httpx's 5 s and browsers' 60 s or less.
KEEP_ALIVE_SECONDS = 75


# The API's server (issue 15): uvloop's event loop and httptools' parser. On
# `make bench-api` under asyncio and h11 the loop, h11 and uvicorn's h11 protocol took a
# quarter of a read's CPU (py-spy, docs/performance.md).
API_SERVER: dict[str, Any] = {"loop": "uvloop", "http": "httptools"}


# Python's cyclic collector in a server process (issue 15). With 3.12's default threshold
# (700 net allocations of container objects) a read set off a collection every seven
# requests or so, and the collections' own timer (`gc.callbacks`) put them at 8-10 % of
# the API's wall time on `GET /v1/workflows` and `GET /v1/trends` under load: each one
# scanned the long-lived objects of every import, and none found any garbage (a request's
# objects are freed by reference counting). Frozen after start-up, the imports are no
# longer scanned, and at 100 000 the loads above ran with no collection at all; what
# cycles a request leaves are still collected, later. The workers are left as they are:
# in a 20-run chain their collections took under 1 % of their CPU.
SERVER_GC_THRESHOLD = 100_000


def tune_collector_for_serving() -> None:
    """Call once a server process has imported and built its app (uvicorn's factory)."""
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(SERVER_GC_THRESHOLD, older, oldest)


def server_config(app: ASGIApp | str, host: str, port: int, **options: Any) -> uvicorn.Config:
    """How the API and the emulators are served, as processes of `pod up` or in-process.

    `log_config=None`: uvicorn logs through our handlers, so `RedactSecrets` sees its lines.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        **options,
    )


def serve(app: ASGIApp, host: str, port: int, **options: Any) -> int:
    """Serve until stopped (SIGINT/SIGTERM), then 0. A server that cannot start exits
    the process as `uvicorn.run` does: status 3 if the app's start-up fails."""
    uvicorn.Server(server_config(app, host, port, **options)).run()
    return 0


def serve_processes(factory: str, host: str, port: int, processes: int) -> int:
    """The API as `pod api` serves it: `factory` (`module:function` building the app from
    the environment) in `processes` processes sharing one socket, with `API_SERVER`'s
    loop and parser. Several are uvicorn's supervisor, which starts a new process when
    one dies and stops them all on SIGINT/SIGTERM; one serves in this process."""
    config = server_config(factory, host, port, factory=True, workers=processes, **API_SERVER)
    if processes > 1:
        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
        return 0
    uvicorn.Server(config).run()
    return 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """uvicorn on a daemon thread; `start()` returns once the socket accepts connections."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._server = uvicorn.Server(server_config(app, host, self.port))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
