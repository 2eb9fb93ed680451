"""The bare references of `make bench-api` (issue 15), served as the API is served
(`core.http_server.serve_processes`: the same uvicorn settings, loop, parser and number
of processes, `API_PROCESSES`): `GET /hello` answers at once, and
`GET /select1` runs one `SELECT 1` through a psycopg pool of 10 on the same Postgres, and
`POST /start` starts a workflow on a task queue no worker polls, on the same Temporal.

    DATABASE_URL=postgresql://… TEMPORAL_PORT=… [API_PROCESSES=N] python scripts/bench_bare.py PORT
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client

from core.http_server import serve_processes, tune_collector_for_serving


def bare_app(database_url: str, temporal_address: str) -> FastAPI:
    pool = AsyncConnectionPool(database_url, min_size=10, max_size=10, open=False)
    temporal: list[Client] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=True)
        temporal.append(await Client.connect(temporal_address))
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/select1")
    async def select1() -> dict[str, int]:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT 1")).fetchone()
        return {"one": int(row[0]) if row else 0}

    @app.post("/start")
    async def start() -> dict[str, str]:
        handle = await temporal[0].start_workflow(
            "BenchNobody", id=f"bare-{uuid.uuid4().hex}", task_queue="bench-nobody"
        )
        return {"workflow_id": handle.id}

    return app


def bare_from_environment() -> FastAPI:
    """What each process serves (a uvicorn factory, with the API's collector settings)."""
    app = bare_app(os.environ["DATABASE_URL"], f"127.0.0.1:{os.environ['TEMPORAL_PORT']}")
    tune_collector_for_serving()
    return app


if __name__ == "__main__":
    processes = int(os.environ.get("API_PROCESSES", "1"))
    port = int(sys.argv[1])
    sys.exit(serve_processes("bench_bare:bare_from_environment", "127.0.0.1", port, processes))
