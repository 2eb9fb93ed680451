"""A small persistent state store for the vendor emulators.

Each emulator keeps its collections in one JSON document under the state directory,
written atomically after every change, so a restarted emulator still knows every
product and listing it made.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


class JsonStore:
    """A dict of named collections persisted to `path` (or memory only when `path` is None)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.RLock()
        self.data: dict[str, Any] = {}
        if path is not None and path.exists():
            self.data = json.loads(path.read_text(encoding="utf-8"))

    @property
    def path(self) -> Path | None:
        """Where the document is persisted (None: memory only)."""
        return self._path

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def collection(self, name: str) -> dict[str, Any]:
        """The named collection (created empty on first use)."""
        with self._lock:
            return self.data.setdefault(name, {})

    def next_id(self, counter: str, start: int) -> int:
        """A monotonically increasing integer id that survives restarts."""
        with self._lock:
            counters = self.data.setdefault("_counters", {})
            value = int(counters.get(counter, start)) + 1
            counters[counter] = value
            return value

    def save(self) -> None:
        """Write the document atomically (write a temp file, then rename)."""
        if self._path is None:
            return
        with self._lock:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self._path)
