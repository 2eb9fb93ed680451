"""Rate limits and cache invalidation across hosts through a real Redis (issue 15,
ADR 0027): two clients stand for two hosts' API processes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from api.middleware import RequestRateLimiter
from core.redis_shared import RedisCounter, RedisRateLimiter, redis_client
from core.shared_counter import Watch
from tests.redis_server import RedisServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    running = RedisServer(tmp_path / "redis").start()
    yield running
    running.close()


@pytest.fixture
async def hosts(server: RedisServer) -> AsyncIterator[tuple[Redis, Redis]]:
    one, other = redis_client(server.url), redis_client(server.url)
    yield one, other
    await one.aclose()
    await other.aclose()


async def _until(condition: object, seconds: float = 10) -> None:
    """Wait for `condition()` (pub/sub delivery is asynchronous), failing after `seconds`."""
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_a_bump_on_one_host_moves_the_counter_on_another(
    hosts: tuple[Redis, Redis],
) -> None:
    here, there = (RedisCounter(client, "credentials") for client in hosts)
    await here.bump()  # before the other host follows: it reads the value on subscribing
    for counter in (here, there):
        counter.start()
        assert await counter.wait_following(5)
    assert there.value() == 1
    watch = Watch(there)

    await here.bump()

    await _until(watch.moved)
    assert there.value() == 2 and not watch.moved()
    for counter in (here, there):
        await counter.close()


async def test_rate_limits_are_counted_across_hosts(hosts: tuple[Redis, Redis]) -> None:
    one, other = (
        RedisRateLimiter(client, 0.01, 3, fallback=RequestRateLimiter(0.01, 3)) for client in hosts
    )
    assert [await one.acquire("key-a"), await other.acquire("key-a")] == [None, None]
    assert await one.acquire("key-a") is None
    wait = await other.acquire("key-a")  # the fourth, on either host: refused
    assert wait is not None and 90 < wait <= 100
    assert await other.acquire("key-b") is None  # another key has its own bucket


async def test_without_redis_nothing_is_cached_and_limits_fall_back_until_it_returns(
    server: RedisServer, hosts: tuple[Redis, Redis], caplog: pytest.LogCaptureFixture
) -> None:
    counter = RedisCounter(hosts[0], "run-signals", resubscribe_seconds=0.05)
    counter.start()
    assert await counter.wait_following(5)
    limiter = RedisRateLimiter(hosts[1], 0.01, 2, fallback=RequestRateLimiter(0.01, 1))
    assert await limiter.acquire("key") is None  # Redis's bucket: one of two taken
    watch = Watch(counter)

    server.stop()
    await _until(lambda: not counter.is_following)
    # Blind: every look sees a move, so a cache keyed on it keeps nothing.
    assert watch.moved() and watch.moved()
    with caplog.at_level(logging.WARNING, logger="core.redis_shared"):
        assert await limiter.acquire("key") is None  # the host's bucket: one of one
        assert await limiter.acquire("key") is not None
        assert await limiter.acquire("key") is not None
    assert [r.message for r in caplog.records].count(
        "Redis unreachable (ConnectionError): rate limits counted per host until it is back"
    ) == 1

    server.start()
    assert await counter.wait_following(5)
    watch.moved()  # from blind to the counter's value
    assert not watch.moved()  # and steady
    assert await limiter.acquire("key") is None  # a new server: a new, full bucket
    await counter.close()


async def test_a_bump_without_redis_is_logged_not_raised(
    server: RedisServer, hosts: tuple[Redis, Redis], caplog: pytest.LogCaptureFixture
) -> None:
    counter = RedisCounter(hosts[0], "credentials")
    server.stop()
    with caplog.at_level(logging.WARNING, logger="core.redis_shared"):
        await counter.bump()  # the revoke it follows is committed: it must still answer
    assert "other hosts apply it when their caches expire" in caplog.text
