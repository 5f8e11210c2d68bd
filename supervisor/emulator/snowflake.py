"""Snowflake ids with a real timestamp component, so `discord.utils.snowflake_time` works on them."""

from __future__ import annotations

import datetime as dt

DISCORD_EPOCH_MS = 1_420_070_400_000


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def snowflake_time(snowflake: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, dt.UTC)


def iso(when: dt.datetime | None) -> str | None:
    """Discord's timestamp format (ISO 8601 with offset)."""
    return None if when is None else when.astimezone(dt.UTC).isoformat()


class SnowflakeGenerator:
    """Per-emulator id source: unique, and increasing for ids made at "now"."""

    def __init__(self, worker: int = 1, process: int = 1) -> None:
        self._prefix = ((worker & 0x1F) << 17) | ((process & 0x1F) << 12)
        self._last_ms = 0
        self._increment = 0

    def next(self, at: dt.datetime | None = None) -> int:
        if at is None:
            ms = int(utcnow().timestamp() * 1000)
            # Clock steps backwards or repeats within a millisecond must not reorder ids.
            ms = max(ms, self._last_ms)
            self._last_ms = ms
        else:
            ms = int(at.timestamp() * 1000)
        self._increment = (self._increment + 1) & 0xFFF
        if self._increment == 0 and at is None:
            # 4096 ids in one millisecond: borrow the next millisecond to stay unique.
            self._last_ms += 1
            ms = self._last_ms
        return ((ms - DISCORD_EPOCH_MS) << 22) | self._prefix | self._increment
