"""Benchmark: Etsy calls through the client from several worker processes at one rate.

Starts what `pod up` starts, in a temporary `POD_HOME` (embedded Postgres, the Temporal
dev server, the emulators), a tenant with its Printify and Etsy integrations, and
`--workers` processes of `pod worker --queue integration` with `ETSY_RATE_PER_SECOND`
and `INTEGRATION_ACTIVITIES_PER_SECOND` set to `--rate`. One workflow then runs
`etsy.resolve_shop` `--calls` times at once: one Etsy call (`GET /users/me`) each. The
report is the emulator's view of those calls: the seconds from the first to the last,
and the most that arrived within any one second (ADR 0013). Not a timed test:

    .venv/bin/python scripts/bench_etsy_rate.py [--calls 100] [--workers 2] [--rate 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from core.db import make_engine, make_session_factory, migrate
from core.embedded import start_postgres, start_temporal, stop_postgres
from core.http_server import ThreadedServer, free_port
from core.settings import Settings
from models.payloads import ShopsInput
from sandbox.app import EmulatorConfig, create_emulator_app
from services import accounts
from workflows.contract import DEV_SERVER_SEARCH_ATTRIBUTES, QUEUES

ROOT = Path(__file__).resolve().parent.parent
BENCH_QUEUE = "pod-bench"
TENANT = "bench"


@dataclass
class EtsyCalls:
    shops: ShopsInput
    calls: int


@workflow.defn(name="BenchEtsyCalls")
class EtsyCallsWorkflow:
    """Runs `etsy.resolve_shop` (one Etsy call) `calls` times at once on pod-integration."""

    @workflow.run
    async def run(self, job: EtsyCalls) -> None:
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    "etsy.resolve_shop",
                    job.shops,
                    task_queue=QUEUES["integration"],
                    start_to_close_timeout=timedelta(minutes=2),
                )
                for _ in range(job.calls)
            )
        )


def worker_env(
    home: Path, database_url: str, temporal: str, emulator: str, rate: float
) -> dict[str, str]:
    """The environment of one `pod worker --queue integration` against the started parts."""
    return {
        **os.environ,
        "POD_HOME": str(home),
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal,
        "PRINTIFY_BASE_URL": f"{emulator}/printify/v1",
        "ETSY_BASE_URL": f"{emulator}/etsy/v3",
        "ETSY_RATE_PER_SECOND": str(rate),
        "INTEGRATION_ACTIVITIES_PER_SECOND": str(rate),
        "LOG_LEVEL": "WARNING",
    }


async def connect_tenant(database_url: str, config: EmulatorConfig) -> ShopsInput:
    """A tenant with both integrations, no shop chosen: `resolve_shop` asks Etsy each time."""
    cipher = Settings().cipher
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            await accounts.create_tenant(
                session, tenant_id=TENANT, name="Bench", plan="business", owner_email="b@x.test"
            )
            ids = {}
            for vendor, token in (
                ("printify", config.printify_token),
                ("etsy", config.etsy_access_token),
            ):
                row = await accounts.store_integration(
                    session, cipher, tenant_id=TENANT, vendor=vendor, access_token=token
                )
                ids[vendor] = str(row.id)
            await session.commit()
    finally:
        await engine.dispose()
    return ShopsInput(TENANT, ids["printify"], ids["etsy"])


def start_worker(env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    """`pod worker --queue integration` as a process of its own."""
    with log_file.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "worker", "--queue", "integration"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def measure(temporal: str, emulator: str, shops: ShopsInput, calls: int) -> dict[str, float]:
    """Run the calls and read the emulator's record of them."""
    client = await Client.connect(temporal)
    # The benchmark workflow lives in this script, outside any importable module.
    runner = UnsandboxedWorkflowRunner()
    async with Worker(
        client, task_queue=BENCH_QUEUE, workflows=[EtsyCallsWorkflow], workflow_runner=runner
    ):
        await asyncio.sleep(3)  # let every worker process poll before the burst
        started = time.monotonic()
        await client.execute_workflow(
            EtsyCallsWorkflow.run,
            EtsyCalls(shops, calls),
            id=f"bench-{time.time_ns()}",
            task_queue=BENCH_QUEUE,
            execution_timeout=timedelta(minutes=5),  # never hang before the clean-up
        )
        wall = time.monotonic() - started
    async with httpx.AsyncClient(base_url=emulator) as admin:
        traffic = (await admin.get("/__admin/traffic", params={"vendor": "etsy"})).json()
        answers = (await admin.get("/__admin/requests")).json()
    return {
        "count": traffic["count"],
        "refused": sum(1 for answer in answers if answer["status"] == 429),
        "span": traffic["span_seconds"],
        "most_in_a_second": traffic["max_in_window"],
        "wall": wall,
    }


def bench(home: Path, calls: int, workers: int, rate: float) -> dict[str, float]:
    """Start the stack under `home`, measure, and stop everything again."""
    database_url = start_postgres(home / "postgres")
    migrate(database_url)
    port = free_port()
    temporal = start_temporal(
        home / "temporal.db",
        port=port,
        ui_port=free_port(),
        namespace="default",
        log_file=home / "temporal.log",
        search_attributes=DEV_SERVER_SEARCH_ATTRIBUTES,
    )
    config = EmulatorConfig()
    emulator = ThreadedServer(create_emulator_app(None, config)).start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        shops = asyncio.run(connect_tenant(database_url, config))
        env = worker_env(home, database_url, f"127.0.0.1:{port}", emulator.url, rate)
        processes = [start_worker(env, home / f"worker-{n}.log") for n in range(workers)]
        return asyncio.run(measure(f"127.0.0.1:{port}", emulator.url, shops, calls))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        emulator.stop()
        temporal.terminate()
        temporal.wait(30)
        stop_postgres(home / "postgres")


def report(result: dict[str, float], *, calls: int, workers: int, rate: float) -> str:
    """The benchmark's lines: what the emulator saw against what the rate allows."""
    floor = (calls - 1) / rate
    return "\n".join(
        [
            f"Etsy requests recorded:   {result['count']:.0f} for {calls} calls"
            f" ({workers} worker processes, ETSY_RATE_PER_SECOND={rate:g},"
            f" INTEGRATION_ACTIVITIES_PER_SECOND={rate:g})",
            f"Refused with 429:         {result['refused']:.0f} (then repeated after Retry-After)",
            f"First to last call:       {result['span']:.2f} s"
            f" (at {rate:g}/s no less than {floor:.2f} s)",
            f"Most calls in any second: {result['most_in_a_second']:.0f} (limit {rate:g})",
            f"Workflow wall time:       {result['wall']:.2f} s",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=10.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="pod-bench-"))
    try:
        result = bench(home, args.calls, args.workers, args.rate)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(report(result, calls=args.calls, workers=args.workers, rate=args.rate))  # noqa: T201
    held = result["most_in_a_second"] <= args.rate
    return 0 if held and result["span"] >= (args.calls - 1) / args.rate else 1


if __name__ == "__main__":
    sys.exit(main())
