"""A feature's periodic job: its interval read live, errors logged and the next round run, wakeable early.

A job may return a number of seconds to sleep until the next round (a sweeper sleeping until the next
expiry); otherwise the interval applies. `wake()` runs the next round at once (a tempban was just written).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from supervisor.database import is_database_unavailable

if TYPE_CHECKING:
    from supervisor.sdk.context import FeatureContext

FAILURES_BEFORE_WARNING = 3

Job = Callable[[], Awaitable[float | None]]


class Periodic:
    def __init__(self, ctx: FeatureContext, name: str, interval: Callable[[], float], job: Job,
                 *, wait_until_ready: bool, first_delay: float):
        self.ctx = ctx
        self.name = name
        self._interval = interval
        self._job = job
        self._wake = asyncio.Event()
        self._wait_until_ready = wait_until_ready
        self._first_delay = first_delay
        self.failures = 0  # consecutive
        self.rounds = 0
        self.task = ctx.spawn(name, self._run)

    def wake(self) -> None:
        """Run the next round now instead of at its scheduled time."""
        self._wake.set()

    def cancel(self) -> None:
        self.task.cancel()

    async def _run(self) -> None:
        if self._wait_until_ready and self.ctx.bot is not None:
            await self.ctx.bot.wait_until_ready()
        await self._sleep(self._first_delay)
        while True:
            self._wake.clear()
            delay = await self._round()
            await self._sleep(self._interval() if delay is None else max(0.0, delay))

    async def _round(self) -> float | None:
        try:
            result = await self._job()
        except Exception as error:
            self.failures += 1
            if is_database_unavailable(error):
                self.ctx.log.warning("periodic_job_failed", job=self.name, reason="database unavailable",
                                     error=repr(error), failures=self.failures)
            else:
                self.ctx.log.error("periodic_job_failed", job=self.name, error=repr(error),
                                   failures=self.failures, exc_info=error)
            if self.failures >= FAILURES_BEFORE_WARNING:
                self.ctx.warn(f"job:{self.name}", f"job {self.name!r} failed {self.failures} times in a row: "
                                                  f"{type(error).__name__}")
            return None
        self.rounds += 1
        if self.failures:
            self.failures = 0
            self.ctx.clear_warning(f"job:{self.name}")
        return result

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
