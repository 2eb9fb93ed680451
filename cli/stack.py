"""The embedded stack supervisor behind `pod up`, `pod up -d`, `pod down` and `pod status`.

`pod up` starts what is not configured externally — Postgres, the Temporal dev server,
the vendor emulators — applies migrations, then runs one worker process per task queue
and the API, restarting any child that dies, until Ctrl-C or `pod down`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from temporalio.service import RPCError

from core.db import migrate
from core.embedded import (
    port_open,
    postgres_pid,
    process_alive,
    process_started,
    start_postgres,
    start_temporal,
    stop_postgres,
    wait_for_port,
)
from core.settings import Settings
from core.temporal import connect_temporal
from domain.errors import DomainError
from services import order_sync
from services.accounts import bootstrap_development, dev_key_path
from services.schedule_types import ScheduleError, schedule_ui_url
from services.schedules import ensure_default_schedule
from workflows.contract import DEV_SERVER_SEARCH_ATTRIBUTES, QUEUES

logger = logging.getLogger("pod.stack")
# How long `pod up` waits for the emulators and the API to listen.
STARTUP_SECONDS = 240
# `pod status`: how long an endpoint has to answer, and Temporal to describe the work.
STATUS_ANSWER_SECONDS = 2.0
STATUS_TEMPORAL_SECONDS = 8.0


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0  # monotonic, for the restart backoff

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def paths(settings: Settings) -> dict[str, Path]:
    home = settings.home
    return {
        "home": home,
        "logs": home / "logs",
        "postgres": home / "postgres",
        "temporal_db": home / "temporal" / "temporal.db",
        "supervisor": home / "run" / "supervisor.json",
    }


def pod_argv(*args: str) -> list[str]:
    """Run another `pod` sub-command with this interpreter (works without the script)."""
    return [sys.executable, "-m", "cli.main", *args]


def read_supervisor(settings: Settings) -> dict[str, object] | None:
    file = paths(settings)["supervisor"]
    if not file.exists():
        return None
    data: dict[str, object] = json.loads(file.read_text())
    pid = data.get("pid")
    if not isinstance(pid, int) or not _pid_alive(pid):
        return None
    return data


def _pid_alive(pid: int) -> bool:
    # A supervisor this process started (`start_detached`) stays a zombie until reaped.
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    return process_alive(pid)  # one killed elsewhere may stay a zombie: not alive


def worker_metrics_port(settings: Settings, queue: str) -> int:
    """The port `pod up` gives a queue's worker for its metrics: `WORKER_METRICS_PORT`
    for the first queue, the next ones for the others (0: none at all)."""
    base = settings.worker_metrics_port
    return base + list(QUEUES).index(queue) if base else 0


def api_healthy(settings: Settings) -> bool:
    try:
        return httpx.get(f"{settings.api_url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


class Stack:
    """Starts and watches the stack's processes; one per `pod up`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.paths = paths(settings)
        self.children: list[Child] = []
        self.temporal: subprocess.Popen[bytes] | None = None
        self.temporal_restarts = 0
        self.temporal_started_at = 0.0
        self.postgres_restarts = 0
        self.postgres_checked_at = 0.0
        self.keeps_postgres = False  # only a Postgres this stack started
        self.database_url = settings.database_url or ""
        self._stopping = False

    def start(self) -> None:
        settings, p = self.settings, self.paths
        p["logs"].mkdir(parents=True, exist_ok=True)
        if settings.uses_embedded_database:
            self.start_database()
        logger.info("applying migrations")
        migrate(self.database_url)
        if settings.environment == "development":
            bootstrap_development(settings, self.database_url)
            logger.info("development owner key in %s (mode 600)", dev_key_path(settings))
        if settings.uses_embedded_temporal and not port_open("127.0.0.1", settings.temporal_port):
            logger.info("starting Temporal dev server on %s", settings.temporal_target)
            self._start_temporal()
        env = {**os.environ, "DATABASE_URL": self.database_url, "POD_HOME": str(p["home"])}
        if settings.uses_emulators:
            self._add("emulators", pod_argv("emulators"), env)
        for queue in QUEUES:
            port = worker_metrics_port(settings, queue)
            worker_env = {**env, "WORKER_METRICS_PORT": str(port)}
            self._add(f"worker-{queue}", pod_argv("worker", "--queue", queue), worker_env)
        self._add("api", pod_argv("api"), env)
        for child in self.children:
            child.start()
        # Eight processes import at once: about 25 s on two cores, and over two minutes
        # when coverage measured each of them (the tests no longer do; ADR 0022).
        if settings.uses_emulators:
            wait_for_port("127.0.0.1", settings.emulator_port, timeout=STARTUP_SECONDS)
        wait_for_port(settings.api_host, settings.api_port, timeout=STARTUP_SECONDS)
        if settings.environment == "development":
            self._ensure_default_schedule()
        self._write_supervisor()

    def start_database(self) -> None:
        """Start the embedded Postgres, which this stack then keeps (restarts) and stops."""
        logger.info("starting Postgres 18 + pgvector in %s", self.paths["postgres"])
        self.database_url = start_postgres(self.paths["postgres"])
        self.keeps_postgres = True

    def _ensure_default_schedule(self) -> None:
        """The development tenant's `default` scrape schedule: made once, then left alone."""
        settings = self.settings
        try:
            made = asyncio.run(_default_schedule(settings))
        except (RPCError, ScheduleError, DomainError, RuntimeError) as exc:
            # A convenience of the local stack: without it everything else still works.
            logger.warning("no default scrape schedule: %s", exc)
            return
        if made is None:
            return
        schedule_id, created = made
        url = schedule_ui_url(settings, schedule_id)
        if created:
            logger.info(
                "created scrape schedule %s: every %d min, all sources (%s)",
                schedule_id,
                settings.schedule_default_interval_minutes,
                url,
            )
        else:
            logger.info("scrape schedule %s exists; left as it is (%s)", schedule_id, url)

    def _add(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = self.paths["logs"] / f"{name}.log"
        self.children.append(Child(name=name, argv=argv, env=env, log=log))

    def _write_supervisor(self) -> None:
        file = self.paths["supervisor"]
        file.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "pid": os.getpid(),
            "database_url": self.database_url,
            "children": {
                c.name: _entry(c.process.pid, c.restarts) for c in self.children if c.process
            },
            "temporal": _entry(self.temporal.pid, self.temporal_restarts)
            if self.temporal
            else None,
            "postgres": {"restarts": self.postgres_restarts}
            if self.settings.uses_embedded_database
            else None,
        }
        # Whole or not at all: `pod status` reads it while a restart rewrites it.
        partial = file.with_suffix(".tmp")
        partial.write_text(json.dumps(data, indent=2))
        partial.replace(file)

    def watch(self) -> None:
        """Restart children that die (with backoff) until asked to stop; the Temporal dev
        server too, when this stack started it."""
        while not self._stopping:
            if self.keeps_postgres:
                self._keep_postgres()
            if self.temporal is not None and self.temporal.poll() is not None:
                self._restart_temporal()
            for child in self.children:
                if not child.alive() and not self._stopping:
                    wait = min(30.0, 2.0**child.restarts)
                    if time.monotonic() - child.started_at >= wait:
                        logger.warning("%s exited; restarting (see %s)", child.name, child.log)
                        child.restarts += 1
                        child.start()
                        self._write_supervisor()
            time.sleep(0.5)

    def _start_temporal(self) -> None:
        settings, p = self.settings, self.paths
        self.temporal = start_temporal(
            p["temporal_db"],
            port=settings.temporal_port,
            ui_port=settings.temporal_ui_port,
            namespace=settings.temporal_namespace,
            log_file=p["logs"] / "temporal.log",
            search_attributes=DEV_SERVER_SEARCH_ATTRIBUTES,
        )
        self.temporal_started_at = time.monotonic()

    def _restart_temporal(self) -> None:
        wait = min(30.0, 2.0**self.temporal_restarts)
        if time.monotonic() - self.temporal_started_at < wait or self._stopping:
            return
        logger.warning("the Temporal dev server exited; restarting (see temporal.log)")
        self.temporal_restarts += 1
        try:
            self._start_temporal()
        except (OSError, TimeoutError) as exc:
            logger.error("the Temporal dev server did not come back: %s", exc)
            self.temporal_started_at = time.monotonic()
            return
        self._write_supervisor()

    def _keep_postgres(self) -> None:
        """Start the embedded Postgres again when it is gone (with backoff). Every
        process of the stack reconnects on its own; activities wait for the database
        within their attempt (ADR 0006)."""
        if postgres_pid(self.paths["postgres"]) is not None:
            return
        wait = min(30.0, 2.0**self.postgres_restarts)
        if time.monotonic() - self.postgres_checked_at < wait or self._stopping:
            return
        logger.warning("Postgres is gone; starting it again (see %s)", self.paths["postgres"])
        self.postgres_restarts += 1
        self.postgres_checked_at = time.monotonic()
        try:
            start_postgres(self.paths["postgres"])
        except (OSError, subprocess.CalledProcessError, AssertionError, RuntimeError) as exc:
            logger.error("Postgres did not start again: %s", exc)
            return
        self._write_supervisor()

    def request_stop(self, *_: object) -> None:
        self._stopping = True

    def stop(self) -> None:
        self._stopping = True
        for child in reversed(self.children):
            child.stop()
        if self.temporal is not None:
            self.temporal.terminate()
            try:
                self.temporal.wait(15)
            except subprocess.TimeoutExpired:
                self.temporal.kill()
        if self.settings.uses_embedded_database:
            stop_postgres(self.paths["postgres"])
        self.paths["supervisor"].unlink(missing_ok=True)


