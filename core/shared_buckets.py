"""Per-key token buckets shared by every API process of a host (issue 15, ADR 0026).

With several API processes, buckets kept in each process let a key make N times its
rate, and a client on one keep-alive connection (one process) would be held to its own
process's share if the rate were divided. Here the buckets live in a memory-mapped file
under `POD_HOME/run`: a request takes its key's bucket under the file's lock, reads and
writes 24 bytes of shared memory and lets go — two `flock` calls, no database or network
round trip. Across hosts the limit needs Redis (`core.redis_shared`, with `REDIS_URL`).

The table has a fixed number of slots (open addressing, a few probes from the key's
hash). A bucket idle long enough to have refilled is as good as none and its slot is
reused; when every probed slot is busy the least recently used is taken over, which can
only make that key's limit more lenient — as `RequestRateLimiter` drops buckets past its
`max_keys`.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

from core.shared_counter import locked


def checked_rate(rate_per_second: float, burst: int) -> float:
    """The rate as a float, once it and the burst are a bucket's: a positive finite rate
    and a burst of at least one."""
    if not rate_per_second > 0 or rate_per_second == float("inf"):
        raise ValueError("rate_per_second must be a positive finite number")
    if burst < 1:
        raise ValueError("burst must be at least 1")
    return float(rate_per_second)


def take_token(
    tokens: float | None, idle: float, rate: float, burst: int
) -> tuple[float, float | None]:
    """A bucket with `tokens` (None: a new one, full) refilled for `idle` seconds, then one
    token taken: (tokens left, None), or (tokens, seconds until the next one) when there
    is none to take."""
    tokens = float(burst) if tokens is None else min(burst, tokens + max(0.0, idle) * rate)
    if tokens >= 1:
        return tokens - 1, None
    return tokens, (1 - tokens) / rate


_SLOT = struct.Struct("<Qdd")  # key hash (0: free), tokens, last update (monotonic)
PROBES = 8


class SharedRateLimiter:
    """`burst` requests at once per key, refilled at `rate_per_second`, counted together
    by every process that opens the same file. `acquire(key)` takes a token and returns
    None, or returns the seconds until the next token without taking one."""

    def __init__(
        self,
        path: Path,
        rate_per_second: float,
        burst: int,
        *,
        slots: int = 16_384,
        clock: Callable[[], float] = time.monotonic,  # CLOCK_MONOTONIC: one per host
    ) -> None:
        self.rate = checked_rate(rate_per_second, burst)
        self.burst = burst
        self.slots = slots
        self._clock = clock
        self._refill_seconds = burst / self.rate
        size = slots * _SLOT.size
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with locked(self._fd):
            if os.fstat(self._fd).st_size != size:
                os.ftruncate(self._fd, 0)  # another table's layout: start empty
                os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)

    def acquire(self, key: str) -> float | None:
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
        digest = digest or 1  # 0 marks a free slot
        with locked(self._fd):
            now = self._clock()
            offset = self._slot_for(digest, now)
            found, tokens, updated = _SLOT.unpack_from(self._map, offset)
            left, wait = take_token(
                tokens if found == digest else None, now - updated, self.rate, self.burst
            )
            _SLOT.pack_into(self._map, offset, digest, left, now)
            return wait

    def _slot_for(self, digest: int, now: float) -> int:
        """The key's slot, else a free or refilled one, else the least recently used of
        the probed slots."""
        first = digest % self.slots
        reusable: int | None = None
        oldest, oldest_at = first, float("inf")
        for probe in range(PROBES):
            offset = ((first + probe) % self.slots) * _SLOT.size
            found, _, updated = _SLOT.unpack_from(self._map, offset)
            if found == digest:
                return offset
            idle = found == 0 or now - updated >= self._refill_seconds
            if idle and reusable is None:
                reusable = offset
            if updated < oldest_at:
                oldest, oldest_at = offset, updated
        return reusable if reusable is not None else oldest

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
