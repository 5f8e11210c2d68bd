"""The connection budget: a burst across many pools waits for connections instead of failing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from supervisor.database import IDLE_CONNECTION_SECONDS, open_pool
from supervisor.pg.budget import HEADROOM, ConnectionBudget, ServerLimits, fit_message, read_limits
from tests.support import SMALL_MAX_CONNECTIONS, eventually

PROBE = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"


@contextlib.asynccontextmanager
async def watching(url: str) -> AsyncIterator[list[int]]:
    """Sample the server's client connections (the watcher's own excluded) while the block runs."""
    samples: list[int] = []
    connection = await asyncpg.connect(url)
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            samples.append(await connection.fetchval(PROBE) - 1)
            await asyncio.sleep(0.005)

    task = asyncio.create_task(sample())
    try:
        yield samples
    finally:
        stop.set()
        await task
        await connection.close()


async def _limits(url: str) -> ServerLimits:
    connection = await asyncpg.connect(url)
    try:
        return await read_limits(connection)
    finally:
        await connection.close()


async def _burst(pools: list[asyncpg.Pool], per_pool: int) -> list[BaseException | int]:
    async def one(pool: asyncpg.Pool) -> int:
        return await pool.fetchval("SELECT 1 FROM pg_sleep(0.05)")
    return await asyncio.gather(*(one(pool) for pool in pools for _ in range(per_pool)), return_exceptions=True)


async def test_a_burst_across_many_pools_waits_instead_of_failing(small_server: str) -> None:
    limits = await _limits(small_server)
    assert limits.max_connections == SMALL_MAX_CONNECTIONS
    budget = ConnectionBudget(limits.budget)
    pools = [await open_pool(small_server, f"burst_{i}", 3, budget=budget) for i in range(40)]
    try:
        async with watching(small_server) as used:
            results = await _burst(pools, 3)  # 120 queries at once, far past the server's 30
        assert results == [1] * 120
        assert budget.waits > 0 and budget.peak == budget.limit
        # A connection the budget closed to free its slot is still listed until its backend process has exited,
        # so the server may briefly show one or two more; the headroom left outside the budget absorbs them.
        assert max(used) <= limits.budget + HEADROOM <= limits.max_connections - limits.reserved
    finally:
        await asyncio.gather(*(pool.close() for pool in pools))
    await eventually(lambda: budget.open == 0)  # every connection handed back once the pools are closed


async def test_the_same_burst_without_a_budget_fails(small_server: str) -> None:
    """What the budget prevents: plain pools get 'too many clients'."""
    pools = [await asyncpg.create_pool(small_server, min_size=0, max_size=3) for _ in range(40)]
    try:
        results = await _burst(pools, 3)
    finally:
        await asyncio.gather(*(pool.close() for pool in pools))
    assert any(isinstance(result, asyncpg.TooManyConnectionsError) for result in results)


async def test_an_idle_connection_is_given_back_to_a_waiter_at_once(small_server: str) -> None:
    budget = ConnectionBudget(1)
    first = await open_pool(small_server, "idle_a", 2, budget=budget)
    second = await open_pool(small_server, "idle_b", 2, budget=budget)
    try:
        await first.fetchval("SELECT 1")  # leaves its connection idle in `first`, holding the only slot
        assert first.get_idle_size() == 1 and budget.open == 1
        started = time.monotonic()
        assert await second.fetchval("SELECT current_schema()") is None  # idle_b does not exist: NULL
        assert time.monotonic() - started < IDLE_CONNECTION_SECONDS / 10  # not held until the idle timeout
        assert first.get_idle_size() == 0 and budget.open == 1
    finally:
        await first.close()
        await second.close()


async def test_a_released_connection_is_still_reset(small_server: str) -> None:
    """The budget's release hook replaces asyncpg's own; session state must not leak to the next user."""
    budget = ConnectionBudget(2)
    pool = await open_pool(small_server, "reset_me", 1, budget=budget)
    try:
        async with pool.acquire() as connection:
            await connection.execute("SET work_mem = '7MB'")
        async with pool.acquire() as connection:
            assert await connection.fetchval("SHOW work_mem") != "7MB"
            assert await connection.fetchval("SHOW search_path") == '"reset_me"'
    finally:
        await pool.close()


async def test_a_server_full_of_other_clients_is_waited_for(small_server: str) -> None:
    """Other programs may take the slots the budget counted on: wait for them rather than fail."""
    budget = ConnectionBudget(5)
    pool = await open_pool(small_server, "patient", 1, budget=budget)
    await pool.expire_connections()
    hogs: list[asyncpg.Connection] = []
    with contextlib.suppress(asyncpg.TooManyConnectionsError):
        while len(hogs) < 100:
            hogs.append(await asyncpg.connect(small_server))
    assert len(hogs) < 100

    async def let_go() -> None:
        await asyncio.sleep(0.5)
        await asyncio.gather(*(hog.close() for hog in hogs[-3:]))

    release = asyncio.create_task(let_go())
    try:
        assert await pool.fetchval("SELECT 42") == 42
    finally:
        await release
        await asyncio.gather(*(hog.close() for hog in hogs[:-3]))
        await pool.close()


def test_the_fit_message_gives_the_numbers_and_the_remedy() -> None:
    limits = ServerLimits("16.2", max_connections=100, reserved=3, in_use=3)
    fits, message = fit_message("localhost:5432", limits, {f"bot{i}": 2 for i in range(300)},
                                "ALTER SYSTEM SET max_connections = N")
    assert not fits
    assert limits.budget == 100 - 3 - 2 - HEADROOM
    assert "300 instances on localhost:5432 may open up to 600 connections" in message
    assert f"100 (max_connections) - 3 reserved - 2 used by other clients - {HEADROOM} kept free = 90" in message
    assert f"raise max_connections to at least {600 + 3 + 2 + HEADROOM}" in message
    assert "lower pool_max_size" in message and "waits for a free connection" in message
    fits, message = fit_message("localhost:5432", limits, {"a": 2, "b": 5}, "...")
    assert fits and message.endswith("fits")


@pytest.mark.parametrize("limit", [0, -1])
def test_a_budget_needs_a_connection(limit: int) -> None:
    with pytest.raises(ValueError):
        ConnectionBudget(limit)


async def test_a_raised_limit_lets_the_waiting_in_at_once() -> None:
    """A budget sized while the server was full of other clients grows when they leave (Databases re-reads the
    server while connections wait): those waiting get the new room without waiting for a slot to free."""
    budget = ConnectionBudget(1)
    held, entered = asyncio.Event(), []

    async def one(name: str) -> None:
        async with budget.slot():
            entered.append(name)
            await held.wait()

    tasks = [asyncio.create_task(one(name)) for name in ("first", "second", "third", "fourth")]
    await eventually(lambda: budget.waiting == 3)
    assert entered == ["first"]
    budget.raise_limit(3)
    await eventually(lambda: len(entered) == 3)
    assert budget.waiting == 1 and budget.open == 3
    budget.raise_limit(2)  # never lowered
    assert budget.limit == 3
    held.set()
    await asyncio.gather(*tasks)
    assert budget.open == 0 and budget.waiting == 0
