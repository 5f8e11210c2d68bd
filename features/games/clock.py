"""The games' time source: a game's idle expiry and the 2-second life of "Not a valid word." read it.

A test swaps the cog's `clock` for one it moves by hand, so it never waits 30 minutes (or 2 seconds).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class TimeSource(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class Clock:
    """The real one."""

    def now(self) -> float:
        """Seconds on a monotonic scale: only differences mean anything."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
