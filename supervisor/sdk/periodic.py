"""A feature's periodic job: its interval read live, errors logged and the next round run, wakeable early.

A job may return a number of seconds to sleep until the next round (a sweeper sleeping until the next
expiry); otherwise the interval applies. `wake()` runs the next round at once (a tempban was just written), and
a live config edit that changes the interval wakes it too. Between rounds the task only sleeps: an idle instance
runs no query and wakes no task until the next round is due.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from supervisor.database import is_database_unavailable

if TYPE_CHECKING:
    from supervisor.sdk.context import FeatureContext

FAILURES_BEFORE_WARNING = 3

Job = Callable[[], Awaitable[float | None]]


class Periodic:
    def __init__(self, ctx: FeatureContext, name: str, interval: Callable[[], float], job: Job,
                 *, wait_until_ready: bool, first_delay: float, restart_on_error: bool = False):
        self.ctx = ctx
        self.name = name
        self._interval = interval
        self._job = job
        self._wake = asyncio.Event()
        self._wait_until_ready = wait_until_ready
        self._first_delay = first_delay
        self._restart_on_error = restart_on_error
        self._slept_interval: float | None = None  # the interval the current sleep was planned with
        self.failures = 0  # consecutive
        self.rounds = 0
        self.task = ctx.spawn(name, self._run)
        ctx.on_config_change(self._config_changed)

    def wake(self) -> None:
        """Run the next round now instead of at its scheduled time."""
        self._wake.set()

    def cancel(self) -> None:
        self.task.cancel()

    def _config_changed(self) -> None:
        if self._slept_interval is not None and self._interval() != self._slept_interval:
            self.wake()  # a shorter interval must not wait out the longer one

    async def _run(self) -> None:
        if self._wait_until_ready and self.ctx.bot is not None:
            await self.ctx.bot.wait_until_ready()
        await self._sleep(self._first_delay)
        while True:
            self._wake.clear()
            delay = await self._round()
            self._slept_interval = self._interval()
            await self._sleep(self._slept_interval if delay is None else max(0.0, delay))

    async def _round(self) -> float | None:
        try:
            result = await self._job()
        except Exception as error:
            self.failures += 1
            outage = is_database_unavailable(error)
            if self._restart_on_error and not outage:
                raise  # a bug: this run of the instance ends and the restart starts afresh
            if outage:
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
        # On the feature's clock (tests move it), in a cancel scope: a wake-up racing a cancel cannot swallow it.
        await self.ctx.clock.sleep(seconds, self._wake)
