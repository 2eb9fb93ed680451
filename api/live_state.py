"""Live runs' `state` query answers, shared by the reads of one run for a moment.

`GET /v1/workflows/{id}` of a live run asks the workflow its state: a query that goes
to Temporal and to a workflow worker and back. Fifty clients following one run asked it
fifty times for the same answer; on `make bench-api` Temporal's server took more CPU
than the API and the read stayed near 100 req/s (docs/performance.md). Here readers of
a run share one query in flight and reuse its answer for `ttl` seconds (issue 15).

An answer is never older than the run's record: the key holds the record's `status` and
`updated_at`, and the workflow records every stage it enters before its state shows it,
so a new stage is a new key. Within a stage an answer is at most `ttl` old (artifacts
appear up to that late). A signal or cancel sent by any API process bumps a counter all
of them read from shared memory, and each then forgets every answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

from core.shared_counter import LocalCounter, SharedCounter
from models.payloads import WorkflowState

MAX_RUNS = 10_000


class LiveStates:
    def __init__(self, ttl: float, generation: SharedCounter | LocalCounter) -> None:
        self.ttl = ttl
        self.generation = generation
        self._seen = generation.value()
        self._answers: dict[Hashable, tuple[float, asyncio.Future[WorkflowState]]] = {}

    async def get(
        self, key: Hashable, query: Callable[[], Awaitable[WorkflowState]]
    ) -> WorkflowState:
        """The answer for `key`: one in flight or fresh enough, else `query()`'s. A failed
        query is not kept: every reader waiting on it gets its error, the next asks again."""
        if self.ttl <= 0:
            return await query()
        now = time.monotonic()
        current = self.generation.value()
        if current != self._seen:
            self._answers.clear()
            self._seen = current
        entry = self._answers.get(key)
        if entry is None or (entry[1].done() and now - entry[0] >= self.ttl):
            if len(self._answers) >= MAX_RUNS:
                self._prune(now)
            answer = asyncio.ensure_future(query())
            answer.add_done_callback(lambda done: self._drop_failed(key, done))
            entry = (now, answer)
            self._answers[key] = entry
        # Shielded: a reader that goes away does not cancel the others' answer.
        return await asyncio.shield(entry[1])

    def forget(self) -> None:
        """A run was signalled or cancelled: every process asks its runs again."""
        self._seen = self.generation.bump()
        self._answers.clear()

    def _drop_failed(self, key: Hashable, done: asyncio.Future[WorkflowState]) -> None:
        if done.cancelled() or done.exception() is not None:
            entry = self._answers.get(key)
            if entry is not None and entry[1] is done:
                del self._answers[key]

    def _prune(self, now: float) -> None:
        for key, (asked, answer) in list(self._answers.items()):
            if answer.done() and now - asked >= self.ttl:
                del self._answers[key]
        while len(self._answers) >= MAX_RUNS:  # all in flight or fresh: drop the oldest
            del self._answers[next(iter(self._answers))]
