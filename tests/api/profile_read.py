"""The CPU one read or one start costs inside the app, measured and profiled: not a
test, a tool.

Not collected by the suite (its name does not start with `test_`); run it by name:

    .venv/bin/pytest -o addopts="-q -s" tests/api/profile_read.py
    PROFILE=1 .venv/bin/pytest -o addopts="-q -s" tests/api/profile_read.py
    .venv/bin/pytest -o addopts="-q -s" tests/api/profile_read.py -k start

The read sends `READ_PATH` (`/v1/listings` by default) straight to the ASGI app, with a
real owner key, over the suite's Postgres and Temporal, and prints the µs a request
takes (the best of three runs of 5 000, after 500 to warm up). The start sends `POST
/v1/workflows/design-to-listing` (a fresh key each, waiting for approval, with no worker
to take the run) 300 times (`PROFILE_STARTS`) after 50, and prints its wall time, the
process's CPU (the Temporal client's threads included), the event loop thread's and that
of this machine's Postgres processes (the suite's server; nothing else should run), then
the statements it sent per start. With `PROFILE=1`, either prints the cProfile of as
many more requests, sorted by `PROFILE_SORT` (`tottime`), its first `PROFILE_LINES` (40)
rows, and the profile's time by package. With `TRACE=1` the start goes to an app that
traces as the stack's API does (its spans written to a file, the Temporal client with
the tracing plugin), so the two runs show what tracing a start costs. `-k start` also
runs the bench's bare start (`scripts/bench_bare.py`) the same way.
No socket, no HTTP parser and no load generator: what is left is our middleware,
FastAPI's routing and dependencies, the key check and the route. `make bench-api`
measures the whole (`docs/performance.md` says which figure came from which).
"""

from __future__ import annotations

import contextlib
import cProfile
import json
import os
import pstats
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import psutil
import psycopg
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from core.db import SessionFactory
from core.settings import Settings
from core.shared_buckets import SharedRateLimiter
from core.storage import LocalStorage
from core.telemetry import configure_tracing
from core.temporal import connect_temporal
from sandbox.app import EmulatorConfig
from tests.accounts import Account, create_account
from tests.tracing import reset_tracing

WARM_UP, REQUESTS, RUNS = 500, 5_000, 3
START_WARM_UP, STARTS = 50, int(os.environ.get("PROFILE_STARTS", "300"))
START = "/v1/workflows/design-to-listing"


def _scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"profile"), (b"accept", b"*/*")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


class Sender:
    """Sends requests straight to the app and keeps the statuses it answered."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.statuses: Counter[int] = Counter()

    async def send(self, scope: dict[str, Any], body: bytes = b"") -> None:
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1

        await self.app({**scope, "state": {}}, receive, send)


def _unlimited(app: FastAPI, tmp_path: Path) -> None:
    """The key's rate limit is not what is measured: thousands of requests would meet it."""
    app.state.rate_limiter = SharedRateLimiter(tmp_path / "buckets", 1e9, 10**9)


