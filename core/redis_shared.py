"""What the API processes share when they run on several hosts: `REDIS_URL` (issue 15).

Without Redis the host's processes share a counter and token buckets through memory-
mapped files (`core.shared_counter`, `core.shared_buckets`); a second host would count
and forget on its own. With `REDIS_URL` set:

- `RedisCounter` keeps a counter in Redis. `bump()` increments it and publishes the new
  value; every process follows the channel, so `value()` is a read of memory — the
  requests that only read it make no round trip. A process that is not following (Redis
  down, the subscription lost) cannot know what it missed: its `value()` then moves on
  every call, so caches keyed on it hold nothing until it follows again, and on
  resubscribing it reads the counter afresh.
- `RedisRateLimiter` keeps each key's token bucket in Redis, taken by one Lua script
  (atomic, with Redis's clock: one clock for every host). When Redis cannot be reached
  it counts with the host's own limiter instead of refusing or waving requests through,
  and says so in the log once per outage.

ADR 0027 records the choices.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from core.shared_buckets import checked_rate

log = logging.getLogger(__name__)

PREFIX = "pod:"


def redis_client(url: str) -> Redis:
    """A client that fails fast: a request never waits seconds on a dead Redis (the
    callers fall back), and the subscriber resubscribes by itself (`RedisCounter`)."""
    return Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=15,
    )


class RedisCounter:
    """A counter every process on every host follows; see the module's docstring."""

    def __init__(self, client: Redis, name: str, *, resubscribe_seconds: float = 0.5) -> None:
        self._client = client
        self._key = f"{PREFIX}counter:{name}"
        self._channel = self._key
        self._resubscribe_seconds = resubscribe_seconds
        self._value = 0
        self._following = asyncio.Event()
        self._blind = itertools.count(-1, -1)  # never a value of the counter itself
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Follow the counter from now on (call from the running event loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name=f"follow {self._key}")

    @property
    def is_following(self) -> bool:
        return self._following.is_set()

    async def wait_following(self, wait_seconds: float) -> bool:
        """Whether the counter is followed within `wait_seconds` (startup, tests)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._following.wait(), wait_seconds)
        return self._following.is_set()

    def value(self) -> int:
        if self._following.is_set():
            return self._value
        return next(self._blind)

    async def bump(self) -> int:
        """Increment and tell every follower. The change that asks for it is committed:
        if Redis is away it still answers, the other hosts applying it when their
        caches expire (said in the log)."""
        try:
            value = int(await self._client.incr(self._key))
            await self._client.publish(self._channel, value)
        except (RedisError, OSError) as error:
            log.warning(
                "could not publish %s (%s): other hosts apply it when their caches expire",
                self._key,
                type(error).__name__,
            )
            return self.value()
        self._value = max(self._value, value)
        return value

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self) -> None:
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    await pubsub.get_message(timeout=self._resubscribe_seconds)  # subscribed
                    # Read after subscribing: no bump falls between the two.
                    self._value = max(self._value, int(await self._client.get(self._key) or 0))
                    self._following.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._value = max(self._value, int(message["data"]))
            except (RedisError, OSError, ValueError) as error:
                if self._following.is_set():
                    log.warning("lost Redis counter %s: %s", self._key, type(error).__name__)
            finally:
                self._following.clear()
            await asyncio.sleep(self._resubscribe_seconds)


class HostLimiter(Protocol):
    def acquire(self, key: str) -> float | None: ...


# KEYS[1]: the bucket; ARGV: rate per second, burst. Returns "" when a token was taken,
# else the seconds until the next one (text: Lua numbers become integers on the way out).
_BUCKET_SCRIPT = """
local now = redis.call('TIME')
local now_s = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1])
if tokens == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now_s - tonumber(bucket[2])) * rate)
end
local wait = ''
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = tostring((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now_s))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
"""


class RedisRateLimiter:
    """`burst` requests at once per key, refilled at `rate_per_second`, counted in Redis
    by every process of every host; the host's `fallback` counts while Redis is away."""

    def __init__(
        self, client: Redis, rate_per_second: float, burst: int, fallback: HostLimiter
    ) -> None:
        self.rate = checked_rate(rate_per_second, burst)
        self.burst = burst
        self._fallback = fallback
        self._script = client.register_script(_BUCKET_SCRIPT)
        self._degraded = False

    async def acquire(self, key: str) -> float | None:
        try:
            wait = await self._script(keys=[f"{PREFIX}rate:{key}"], args=[self.rate, self.burst])
        except (RedisError, OSError) as error:
            if not self._degraded:
                self._degraded = True
                log.warning(
                    "Redis unreachable (%s): rate limits counted per host until it is back",
                    type(error).__name__,
                )
            return self._fallback.acquire(key)
        if self._degraded:
            self._degraded = False
            log.warning("Redis reachable again: rate limits counted across hosts")
        return float(wait) if wait else None
