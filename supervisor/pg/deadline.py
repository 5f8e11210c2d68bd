"""An instance's pool where a database command has one deadline, `command_timeout`, from its call to its answer.

asyncpg's `command_timeout` bounds the query alone, and its connect `timeout` the opening of a connection: with
the server frozen, a command that needs a new connection took both, twice the documented limit. Here waiting for a
connection (or opening one) and the query share one budget; the query gets what the wait left.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from asyncpg.pool import PoolAcquireContext


class DeadlinePool(asyncpg.Pool):
    deadline: float  # seconds: [database] command_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        """A connection for a feature's own `async with pool.acquire()`: never waited for longer than the deadline."""
        return super().acquire(timeout=self.deadline if timeout is None else min(timeout, self.deadline))

    async def _within_deadline(self, method: str, timeout: float | None, *args: Any, **kwargs: Any) -> Any:
        limit = self.deadline if timeout is None else min(timeout, self.deadline)
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with super().acquire(timeout=limit) as connection:
            left = limit - (loop.time() - started)
            if left <= 0:
                raise TimeoutError
            return await getattr(connection, method)(*args, timeout=left, **kwargs)

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        return await self._within_deadline("execute", timeout, query, *args)  # type: ignore[no-any-return]

    async def executemany(self, command: str, args: Any, *, timeout: float | None = None) -> Any:
        return await self._within_deadline("executemany", timeout, command, args)

    async def fetch(self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> list[Any]:
        return await self._within_deadline(  # type: ignore[no-any-return]
            "fetch", timeout, query, *args, record_class=record_class)

    async def fetchval(self, query: str, *args: Any, column: int = 0, timeout: float | None = None) -> Any:
        return await self._within_deadline("fetchval", timeout, query, *args, column=column)

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> Any:
        return await self._within_deadline("fetchrow", timeout, query, *args, record_class=record_class)

    async def fetchmany(self, query: str, args: Any, *, timeout: float | None = None, record_class: Any = None
                        ) -> list[Any]:
        return await self._within_deadline(  # type: ignore[no-any-return]
            "fetchmany", timeout, query, args, record_class=record_class)


async def create_deadline_pool(url: str | None, *, command_timeout: float, **options: Any) -> DeadlinePool:
    """asyncpg.create_pool's arguments; every command of the pool answers within `command_timeout` in all."""
    options.setdefault("connection_class", asyncpg.Connection)
    options.setdefault("record_class", asyncpg.Record)
    options.setdefault("max_queries", 50000)
    options.setdefault("loop", None)
    pool = DeadlinePool(url, command_timeout=command_timeout, timeout=command_timeout, **options)
    pool.deadline = command_timeout
    await pool
    return pool
