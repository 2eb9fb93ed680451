"""Per-key rate limits that hold across API processes (issue 15)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from core.shared_buckets import SharedRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_two_processes_share_one_bucket_per_key(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "buckets"
    one = SharedRateLimiter(path, rate_per_second=1, burst=5, clock=clock)
    other = SharedRateLimiter(path, rate_per_second=1, burst=5, clock=clock)

    assert [one.acquire("key-a") for _ in range(3)] == [None, None, None]
    assert [other.acquire("key-a") for _ in range(2)] == [None, None]
    wait = other.acquire("key-a")
    assert wait == pytest.approx(1.0)
    assert one.acquire("key-a") == pytest.approx(1.0)
    assert one.acquire("key-b") is None  # another key has its own bucket

    clock.now += 2.0  # two tokens back
    assert [other.acquire("key-a") for _ in range(2)] == [None, None]
    assert one.acquire("key-a") is not None


def test_a_full_table_reuses_refilled_slots_and_stays_bounded(tmp_path: Path) -> None:
    clock = Clock()
    limiter = SharedRateLimiter(tmp_path / "b", rate_per_second=10, burst=2, slots=16, clock=clock)
    for n in range(200):  # far more keys than slots: none is refused its first request
        assert limiter.acquire(f"key-{n}") is None
    assert (tmp_path / "b").stat().st_size == 16 * 24
    limiter.acquire("busy")
    limiter.acquire("busy")
    assert limiter.acquire("busy") is not None  # its bucket survived the crowd
    clock.now += 1.0
    assert limiter.acquire("busy") is None


def _take(path: str, count: int, queue: multiprocessing.Queue) -> None:
    limiter = SharedRateLimiter(Path(path), rate_per_second=0.001, burst=100)
    queue.put(sum(1 for _ in range(count) if limiter.acquire("shared-key") is None))


def test_processes_together_get_the_burst_and_no_more(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_take, args=(str(tmp_path / "b"), 60, queue)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    allowed = sum(queue.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(30)
    assert allowed == 100  # 180 asked across three processes; the burst is 100
