"""Heartbeats while an activity waits on slow work (a model call, a thread).

An activity with a heartbeat timeout that waits silently is taken for dead; one that
heartbeats while it waits is, and is only, given up on when its worker really is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from temporalio import activity

HEARTBEAT_EVERY = 2.0


async def heartbeating[T](work: Awaitable[T], note: str) -> T:
    """Await `work`, heartbeating until it is done; cancelled with the activity."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            activity.heartbeat(note)
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
            if done:
                return task.result()
    finally:
        task.cancel()


async def on_thread[T](work: Callable[[], T], note: str) -> T:
    """Run `work` on a thread, heartbeating until it returns."""
    return await heartbeating(asyncio.to_thread(work), note)
