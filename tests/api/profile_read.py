"""The CPU one read costs inside the app, measured and profiled: not a test, a tool.

Not collected by the suite (its name does not start with `test_`); run it by name:

    .venv/bin/pytest -o addopts="-q -s" tests/api/profile_read.py
    PROFILE=1 .venv/bin/pytest -o addopts="-q -s" tests/api/profile_read.py

It sends `READ_PATH` (`/v1/listings` by default) straight to the ASGI app, with a real
owner key, over the suite's Postgres and Temporal, and prints the µs a request takes
(the best of three runs of 5 000, after 500 to warm up), then with `PROFILE=1` the
cProfile of 5 000 more, sorted by `PROFILE_SORT` (`tottime`). No socket, no HTTP parser
and no load generator: what is left is our middleware, FastAPI's routing and
dependencies, the key check and the route. `make bench-api` measures the whole
(`docs/performance.md` says which figure came from which).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from core.shared_buckets import SharedRateLimiter
from tests.accounts import Account

WARM_UP, REQUESTS, RUNS = 500, 5_000, 3


async def test_profile_one_read(app: FastAPI, account: Account, tmp_path: Path) -> None:
    path = os.environ.get("READ_PATH", "/v1/listings")
    headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"profile"), (b"accept", b"*/*")]
    headers += [(k.lower().encode(), v.encode()) for k, v in account.headers.items()]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    async def reads(count: int) -> None:
        for _ in range(count):
            await app({**scope, "state": {}}, receive, send)

    # The key's rate limit is not what is measured: 5 000 reads would meet it.
    app.state.rate_limiter = SharedRateLimiter(tmp_path / "buckets", 1e9, 10**9)
    await reads(WARM_UP)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await reads(REQUESTS)
        timings.append((time.perf_counter() - started) / REQUESTS * 1e6)
    assert statuses == {200}, statuses
    runs = ", ".join(f"{t:.1f}" for t in timings)
    sys.stdout.write(f"\n{path}: {min(timings):.1f} µs a read (runs: {runs})\n")
    if os.environ.get("PROFILE"):
        profile = cProfile.Profile()
        profile.enable()
        await reads(REQUESTS)
        profile.disable()
        stats = pstats.Stats(profile, stream=sys.stdout)
        stats.sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(40)
