"""`DatabasePacer` spaces a vendor scope's requests across processes through Postgres.

Two pacers of one scope, each with a pool of its own, stand for two worker processes:
their turns interleave and are never closer than the rate allows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from itertools import pairwise

import pytest

from core.db import SessionFactory, make_engine, make_session_factory
from core.settings import Settings
from sandbox.app import EmulatorConfig
from services.vendors import DatabasePacer, VendorGateway
from tests.accounts import create_account

RATE = 20.0  # turns a second: 50 ms apart


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[list[SessionFactory]]:
    """Two connection pools, as two worker processes would have."""
    engines = [make_engine(database_url, pool_size=1) for _ in range(2)]
    yield [make_session_factory(engine) for engine in engines]
    for engine in engines:
        await engine.dispose()


async def take_turns(
    pacer: DatabasePacer, count: int, log: list[tuple[str, float]], name: str
) -> None:
    for _ in range(count):
        async with pacer:
            log.append((name, time.monotonic()))


async def test_turns_of_two_processes_are_spaced_by_the_rate(
    pools: list[SessionFactory],
) -> None:
    scope = f"test:{time.monotonic_ns()}"
    first, second = (DatabasePacer(pool, scope, RATE) for pool in pools)
    log: list[tuple[str, float]] = []
    # Each "process" also sends concurrently: several tasks share its pacer.
    await asyncio.gather(
        *(take_turns(first, 4, log, "first") for _ in range(2)),
        *(take_turns(second, 4, log, "second") for _ in range(2)),
    )
    await asyncio.gather(first.aclose(), second.aclose())
    moments = sorted(moment for _, moment in log)
    assert len(moments) == 16
    assert min(b - a for a, b in pairwise(moments)) >= 1 / RATE - 0.003
    assert {name for name, _ in log} == {"first", "second"}
    assert moments[-1] - moments[0] >= 15 / RATE - 0.01


async def test_other_scopes_do_not_wait(pools: list[SessionFactory]) -> None:
    slow = DatabasePacer(pools[0], f"slow:{time.monotonic_ns()}", 1.0)
    other = DatabasePacer(pools[1], f"other:{time.monotonic_ns()}", 1.0)
    async with slow:
        started = time.monotonic()
        async with other:
            assert time.monotonic() - started < 0.5
    await asyncio.gather(slow.aclose(), other.aclose())


async def test_a_cancelled_wait_gives_the_turn_back(pools: list[SessionFactory]) -> None:
    scope = f"cancel:{time.monotonic_ns()}"
    holder, waiter = (DatabasePacer(pool, scope, 0.5) for pool in pools)
    async with holder:  # held for two seconds
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(waiter.__aenter__(), timeout=0.3)
    await holder.aclose()
    await asyncio.wait_for(waiter.__aenter__(), timeout=5)  # neither lock is left behind
    await waiter.aclose()


async def test_vendor_clients_pace_each_printify_account_and_the_etsy_app(
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
    pools: list[SessionFactory],
) -> None:
    account = await create_account(sessions, settings.cipher, emulator_config)
    processes = [VendorGateway(sessions, settings, settings.cipher, pacing=p) for p in pools]
    try:
        printify = [
            await clients.printify(account.tenant_id, account.integrations["printify"])
            for clients in processes
        ]
        started = time.monotonic()
        await asyncio.gather(*(client.list_shops() for client in printify for _ in range(3)))
        # Six calls of one account from two "processes" at 5 a second: five gaps of 0.2 s.
        assert time.monotonic() - started >= 5 / settings.printify_rate_per_second - 0.02
    finally:
        for clients in processes:
            await clients.aclose()
