"""Live runs' `state` query answers, shared by the reads of one run for a moment.

`GET /v1/workflows/{id}` of a live run asks the workflow its state: a query that goes
to Temporal and to a workflow worker and back. Fifty clients following one run asked it
fifty times for the same answer; on `make bench-api` Temporal's server took more CPU
than the API and the read stayed near 100 req/s (docs/performance.md). Here readers of
a run share one query in flight and reuse its answer for `ttl` seconds (issue 15).

An answer is never older than the run's record: the key holds the record's `status` and
`updated_at`, and the workflow records every stage it enters before its state shows it,
so a new stage is a new key. Within a stage an answer is at most `ttl` plus one query
old (artifacts appear up to that late): past `ttl` the next read asks again, and until
the new answer comes readers get the last one, so no read waits for a refresh. A signal
or cancel sent by any API process bumps a counter all of them read from shared memory,
and each then forgets every answer. The read cache keeps a live run's page for the
same window (`period`, ADR 0030).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from core.shared_counter import Counter, Watch
from models.payloads import WorkflowState

MAX_RUNS = 10_000


@dataclass
class _Entry:
    asked_at: float
    answer: asyncio.Future[WorkflowState]
    last: WorkflowState | None = None  # the previous answer, given while this one comes


class LiveStates:
    def __init__(self, ttl: float, generation: Counter) -> None:
        self.ttl = ttl
        self.generation = Watch(generation)
        self._entries: dict[Hashable, _Entry] = {}

    async def get(
        self, key: Hashable, query: Callable[[], Awaitable[WorkflowState]]
    ) -> WorkflowState:
        """The answer for `key`: fresh enough, or the last one while a new one comes, or
        `query()`'s. A failed query is not kept: every reader waiting on it gets its
        error, the next asks again."""
        if self.ttl <= 0:
            return await query()
        now = time.monotonic()
        if self.generation.moved():
            self._entries.clear()
        entry = self._entries.get(key)
        if entry is None:
            entry = self._ask(key, query, now, last=None)
        elif not entry.answer.done():
            if entry.last is not None:
                return entry.last  # a refresh is under way: nobody waits for it
        elif now - entry.asked_at >= self.ttl:
            last = entry.answer.result()
            self._ask(key, query, now, last=last)
            return last
        # Shielded: a reader that goes away does not cancel the others' answer.
        return await asyncio.shield(entry.answer)

    def period(self) -> Hashable | None:
        """What an answer built from these states holds for: this value of the shared
        counter, in this window of `ttl` seconds (None when states are not shared). A
        page keyed by it is read again after the next signal, or the window's end."""
        if self.ttl <= 0:
            return None
        return (self.generation.counter.value(), int(time.monotonic() // self.ttl))

    async def forget(self) -> None:
        """A run was signalled or cancelled: every process asks its runs again."""
        await self.generation.bump()
        self._entries.clear()

    def _ask(
        self,
        key: Hashable,
        query: Callable[[], Awaitable[WorkflowState]],
        now: float,
        last: WorkflowState | None,
    ) -> _Entry:
        if len(self._entries) >= MAX_RUNS:
            self._prune(now)
        entry = _Entry(now, asyncio.ensure_future(query()), last)
        entry.answer.add_done_callback(lambda done: self._drop_failed(key, done))
        self._entries[key] = entry
        return entry

    def _drop_failed(self, key: Hashable, done: asyncio.Future[WorkflowState]) -> None:
        if done.cancelled() or done.exception() is not None:
            entry = self._entries.get(key)
            if entry is not None and entry.answer is done:
                del self._entries[key]

    def _prune(self, now: float) -> None:
        for key, entry in list(self._entries.items()):
            if entry.answer.done() and now - entry.asked_at >= self.ttl:
                del self._entries[key]
        while len(self._entries) >= MAX_RUNS:  # all in flight or fresh: drop the oldest
            del self._entries[next(iter(self._entries))]
