"""The note a heartbeat carries: the wait in progress, else the activity's own."""

from __future__ import annotations

import asyncio

from core.waiting import waiting_on, watch


async def test_a_heartbeat_names_the_wait_in_progress_and_forgets_it_after() -> None:
    waiting = watch()
    seen: list[str] = []

    async def work() -> None:  # a task of its own, as the heartbeat loop runs it
        with waiting_on("printify GET /v1/shops.json"):
            seen.append(waiting.note("printify.resolve_shop"))
            with waiting_on("printify rate limit"):
                seen.append(waiting.note("printify.resolve_shop"))
            seen.append(waiting.note("printify.resolve_shop"))

    await asyncio.create_task(work())
    assert seen == [
        "printify GET /v1/shops.json for 0 s",
        "printify rate limit for 0 s",
        "printify GET /v1/shops.json for 0 s",
    ]
    assert waiting.note("printify.resolve_shop") == "printify.resolve_shop"