async def _default_schedule(settings: Settings) -> tuple[str, bool] | None:
    temporal = await connect_temporal(settings)
    # The development tenant's orders are synced on a schedule too (ADR 0031).
    await order_sync.ensure_schedule(temporal, settings, tenant_id=settings.default_tenant)
    return await ensure_default_schedule(temporal, settings)


def run_foreground(settings: Settings) -> int:
    """`pod up`: start everything and supervise until SIGINT/SIGTERM."""
    if read_supervisor(settings) is not None:
        logger.error("a stack already runs for %s (pod down stops it)", settings.home)
        return 1
    stack = Stack(settings)
    signal.signal(signal.SIGTERM, stack.request_stop)
    signal.signal(signal.SIGINT, stack.request_stop)
    try:
        stack.start()
        logger.info(
            "stack is up: API %s, Temporal UI %s, emulators %s",
            settings.api_url,
            settings.temporal_web_url,
            settings.emulator_url,
        )
        stack.watch()
    finally:
        logger.info("stopping the stack")
        stack.stop()
    return 0


def start_detached(settings: Settings, timeout: float = STARTUP_SECONDS + 60) -> int:
    """`pod up -d`: run the supervisor in the background and wait until the API answers."""
    if read_supervisor(settings) is not None and api_healthy(settings):
        print(f"the stack already runs: API {settings.api_url}")
        return 0
    log = paths(settings)["logs"] / "up.log"
    print(f"starting the stack in the background (log: {log}); this takes up to a minute")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own argv
            pod_argv("up"),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "POD_HOME": str(settings.home)},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            logger.error("the stack failed to start; see %s", log)
            return 1
        if api_healthy(settings) and read_supervisor(settings) is not None:
            print(
                f"the stack is up: API {settings.api_url}, Temporal UI"
                f" {settings.temporal_web_url}; `pod status` shows it, `pod down` stops it"
            )
            return 0
        time.sleep(0.3)
    logger.error("the stack did not come up within %.0f s; see %s", timeout, log)
    return 1


