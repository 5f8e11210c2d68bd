"""The time a feature sees: `ctx.clock`. Tests move it (`FeatureHarness.advance(seconds)`) instead of sleeping.

`SystemClock` is the real time. `AdjustableClock` is the real time plus an offset that `advance` grows: a sleep on
it ends when real time or an advance reaches its deadline, so a test runs a 10-minute timer at once while
everything else keeps running in real time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any


class SystemClock:
    """Wall-clock and monotonic time, and sleeps that a wake-up event may cut short."""

    def time(self) -> float:
        """Seconds since the epoch (as `time.time()`)."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (as `time.monotonic()`): for intervals and deadlines."""
        return time.monotonic()

    def utcnow(self) -> dt.datetime:
        """The current time as an aware UTC datetime (for rows and Discord timestamps)."""
        return dt.datetime.fromtimestamp(self.time(), dt.UTC)

    async def sleep(self, seconds: float, wake: asyncio.Event | None = None) -> bool:
        """Sleep `seconds`, or until `wake` is set: True when woken. A cancel always ends it (a cancel scope,
        never `wait_for(event.wait())`, which can swallow a cancel on Python 3.11)."""
        if wake is None:
            await asyncio.sleep(max(0.0, seconds))
            return False
        if wake.is_set():
            return True
        try:
            async with asyncio.timeout(max(0.0, seconds)):
                await wake.wait()
        except TimeoutError:
            return False
        return True


class AdjustableClock(SystemClock):
    """The real time plus an offset that `advance` moves forward (tests; never in production)."""

    SETTLE_SECONDS = 10.0  # how long `advance` waits (real time) for the sleepers it woke to sleep again

    def __init__(self) -> None:
        self.offset = 0.0
        self._moved = asyncio.Event()  # set and replaced by each advance: sleepers recompute their deadline
        self._sleeping: dict[asyncio.Task[Any], float] = {}  # task -> the deadline it sleeps until

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    async def advance(self, seconds: float) -> None:
        """Move the clock forward. Sleeps whose deadline is passed end; this returns once each of their tasks
        has finished or sleeps again (a periodic job's round done), at most SETTLE_SECONDS of real time later,
        so the next advance is not lost on a job still busy with the last one."""
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        self.offset += seconds
        now = self.monotonic()
        due = [task for task, deadline in self._sleeping.items() if deadline <= now]
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.SETTLE_SECONDS
        while loop.time() < give_up and not all(task.done() or self._sleeping.get(task, now) > now for task in due):
            await asyncio.sleep(0.01)

    async def sleep(self, seconds: float, wake: asyncio.Event | None = None) -> bool:
        deadline = self.monotonic() + seconds
        task = asyncio.current_task()
        if task is not None:
            self._sleeping[task] = deadline
        try:
            return await self._sleep_until(deadline, wake)
        finally:
            if task is not None:
                self._sleeping.pop(task, None)

    async def _sleep_until(self, deadline: float, wake: asyncio.Event | None) -> bool:
        while (remaining := deadline - self.monotonic()) > 0:
            if wake is not None and wake.is_set():
                return True
            events = [self._moved] if wake is None else [self._moved, wake]
            waiters = [asyncio.ensure_future(event.wait()) for event in events]
            try:
                async with asyncio.timeout(remaining):
                    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            except TimeoutError:
                pass
            finally:
                for waiter in waiters:
                    waiter.cancel()
        return bool(wake is not None and wake.is_set())
