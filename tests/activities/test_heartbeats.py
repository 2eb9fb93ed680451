"""Activities heartbeat while they work, so a killed worker is noticed within the
heartbeat timeout (issue 14): vendor calls through the integration worker's interceptor,
image work while it waits for a CPU slot and while it runs."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from datetime import timedelta
from typing import Any, cast

from temporalio import activity
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment
from temporalio.worker import ExecuteActivityInput

from activities import heartbeat
from activities.heartbeat import HeartbeatInterceptor
from activities.image import ImageActivities
from core.settings import Settings
from workers.runner import build_worker
from workflows.contract import ACTIVITIES, INTEGRATION

NO_INPUT = cast(ExecuteActivityInput, None)


class _SilentVendorCall:
    """An activity that sends no heartbeat of its own and takes a while."""

    async def execute_activity(self, input: Any) -> Any:
        await asyncio.sleep(0.3)
        return "answered"


def _environment(heartbeat_timeout: timedelta | None) -> tuple[ActivityEnvironment, list[Any]]:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=heartbeat_timeout)
    beats: list[Any] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    return env, beats


async def test_a_vendor_call_heartbeats_while_it_waits(monkeypatch: Any) -> None:
    monkeypatch.setattr(heartbeat, "HEARTBEAT_EVERY", 0.05)
    interceptor = HeartbeatInterceptor().intercept_activity(_SilentVendorCall())  # type: ignore[arg-type]
    env, beats = _environment(timedelta(seconds=20))
    assert await env.run(interceptor.execute_activity, NO_INPUT) == "answered"
    assert len(beats) >= 3  # one at the start, then every 50 ms of the 300


async def test_an_activity_without_a_heartbeat_timeout_is_left_alone() -> None:
    interceptor = HeartbeatInterceptor().intercept_activity(_SilentVendorCall())  # type: ignore[arg-type]
    env, beats = _environment(None)
    assert await env.run(interceptor.execute_activity, NO_INPUT) == "answered"
    assert beats == []


async def test_every_vendor_call_has_a_heartbeat_timeout_and_the_worker_heartbeats(
    settings: Settings,
) -> None:
    integration = [a for a in ACTIVITIES if a.queue == "integration"]
    assert integration and all(a.policy is INTEGRATION for a in integration)
    assert INTEGRATION.heartbeat is not None
    assert INTEGRATION.heartbeat < INTEGRATION.start_to_close / 4
    client = await Client.connect(settings.temporal_target)
    for queue, heartbeats in (("integration", True), ("image", False), ("records", False)):
        worker = build_worker(client, queue, [probe], settings)
        added = [type(i) for i in worker.config()["interceptors"]]
        assert (HeartbeatInterceptor in added) is heartbeats, queue


@activity.defn(name="heartbeat.probe")
async def probe() -> None:
    """An activity for a worker to register."""


async def test_image_work_takes_a_slot_and_heartbeats_while_it_waits(monkeypatch: Any) -> None:
    monkeypatch.setattr(heartbeat, "HEARTBEAT_EVERY", 0.05)
    image = ImageActivities(None, None, None, cpu_slots=1)  # type: ignore[arg-type]
    running, most = 0, 0
    lock = threading.Lock()

    def work() -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.3)
        with lock:
            running -= 1
        return "done"

    env, beats = _environment(timedelta(seconds=10))

    async def three_at_once() -> list[str]:
        return list(await asyncio.gather(*(image._crunch(work, "making") for _ in range(3))))

    assert await env.run(three_at_once) == ["done"] * 3
    assert most == 1  # one slot: one at a time
    # The three heartbeat all along: the last one waited 0.6 s for its slot.
    assert len(beats) >= 3 * 6
