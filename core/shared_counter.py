"""A counter every process on the host reads without a system call: eight bytes of a
memory-mapped file. The API bumps it when a credential changes (a key revoked, a role
changed, a member removed) and each process drops its cached keys when it sees the
value move, so a change applies at once in every API process with no write, lock or
round trip on the requests that only read it (issue 15, ADR 0026). Across hosts:
`core.redis_shared`.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

_FORMAT = "<Q"
_SIZE = struct.calcsize(_FORMAT)


class Counter(Protocol):
    """What `Watch` follows: this host's `SharedCounter`, a process's `LocalCounter`, or
    every host's `core.redis_shared.RedisCounter`."""

    def value(self) -> int: ...

    async def bump(self) -> int: ...


class SharedCounter:
    """A 64-bit counter in `path`, shared by every process that opens the same file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with locked(self._fd):
            if os.fstat(self._fd).st_size < _SIZE:
                os.ftruncate(self._fd, _SIZE)
        self._map = mmap.mmap(self._fd, _SIZE)

    def value(self) -> int:
        """The current value: a read of shared memory (an aligned 8-byte word)."""
        return int(struct.unpack_from(_FORMAT, self._map)[0])

    async def bump(self) -> int:
        """Add one, under the file's lock so no increment of another process is lost."""
        with locked(self._fd):
            value = self.value() + 1
            struct.pack_into(_FORMAT, self._map, 0, value)
        return value

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


class LocalCounter:
    """The same for one process (tests, or no writable state directory)."""

    def __init__(self) -> None:
        self._value = 0

    def value(self) -> int:
        return self._value

    async def bump(self) -> int:
        self._value += 1
        return self._value

    def close(self) -> None:
        return None


class Watch:
    """One process's view of a counter: `moved()` says whether anyone bumped it since
    this process last looked; `bump()` moves it for everyone, this one included."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self._seen = counter.value()

    def moved(self) -> bool:
        current = self.counter.value()
        if current == self._seen:
            return False
        self._seen = current
        return True

    async def bump(self) -> None:
        self._seen = await self.counter.bump()


@contextmanager
def locked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
