"""The NYT stand-in for tests (the sandbox's own, supervisor/sandbox/nyt.py) and a clock a test moves by hand.

`nyt` fixture: `nyt.url`, `nyt.mode = "500"` (or "timeout", "garbage", "ok"), `nyt.wordle_solution(date)`,
`nyt.connections_groups(date)`, `nyt.requests`. `ManualClock`: hand it to the games cog (`cog.set_clock(clock)`),
then `await clock.advance(seconds)` instead of sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from supervisor.sandbox.nyt import NytStandIn


class ManualClock:
    """Time that moves only when the test says so; sleepers wake when it passes their deadline."""

    def __init__(self, start: float = 1000.0):
        self.time = start
        self._moved = asyncio.Condition()
        self.sleepers = 0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        deadline = self.time + seconds
        async with self._moved:
            self.sleepers += 1
            try:
                await self._moved.wait_for(lambda: self.time >= deadline)
            finally:
                self.sleepers -= 1

    async def advance(self, seconds: float) -> None:
        async with self._moved:
            self.time += seconds
            self._moved.notify_all()
        await asyncio.sleep(0)


@pytest_asyncio.fixture
async def nyt() -> AsyncIterator[NytStandIn]:
    stand_in = NytStandIn()
    await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()
