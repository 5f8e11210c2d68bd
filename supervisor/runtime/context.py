"""Everything one instance owns, in one object that dies with it: no per-instance module-level state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog

from supervisor.config import InstanceConfig
from supervisor.instances import InstanceSpec
from supervisor.ratelimit import SlidingWindowLimiter
from supervisor.runtime.activity import mark
from supervisor.runtime.containment import culprit, must_contain
from supervisor.runtime.counters import InstanceCounters
from supervisor.sdk.clock import SystemClock
from supervisor.sdk.shared import SharedServices

if TYPE_CHECKING:
    from discord.ext import commands


class FeatureTaskCrashed(Exception):
    """A feature's background task died: the instance restarts."""


@dataclass
class InstanceContext:
    spec: InstanceSpec
    pool: asyncpg.Pool
    log: structlog.stdlib.BoundLogger
    shared: SharedServices  # the process's; not this instance's to close
    clock: SystemClock = field(default_factory=SystemClock)  # the time features see (tests move it)
    started_at: float = field(default_factory=time.time)
    bot: commands.Bot | None = None
    counters: InstanceCounters = field(default_factory=InstanceCounters)  # the runner's, read by /metrics
    # Set when a feature's background task dies; the supervisor restarts the instance.
    crashed: asyncio.Future[BaseException] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    services: dict[str, Any] = field(default_factory=dict)  # what one feature offers the others (ctx.provide)
    warnings: dict[str, str] = field(default_factory=dict)  # shown in status until a feature clears them
    config_listeners: list[Callable[[], None]] = field(default_factory=list)  # FeatureContext.on_config_change
    # Applies the migrations of the features a config switches on (the runner's; None in a bare context).
    migrate_features: Callable[[InstanceConfig], Coroutine[Any, Any, None]] | None = None
    lease_valid: Callable[[], bool] = lambda: True  # the fencing gate (supervisor/hosts): False = send nothing
    _limiters: dict[str, SlidingWindowLimiter] = field(default_factory=dict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def config(self) -> InstanceConfig:
        """The current config: a live edit swaps `spec`, and every reader sees the new one at once."""
        return self.spec.config

    def config_changed(self) -> None:
        """A live edit swapped `spec`: tell the features that asked (a periodic job re-reads its interval)."""
        for callback in list(self.config_listeners):
            try:
                callback()
            except Exception as error:  # one feature's listener must not stop the edit reaching the others
                self.log.error("config_listener_failed", error=repr(error), exc_info=error)

    def secret(self, key: str) -> str | None:
        return self.spec.env.secrets.get(key)

    def limiter(self, name: str, limit: int, window_seconds: float) -> SlidingWindowLimiter:
        """This instance's own rate limiter `name`, created on first use."""
        limiter = self._limiters.get(name)
        if limiter is None:
            limiter = self._limiters[name] = SlidingWindowLimiter(limit, window_seconds)
        return limiter

    def crash(self, reason: str, error: BaseException | None = None) -> None:
        """Restart this instance (and only it): feature code raised what must never reach the event loop."""
        if not self.crashed.done():
            self.log.error("instance_crashed", reason=reason, exc_info=error)  # a bug: its traceback helps
            self.crashed.set_result(FeatureTaskCrashed(reason))

    def spawn(self, name: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        """Run a feature's background task; if it dies with an error, the instance is restarted."""
        async def guarded() -> None:
            mark(self.name, f"task {name}")
            try:
                await factory()
            except BaseException as error:  # KeyboardInterrupt, SystemExit... would end the loop and every bot
                if not must_contain(error):
                    raise
                raise FeatureTaskCrashed(f"background task {name!r} ({culprit(error.__traceback__)[1]}) "
                                         f"raised {error!r}") from None

        task = asyncio.get_running_loop().create_task(guarded(), name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(name, t))
        return task

    def _task_done(self, name: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not self.crashed.done():
            self.log.error("feature_task_crashed", task=name, error=repr(error))
            self.crashed.set_result(FeatureTaskCrashed(f"background task {name!r} crashed: {error!r}"))

    async def cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
