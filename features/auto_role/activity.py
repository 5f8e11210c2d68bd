"""Message counts kept in memory and written in batches: a busy guild costs one write per flush, not per message.

Nothing counted is lost on a clean stop: the Cog flushes when it is unloaded (a stop, a restart, the feature
switched off). A flush that fails (the database is down) puts its counts back for the next one.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg

from . import queries

Key = tuple[int, int]  # (guild_id, user_id)


class ActivityCounter:
    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool
        self._pending: dict[Key, int] = {}
        self._joined: dict[Key, dt.datetime | None] = {}
        self._lock = asyncio.Lock()  # one flush at a time, so a shutdown flush waits for one in flight
        self.writes = 0  # statements that wrote counts (the benchmark reads it)
        self.counted = 0  # messages recorded

    def record(self, guild_id: int, user_id: int, joined_at: dt.datetime | None) -> None:
        key = (guild_id, user_id)
        self._pending[key] = self._pending.get(key, 0) + 1
        if joined_at is not None or key not in self._joined:
            self._joined[key] = joined_at
        self.counted += 1

    def pending(self, guild_id: int, user_id: int) -> int:
        """Messages of this member not written yet."""
        return self._pending.get((guild_id, user_id), 0)

    def pending_total(self) -> int:
        return sum(self._pending.values())

    async def flush(self) -> list[asyncpg.Record]:
        """Write every pending count in one statement; returns the rows' new totals.

        A cancelled caller (a periodic job stopped with its instance) never cuts a write in half: the write runs
        on, and a later flush (the one at stop) waits for it on the lock, then writes the rest."""
        return await asyncio.shield(self._flush())

    async def _flush(self) -> list[asyncpg.Record]:
        async with self._lock:
            if not self._pending:
                return []
            batch, joined = self._pending, self._joined
            self._pending, self._joined = {}, {}
            increments = [queries.Increment(g, u, n, joined.get((g, u))) for (g, u), n in batch.items()]
            try:
                rows = await queries.add_counts(self._pool, increments)
            except Exception:
                self._restore(batch, joined)
                raise
            self.writes += 1
            return rows

    def _restore(self, batch: dict[Key, int], joined: dict[Key, dt.datetime | None]) -> None:
        for key, count in batch.items():
            self._pending[key] = self._pending.get(key, 0) + count
            if self._joined.get(key) is None:
                self._joined[key] = joined.get(key)
