"""What a feature's Cog receives: one instance's resources, seen from one feature."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import structlog

from supervisor.ratelimit import SlidingWindowLimiter
from supervisor.safe_read import UnreadableFile, read_regular_file
from supervisor.sdk.clock import SystemClock
from supervisor.sdk.feature import Feature
from supervisor.sdk.periodic import Job, Periodic
from supervisor.sdk.rest import DISCORD_TIMEOUT, CallResult, discord_call
from supervisor.sdk.shared import Factory

if TYPE_CHECKING:
    from discord.ext import commands

    from supervisor.config import InstanceConfig
    from supervisor.instances import InstanceSpec
    from supervisor.runtime.context import InstanceContext

T = TypeVar("T")
WITHDRAW_DEADLINE = 5.0  # seconds a switched-off feature's tasks get to end after their cancel


class InstanceFileError(Exception):
    """A file of the instance folder that a feature needs is missing, too big, not a regular file or not text."""


def read_instance_text(folder: Path, instance: str, relative: str, max_bytes: int) -> str:
    label = f"{instance}/{relative}"
    base = folder.resolve()
    path = (folder / relative).resolve()  # follows symlinks, so a link pointing out is caught too
    if Path(relative).is_absolute() or not path.is_relative_to(base):
        raise InstanceFileError(f"{label}: must be a file inside the instance folder")
    try:
        data = read_regular_file(path, max_bytes)  # never blocks on a FIFO; the limit is checked before reading
    except FileNotFoundError:
        raise InstanceFileError(f"{label}: file not found") from None
    except UnreadableFile as error:
        raise InstanceFileError(f"{label}: {error}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InstanceFileError(f"{label}: not UTF-8 (byte {error.start})") from None


class FeatureContext:
    """Everything here belongs to one instance and dies with it, except `shared(...)` services."""

    def __init__(self, instance: InstanceContext, feature: Feature, *, spec: InstanceSpec | None = None):
        self._instance = instance
        self._feature = feature
        # While a live edit builds this feature's Cog, it sees the edit's spec; the instance still runs on the
        # old one until every new Cog loaded (then `follow_instance`).
        self._pending_spec = spec
        self.log: structlog.stdlib.BoundLogger = instance.log.bind(feature=feature.name)
        self._provided: list[str] = []
        self._listeners: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._jobs: list[Periodic] = []

    def follow_instance(self) -> None:
        """The edit this Cog was built for is now the instance's: read the live spec from here on."""
        self._pending_spec = None

    @property
    def _spec(self) -> InstanceSpec:
        return self._pending_spec or self._instance.spec

    # -- identity and live configuration ---------------------------------------------------------
    @property
    def name(self) -> str:
        """The instance's name (its folder)."""
        return self._instance.name

    @property
    def feature(self) -> str:
        return self._feature.name

    @property
    def config(self) -> InstanceConfig:
        """The current config: a live edit swaps it, and every reader sees the new one at once."""
        return self._spec.config

    @property
    def settings(self) -> Mapping[str, Any]:
        """This feature's own `[table]`, defaults filled in, live."""
        return self._spec.config.settings.get(self._feature.name, {})

    @property
    def pool(self) -> asyncpg.Pool:
        return self._instance.pool

    @property
    def bot(self) -> commands.Bot:
        bot = self._instance.bot
        assert bot is not None, "the bot is built before any Cog"
        return bot

    @property
    def clock(self) -> SystemClock:
        """The time: `clock.time()`, `clock.monotonic()`, `clock.utcnow()`, `await clock.sleep(s, wake_event)`.
        Read it instead of the `time` module, so tests move it (`FeatureHarness.advance`) instead of sleeping."""
        return self._instance.clock

    @property
    def started_at(self) -> float:
        """When this run of the instance began (time.time())."""
        return self._instance.started_at

    def command_start(self) -> str:
        """What a user types before a command name: `!` or `!m `."""
        return self._spec.config.command_start()

    def secret(self, key: str) -> str | None:
        """A value from this instance's `.env` (never the process environment)."""
        return self._spec.env.secrets.get(key)

    async def read_text(self, relative: str, *, max_bytes: int = 64 * 1024) -> str:
        """A UTF-8 text file inside this instance's folder, read now (so an edit applies at once) off the event
        loop. Raises `InstanceFileError` with a message naming the instance and the file."""
        return await asyncio.to_thread(read_instance_text, self._instance.spec.folder, self.name, relative, max_bytes)

    def supervisor_setting(self, key: str, default: str | None = None) -> str | None:
        """A supervisor-wide setting (a flag or the supervisor's environment), e.g. an upstream base URL."""
        return self._instance.shared.options.get(key, default)

    # -- work ------------------------------------------------------------------------------------
    def spawn(self, name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        """A background task of this instance; if it dies with an error, the instance restarts."""
        task = self._instance.spawn(f"{self._feature.name}:{name}", job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def every(self, name: str, interval: float | str | Callable[[], float], job: Job, *,
              wait_until_ready: bool = True, first_delay: float = 0.0, restart_on_error: bool = False) -> Periodic:
        """Run `job` periodically. `interval` is seconds, a key of this feature's settings (read live), or a
        function; the job may return the seconds until its next round instead (sleep until the next deadline).
        An error is logged and the next round runs; one that keeps failing shows in `status`. With
        `restart_on_error`, an error other than a database outage restarts the instance instead."""
        if isinstance(interval, str):
            key = interval
            interval_of: Callable[[], float] = lambda: float(self.settings[key])  # noqa: E731
        elif callable(interval):
            interval_of = interval
        else:
            seconds = float(interval)
            interval_of = lambda: seconds  # noqa: E731
        periodic = Periodic(self, name, interval_of, job, wait_until_ready=wait_until_ready,
                            first_delay=first_delay, restart_on_error=restart_on_error)
        self._jobs.append(periodic)
        return periodic

    @property
    def jobs(self) -> tuple[Periodic, ...]:
        """Every periodic job this feature started with `every` (their `rounds` count completed runs)."""
        return tuple(self._jobs)

    def on_config_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each live config edit is applied (read `settings` there for the new values).
        Forgotten when this feature is switched off."""
        self._instance.config_listeners.append(callback)
        self._listeners.append(callback)

    def limiter(self, name: str, limit: int, window_seconds: float) -> SlidingWindowLimiter:
        """This instance's own per-user rate limiter `name`, created on first use."""
        return self._instance.limiter(f"{self._feature.name}:{name}", limit, window_seconds)

    async def shared(self, key: str, factory: Factory[T]) -> T:
        """A process-wide service, created once by `factory` for every instance that asks, closed at shutdown."""
        return await self._instance.shared.get(key, factory)

    # -- between features of one instance ---------------------------------------------------------
    def provide(self, key: str, value: Any) -> None:
        """Offer something to this instance's other features (AI chat finds stock and moderation tools here).
        Withdrawn when this feature is switched off."""
        self._instance.services[key] = value
        self._provided.append(key)

    def lookup(self, key: str) -> Any | None:
        """What another feature of this instance provides under `key`, or None when it is off."""
        return self._instance.services.get(key)

    async def withdraw(self, deadline: float = WITHDRAW_DEADLINE) -> list[str]:
        """This feature is off (or its Cog never loaded): take back what it offered, then cancel what it started
        and wait for it, at most `deadline` seconds. Returns the names of tasks still running then: each is
        logged and shown in `status` until it ends (a task that swallows its cancel is a bug to see, not hide)."""
        for key in self._provided:
            self._instance.services.pop(key, None)
        self._provided.clear()
        for callback in self._listeners:
            self._instance.config_listeners.remove(callback)
        self._listeners.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if not tasks:
            return []
        ended_all = asyncio.Event()
        left = set(tasks)

        def one_ended(task: asyncio.Task[None]) -> None:
            left.discard(task)
            if not left:
                ended_all.set()

        for task in tasks:
            task.add_done_callback(one_ended)
        await self.clock.sleep(deadline, ended_all)  # on the feature's clock: a test moves it past the deadline
        pending = {task for task in tasks if not task.done()}
        if not pending:
            return []
        names = sorted(task.get_name() for task in pending)
        self.warn("withdraw", f"switched off, but still running after {deadline:g} s: {', '.join(names)}")
        self.log.error("feature_tasks_survived_withdraw", tasks=names, deadline_seconds=deadline)
        survivors = set(pending)

        def ended(task: asyncio.Task[None]) -> None:
            survivors.discard(task)
            if not survivors:
                self.clear_warning("withdraw")

        for task in pending:
            task.add_done_callback(ended)
        return names

    @property
    def tasks(self) -> frozenset[asyncio.Task[None]]:
        """This feature's background tasks still running here (its `spawn`s and `every`s)."""
        return frozenset(self._tasks)

    # -- Discord ---------------------------------------------------------------------------------
    async def discord(self, call: Awaitable[T], *, timeout: float = DISCORD_TIMEOUT) -> CallResult[T]:
        """One Discord REST call (e.g. `member.add_roles(role)`) within `timeout` seconds, its outcome
        classified: done, unknown target, forbidden, refused, rate limited or transient (see discord_call)."""
        return await discord_call(call, timeout=timeout)

    # -- status ----------------------------------------------------------------------------------
    def warn(self, key: str, message: str) -> None:
        """A warning shown in `status` until cleared (a deleted role, a job that keeps failing)."""
        self._instance.warnings[f"{self._feature.name}:{key}"] = message

    def clear_warning(self, key: str) -> None:
        self._instance.warnings.pop(f"{self._feature.name}:{key}", None)
