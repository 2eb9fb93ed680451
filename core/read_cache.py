"""Answers of read-only pages kept per API process and forgotten when their rows change
(issue 15, ADR 0030).

The rows behind the cached pages (trend signals, listings) are written by the workers,
not by the API, so the database says what changed: migration 0014's triggers send
`table:tenant_id` on the `pod_read_changes` channel at every commit that touches them.
`ChangeFeed` listens on its own connection and counts each (table, tenant)'s notices in
memory; a page is stored with the count it was read under (taken before the read) and
served only while that count has not moved. While the feed is not listening (starting,
or its connection lost) nothing is served from or stored in the cache, and each
reconnection starts a new epoch that no stored page belongs to: a notice missed while
disconnected cannot leave a stale page behind. Entries also expire after `ttl` seconds,
a bound on staleness should a connection die without the socket saying so (TCP
keepalives close such a connection within about ten seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Hashable
from dataclasses import dataclass

import psycopg
from cachetools import TTLCache

logger = logging.getLogger(__name__)

CHANNEL = "pod_read_changes"  # migrations 0014 and 0017
ALL_TENANTS = "*"  # a TRUNCATE's notice
RECONNECT_SECONDS = 0.5
# A group of rows (a notice's `table`), or several that one value is worked out from.
type Groups = str | tuple[str, ...]


@dataclass(frozen=True)
class Stamp:
    """What a page was read under: the feed's epoch and the notices seen for its table
    or tables (every tenant's, and its tenant's)."""

    epoch: int
    table: int
    tenant: int


class ChangeFeed:
    """The `pod_read_changes` notices, counted per (table, tenant) while listening."""

    def __init__(self, conninfo: str, *, options: str = "") -> None:
        self._conninfo = conninfo
        self._options = options
        self._epoch = 0
        self._listening = False
        self._counts: dict[tuple[str, str], int] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._listening

    def stamp(self, table: Groups, tenant_id: str) -> Stamp | None:
        """The current stamp of a tenant's rows of `table` (or of several groups: counts
        only grow within an epoch, so their sums move when any of them does); None while
        not listening."""
        if not self._listening:
            return None
        counts = self._counts
        if isinstance(table, str):
            return Stamp(
                self._epoch, counts.get((table, ALL_TENANTS), 0), counts.get((table, tenant_id), 0)
            )
        return Stamp(
            self._epoch,
            sum(counts.get((group, ALL_TENANTS), 0) for group in table),
            sum(counts.get((group, tenant_id), 0) for group in table),
        )

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="read-change-feed")

    async def wait_listening(self) -> None:
        """Until the feed listens (for tests: the cache works from then on)."""
        await self._ready.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._listening = False

    async def _follow(self) -> None:
        failing = False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo,
                    autocommit=True,
                    options=self._options,
                    # A dead peer is noticed within about idle + interval * count s.
                    keepalives=1,
                    keepalives_idle=5,
                    keepalives_interval=2,
                    keepalives_count=2,
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    # Notices from before this point may have been missed: a new epoch.
                    self._epoch += 1
                    self._counts.clear()
                    self._listening = True
                    self._ready.set()
                    if failing:
                        logger.info("read cache: following database changes again")
                        failing = False
                    async for notice in conn.notifies():
                        table, _, tenant_id = notice.payload.partition(":")
                        key = (table, tenant_id)
                        self._counts[key] = self._counts.get(key, 0) + 1
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                if not failing:
                    logger.warning("read cache off: cannot follow database changes: %s", exc)
                    failing = True
            finally:
                self._listening = False
                self._ready.clear()
            await asyncio.sleep(RECONNECT_SECONDS)


class ReadCache[V]:
    """Values by (table, tenant, key), valid while their stamp is current: serialised
    answers (`bytes`), or what a request works out from a tenant's rows (a start's
    template and integrations, `services.runs.StartSetups`), which callers only read."""

    def __init__(self, feed: ChangeFeed, *, ttl: float, maxsize: int = 2048) -> None:
        self.feed = feed
        self.enabled = ttl > 0
        self._pages: TTLCache[Hashable, tuple[Stamp, V]] = TTLCache(
            maxsize=maxsize, ttl=max(ttl, 1e-9)
        )
        self.hits = 0

    def stamp(self, table: Groups, tenant_id: str) -> Stamp | None:
        """Take before reading the rows of a page that may be stored."""
        return self.feed.stamp(table, tenant_id) if self.enabled else None

    def get(self, table: Groups, tenant_id: str, key: Hashable) -> V | None:
        current = self.stamp(table, tenant_id)
        if current is None:
            return None
        found = self._pages.get((table, tenant_id, key))
        if found is None or found[0] != current:
            return None
        self.hits += 1
        return found[1]

    def put(
        self, stamp: Stamp | None, table: Groups, tenant_id: str, key: Hashable, body: V
    ) -> None:
        if stamp is not None:
            self._pages[(table, tenant_id, key)] = (stamp, body)