async def _profile(requests: Callable[[int], Awaitable[None]], count: int) -> None:
    if not os.environ.get("PROFILE"):
        return
    profile = cProfile.Profile()
    profile.enable()
    await requests(count)
    profile.disable()
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(
        int(os.environ.get("PROFILE_LINES", "40"))
    )
    by_package: Counter[str] = Counter()
    for (file, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/" in file:
            package = file.split("site-packages/")[1].split("/")[0]
        elif "python3." in file and "/lib/" in file:
            package = "stdlib " + file.rsplit("/", 1)[1]
        else:
            package = function if file == "~" else Path(file).parent.name or file
        by_package[package] += row[2]
    total = sum(by_package.values())
    for package, seconds in by_package.most_common(15):
        sys.stdout.write(f"{seconds / count * 1e3:7.3f} ms {seconds / total:6.1%}  {package}\n")


async def test_profile_one_read(app: FastAPI, account: Account, tmp_path: Path) -> None:
    path = os.environ.get("READ_PATH", "/v1/listings")
    scope = _scope("GET", path, account.headers)
    sender = Sender(app)

    async def reads(count: int) -> None:
        for _ in range(count):
            await sender.send(scope)

    _unlimited(app, tmp_path)
    await reads(WARM_UP)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await reads(REQUESTS)
        timings.append((time.perf_counter() - started) / REQUESTS * 1e6)
    assert set(sender.statuses) == {200}, sender.statuses
    runs = ", ".join(f"{t:.1f}" for t in timings)
    sys.stdout.write(f"\n{path}: {min(timings):.1f} µs a read (runs: {runs})\n")
    await _profile(reads, REQUESTS)


@contextlib.asynccontextmanager
async def _traced(
    app: FastAPI, settings: Settings, database_url: str, storage: LocalStorage, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    """`app`, or with `TRACE=1` one that traces as the stack's API does."""
    if not os.environ.get("TRACE"):
        yield app
        return
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED"):
        os.environ.pop(name, None)
    assert configure_tracing(Settings(POD_HOME=tmp_path), "api") is not None
    try:
        temporal = await connect_temporal(settings)
        traced = create_app(settings, database_url=database_url, temporal=temporal, storage=storage)
        async with traced.router.lifespan_context(traced):
            yield traced
    finally:
        reset_tracing()


async def test_profile_one_start(
    app: FastAPI,
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
    database_url: str,
    storage: LocalStorage,
    tmp_path: Path,
) -> None:
    account = await create_account(
        sessions, settings.cipher, emulator_config, limits={"workflows_per_month": 10**9}
    )
    async with _traced(app, settings, database_url, storage, tmp_path) as started:
        await _profile_starts(started, account, tmp_path)


async def _profile_starts(app: FastAPI, account: Account, tmp_path: Path) -> None:
    sender = Sender(app)
    sent = 0

    async def starts(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            sent += 1
            body = json.dumps({"keyword": f"profile otter {sent}", "require_approval": True})
            headers = {
                **account.headers,
                "content-type": "application/json",
                "content-length": str(len(body)),
                "idempotency-key": f"profile-{sent}",
            }
            await sender.send(_scope("POST", START, headers), body.encode())

    _unlimited(app, tmp_path)
    await starts(START_WARM_UP)
    figures = await _start_costs(starts)
    statements = await _statements(lambda: starts(100))
    assert set(sender.statuses) == {202}, sender.statuses
    sys.stdout.write(f"\n{START}: {figures}\nstatements a start:\n")
    for statement, count in statements.most_common():
        sys.stdout.write(f"{count / 100:6.2f}  {statement}\n")
    await _profile(starts, STARTS)


async def test_profile_bare_start(database_url: str, temporal_client: Client) -> None:
    """The bench's bare reference (`scripts/bench_bare.py`'s `POST /start`: one
    `start_workflow`, no attributes) in the same harness, for the ratio of the two."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from bench_bare import bare_app  # the scripts import each other as top-level modules

    bare = bare_app(database_url, temporal_client.service_client.config.target_host)
    async with bare.router.lifespan_context(bare):
        sender = Sender(bare)
        scope = _scope("POST", "/start", {})

        async def starts(count: int) -> None:
            for _ in range(count):
                await sender.send(scope)

        await starts(START_WARM_UP)
        figures = await _start_costs(starts)
        assert set(sender.statuses) == {200}, sender.statuses
        sys.stdout.write(f"\nbare POST /start: {figures}\n")
        await _profile(starts, STARTS)


async def _start_costs(starts: Callable[[int], Awaitable[None]]) -> str:
    """What `STARTS` starts cost, each: wall time and CPU."""
    postgres = _postgres_cpu()
    wall, process, loop = time.perf_counter(), time.process_time(), time.thread_time()
    await starts(STARTS)
    wall, process, loop, postgres = (
        (time.perf_counter() - wall) / STARTS * 1e3,
        (time.process_time() - process) / STARTS * 1e3,
        (time.thread_time() - loop) / STARTS * 1e3,
        (_postgres_cpu() - postgres) / STARTS * 1e3,
    )
    return (
        f"{wall:.2f} ms wall, {process:.2f} ms CPU (process), {loop:.2f} ms CPU (event loop),"
        f" {postgres:.2f} ms CPU (Postgres) a start"
    )


def _postgres_cpu() -> float:
    """CPU seconds of every `postgres` process on this machine so far."""
    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "postgres":
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
    return total


async def _statements(run: Callable[[], Awaitable[None]]) -> Counter[str]:
    """What `run` sends through psycopg, each statement's first 100 characters counted
    (`;` is the pool's pre-ping)."""
    seen: Counter[str] = Counter()
    execute = psycopg.AsyncCursor.execute

    async def counted(self: psycopg.AsyncCursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        seen[" ".join(str(query).split())[:100]] += 1
        return await execute(self, query, *args, **kwargs)

    psycopg.AsyncCursor.execute = counted  # type: ignore[method-assign]
    try:
        await run()
    finally:
        psycopg.AsyncCursor.execute = execute  # type: ignore[method-assign]
    return seen
