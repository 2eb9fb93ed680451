"""A small persistent state store for the vendor emulators.

Each emulator keeps its collections in one JSON document under the state directory,
written atomically after every change, so a restarted emulator still knows every
product and listing it made.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
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


_MEMORY_BLOBS: weakref.WeakKeyDictionary[JsonStore, dict[str, dict[str, bytes]]] = (
    weakref.WeakKeyDictionary()
)


class BlobDir:
    """Bytes kept beside a store: files under `<store dir>/<name>/`, or memory for an
    in-memory store (image files the emulators serve)."""

    def __init__(self, store: JsonStore, name: str) -> None:
        path = store.path
        self.directory = path.parent / name if path is not None else None
        self._memory = _MEMORY_BLOBS.setdefault(store, {}).setdefault(name, {})

    def put(self, file_name: str, data: bytes) -> None:
        if self.directory is None:
            self._memory[file_name] = data
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / file_name).write_bytes(data)

    def get(self, file_name: str) -> bytes | None:
        if self.directory is None:
            return self._memory.get(file_name)
        file = self.directory / file_name
        return file.read_bytes() if file.exists() else None

    def delete(self, file_name: str) -> None:
        self._memory.pop(file_name, None)
        if self.directory is not None:
            (self.directory / file_name).unlink(missing_ok=True)