def stop_detached(settings: Settings, timeout: float = 60.0) -> int:
    """`pod down`: ask the supervisor to stop and wait until it has; then stop whatever
    of the stack is left (a supervisor that was killed leaves its children, Temporal
    and Postgres running)."""
    data = read_supervisor(settings)
    if data is None:
        print(f"no supervisor runs for {settings.home}")
    else:
        pid = int(str(data["pid"]))
        print(f"stopping the stack in {settings.home} (supervisor pid {pid})", flush=True)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.2)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            print(f"the supervisor did not stop within {timeout:.0f} s: killed")
    left = stop_leftovers(settings)
    for name in left:
        print(f"stopped {name}, left running by a supervisor that is gone")
    print("stopped" if data is not None or left else "nothing was running")
    return 0


def stop_leftovers(settings: Settings) -> list[str]:
    """Stop the processes the last supervisor file names that still run as the same
    processes (pid and start time), and the embedded Postgres; remove the file. What
    was stopped, by name."""
    file = paths(settings)["supervisor"]
    data: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(file.read_text())
    named = dict(data.get("children") or {})
    if isinstance(data.get("temporal"), dict):
        named["temporal"] = data["temporal"]
    running = {
        name: psutil.Process(entry["pid"])
        for name, entry in named.items()
        if isinstance(entry, dict) and _ours(entry)
    }
    for process in running.values():
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(list(running.values()), timeout=10)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    stopped = list(running)
    postgres = paths(settings)["postgres"]
    if settings.uses_embedded_database and postgres_pid(postgres) is not None:
        stop_postgres(postgres)
        stopped.append("postgres")
    file.unlink(missing_ok=True)
    return stopped


