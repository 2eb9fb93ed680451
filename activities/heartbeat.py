"""Heartbeats while an activity waits on slow work (a model call, a thread).

An activity with a heartbeat timeout that waits silently is taken for dead; one that
heartbeats while it waits is, and is only, given up on when its worker really is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from core.waiting import current_waiting, watch

HEARTBEAT_EVERY = 2.0


async def heartbeating[T](work: Awaitable[T], note: str) -> T:
    """Await `work`, heartbeating until it is done; cancelled with the activity.

    Each heartbeat says what `work` waits on when it marks its waits
    (`core.waiting.waiting_on`, as every vendor call does), else `note`: Temporal shows it
    as the pending activity's heartbeat details (`GET /v1/workflows/{id}`, `pod status`).
    """
    waiting = current_waiting() or watch()  # before the task, which copies the context
    task = asyncio.ensure_future(work)
    try:
        while True:
            activity.heartbeat(waiting.note(note))
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
            if done:
                return task.result()
    finally:
        task.cancel()


async def on_thread[T](work: Callable[[], T], note: str) -> T:
    """Run `work` on a thread, heartbeating until it returns."""
    return await heartbeating(asyncio.to_thread(work), note)


class HeartbeatInterceptor(Interceptor):
    """Heartbeats for every activity of a worker whose activities do not send their own
    (the vendor calls on `pod-integration`): an activity with a heartbeat timeout
    heartbeats while it runs, so a killed worker is noticed within that timeout rather
    than at the end of the attempt's two minutes (issue 14)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Heartbeats(next)


class _Heartbeats(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.heartbeat_timeout is None:
            return await super().execute_activity(input)
        return await heartbeating(super().execute_activity(input), info.activity_type)
