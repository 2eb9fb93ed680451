"""Test helpers that run the real workers in the test's event loop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

from core.settings import Settings
from tests.short_retries import ShortRetries
from workers.runner import build_activities, build_worker
from workflows.contract import QUEUES


class WorkerSet:
    """Starts one worker per queue (optionally leaving some out) and stops them on exit.

    Its workflows retry activities after short waits (`ShortRetries`) unless given
    other `interceptors`."""

    def __init__(
        self,
        settings: Settings,
        client: Client,
        database_url: str,
        *,
        queues: list[str] | None = None,
        interceptors: Sequence[Interceptor] = (ShortRetries(),),
    ) -> None:
        self._settings = settings
        self._client = client
        self._database_url = database_url
        self._queues = queues or list(QUEUES)
        self._interceptors = interceptors
        self._stack = AsyncExitStack()
        self.workers: dict[str, Worker] = {}
        # The activities each queue's worker serves (tests/workflows/test_contract.py).
        self.activities: dict[str, Sequence[Callable[..., Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> WorkerSet:
        for queue in self._queues:
            activities = await build_activities(
                self._settings, queue, self._database_url, self._stack
            )
            self.activities[queue] = activities
            worker = build_worker(
                self._client, queue, activities, self._settings, interceptors=self._interceptors
            )
            self.workers[queue] = worker
            self._tasks.append(asyncio.create_task(worker.run()))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for worker in self.workers.values():
            await worker.shutdown()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stack.aclose()


def unmeasured_env(**extra: str) -> dict[str, str]:
    """This environment, plus `extra`, for a process a test starts, without coverage's
    variables: under its tracer a `pod` process took 2.5 times as long to import (11.6 s
    against 4.5 s), and what such a process runs is measured in-process elsewhere."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE_")}
    return {**inherited, **extra}


def worker_process(
    settings: Settings, database_url: str, queue: str, log: Path, **env: str
) -> subprocess.Popen[bytes]:
    """`pod worker --queue QUEUE` as its own process, in the isolated namespace, on the
    session's Postgres and Temporal (`env`: more settings), its output appended to `log`:
    what a fault test kills."""
    from tests.conftest import ISOLATED_NAMESPACE

    environment = unmeasured_env(
        POD_HOME=str(settings.home),
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=settings.temporal_target,
        TEMPORAL_NAMESPACE=ISOLATED_NAMESPACE,
        **env,
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "worker", "--queue", queue],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