def _entry(pid: int, restarts: int) -> dict[str, object]:
    """A supervised process in the supervisor file: its pid, its start time (so a pid
    the system has since given to another process is not taken for it), restarts."""
    return {"pid": pid, "started": process_started(pid), "restarts": restarts}


def _ours(entry: dict[str, Any]) -> bool:
    pid, started = entry.get("pid"), entry.get("started")
    if not isinstance(pid, int) or not isinstance(started, int | float):
        return False  # an older file: without a start time, the pid may be another's
    return process_alive(pid, started=float(started))


def status(settings: Settings) -> dict[str, object]:
    """What runs: the supervisor, Postgres, Temporal, each child (alive, restarts), and
    whether each endpoint answers."""
    data = read_supervisor(settings) or {}
    temporal = data.get("temporal")
    temporal_state = _process_state(temporal) if isinstance(temporal, dict) else {}
    postgres_dir = paths(settings)["postgres"]
    postgres = postgres_pid(postgres_dir) if settings.uses_embedded_database else None
    return {
        "running": bool(data),
        "home": str(settings.home),
        "api": {"url": settings.api_url, "healthy": api_healthy(settings)},
        "postgres": {
            "embedded": True,
            "data_dir": str(postgres_dir),
            "pid": postgres,
            "up": postgres is not None,
            "restarts": dict(data.get("postgres") or {}).get("restarts", 0),  # type: ignore[call-overload]
        }
        if settings.uses_embedded_database
        else {"embedded": False},
        "temporal": {
            "address": settings.temporal_target,
            "ui": settings.temporal_web_url,
            "up": port_open("127.0.0.1", settings.temporal_port)
            if settings.uses_embedded_temporal
            else None,
            **temporal_state,
        },
        "emulators": {
            "url": settings.emulator_url,
            "up": port_open("127.0.0.1", settings.emulator_port),
            # A frozen process still accepts connections: only an answer says it serves.
            "answers": _answers(f"{settings.emulator_url}/healthz"),
        },
        "metrics": {
            "api": f"{settings.api_url}/metrics",
            "workers": {
                queue: f"http://{settings.worker_metrics_host}:{port}/metrics"
                for queue in QUEUES
                if (port := worker_metrics_port(settings, queue))
            },
        },
        "children": {
            name: _process_state(entry)
            for name, entry in dict(data.get("children") or {}).items()  # type: ignore[call-overload]
        },
        **_work(settings),
    }


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=STATUS_ANSWER_SECONDS).status_code == 200
    except httpx.HTTPError:
        return False


def _work(settings: Settings) -> dict[str, object]:
    """What waits: each task queue's backlog, and each running workflow's unfinished
    activities (attempt, last failure, what its heartbeats say it waits on)."""
    from services.run_watch import live_runs, queue_backlogs

    async def read() -> dict[str, object]:
        client = await connect_temporal(settings)
        backlogs, runs = await asyncio.gather(queue_backlogs(client), live_runs(client))
        return {"task_queues": backlogs, "live_runs": runs}

    try:
        return asyncio.run(asyncio.wait_for(read(), STATUS_TEMPORAL_SECONDS))
    except (OSError, RuntimeError, TimeoutError, RPCError) as exc:
        return {"task_queues": None, "live_runs": None, "temporal_error": str(exc)[:200]}


def _process_state(entry: object) -> dict[str, object]:
    """A supervised process as the supervisor file names it: pid, alive, restarts."""
    # The earlier file format named each child's pid alone.
    state = entry if isinstance(entry, dict) else {"pid": entry}
    pid, restarts = state.get("pid"), state.get("restarts", 0)
    ours = _ours(state) if "started" in state else isinstance(pid, int) and process_alive(pid)
    return {"pid": pid, "alive": ours, "restarts": restarts}
