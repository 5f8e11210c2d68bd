"""One supervisor task per instance: start, run, restart with backoff, fail permanently, stop.

starting -> running -> (reloading) -> backoff -> failed | stopped
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog

from supervisor import registry
from supervisor.config import InstanceConfig
from supervisor.daemon.outcomes import permanent_reason, unreachable_reason
from supervisor.daemon.restart_fields import restart_reasons
from supervisor.daemon.status import InstanceStatus, Phase, State
from supervisor.database import DatabaseError, is_database_unavailable, open_pool
from supervisor.hosts.holder import Holder, LeaseInterrupted
from supervisor.instances import InstanceSpec
from supervisor.logs import get_logger
from supervisor.migrator import Migration, MigrationError, migrate
from supervisor.needs import intents_refused
from supervisor.pg.bundled import BundledError, BundledRefused
from supervisor.pg.service import Databases
from supervisor.runtime import containment
from supervisor.runtime.bot_factory import FeatureLoadError, InstanceBot
from supervisor.runtime.context import InstanceContext
from supervisor.runtime.counters import InstanceCounters, current_counters
from supervisor.sdk.clock import SystemClock
from supervisor.sdk.shared import SharedServices

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
DISCORD_BACKOFF_MAX = 300.0  # Discord unreachable: keep trying, at least every 5 minutes, forever
LEASE_POLL_SECONDS = 1.0  # a daemon asks this often whether an instance placed on it is free to take
BACKOFF_RESET_AFTER = 300.0  # up this long: the next crash starts the backoff from the beginning again
CRASH_LOOP_COUNT = 5
CRASH_LOOP_WINDOW = 60.0
CLOSE_TIMEOUT = 5.0
# A frozen database must not hold up a stop (the daemon's SIGTERM has 10 s for everything): closing the pool and
# releasing the lease get this long each; after that the connections are cut, which frees the lease as well.
DATABASE_CLOSE_SECONDS = 2.0
CONNECT_GATE_SECONDS = 30.0  # the longest one bot holds its place in the start wave (see _connect)


@dataclass(frozen=True)
class RuntimeOptions:
    guild_ready_timeout: float = 2.0
    backoff_first: float = BACKOFF_FIRST
    discord_backoff_max: float = DISCORD_BACKOFF_MAX
    lease_poll: float = LEASE_POLL_SECONDS
    # Supervisor-wide settings features read through the kit (upstream base URLs such as finnhub_url).
    upstreams: Mapping[str, str] = field(default_factory=dict)
    discord_defaults: bool = False  # discord.py's own caches, compression, reads (bench/chatter.py compares)
    on_bot_closed: Callable[[], None] = lambda: None  # the daemon's heap freezer counts closed bots
    on_running: Callable[[], None] = lambda: None  # ...and instances that reached running (start waves)
    clock: SystemClock = field(default_factory=SystemClock)  # features' time (ctx.clock); tests move theirs


class PermanentFailure(Exception):
    """Retrying cannot help until the instance's files change."""


class TransientFailure(Exception):
    """Retry later (Postgres down); not counted as a crash."""


class DiscordUnreachable(Exception):
    """The network or Discord is down: wait and retry with a growing delay, never give up."""


class InstanceRunner:
    def __init__(self, spec: InstanceSpec, migrations: list[Migration], options: RuntimeOptions,
                 startup_gate: asyncio.Semaphore, databases: Databases, shared: SharedServices,
                 connect_gate: asyncio.Semaphore | None = None):
        self.spec = spec  # the last good spec
        self.connect_gate = connect_gate  # the fleet's: how many bots log in and wait for READY at once
        self.shared = shared
        self.databases = databases
        self.startup_gate = startup_gate
        self.migrations = migrations
        self.options = options
        self.status = InstanceStatus(spec.name)
        self.counters = InstanceCounters()  # kept across restarts: /metrics shows counters that only increase
        self.log = get_logger("supervisor.instance", instance=spec.name)
        self.ctx: InstanceContext | None = None
        self._task: asyncio.Task[None] | None = None
        self.applying = asyncio.Lock()  # one config edit applied at a time
        self.rejected_spec: InstanceSpec | None = None  # an edit whose Cogs failed to load: not retried as is
        self._wake = asyncio.Event()
        self._stopping = False
        self._reached_discord = False  # the last run got as far as a working connection
        self._lease: tuple[str, str] | None = None  # (url, schema) whose lease this runner holds
        self.elsewhere: Holder | None = None  # who holds it (or where it is placed) while it runs elsewhere
        self._database_url: str | None = None  # the URL the current run's pool was opened on
        self._offered: tuple[str, str] | None = None  # (url, schema) this runner has a row for in the fleet table
        self._fenced = False  # the lease was lost: this run ends without counting as a crash
        self._handing_off = False  # placed on another daemon: stop the bot and release the lease
        self._last_crash: str | None = None  # stays in `last_error` once the restart runs: what to look into

    # -- the lease (supervisor/hosts: fencing and placement) -------------------------------------------
    @property
    def instance_name(self) -> str:
        return self.spec.name

    def lease_lost(self) -> None:
        """Synchronous: the bot sends nothing more from now on, and its gateway socket is cut."""
        self._fenced = True
        self._lease = None
        bot = self.ctx.bot if self.ctx is not None else None
        if isinstance(bot, InstanceBot):
            bot.fence()
        self._wake.set()

    def hand_off(self) -> None:
        self._handing_off = True
        self._wake.set()

    def fleet_state(self) -> tuple[str, float]:
        return str(self.status.state), self.status.since

    def fleet_state_changed(self) -> None:
        """The status changed: the fleet table hears of it at the next lease heartbeat."""
        if self._offered is not None:
            self.databases.leases.mark(*self._offered)

    # -- control ---------------------------------------------------------------------------------
    def start(self) -> None:
        # Every log line of this instance's tasks, discord.py's own included, carries instance=<name>.
        context = contextvars.copy_context()
        context.run(structlog.contextvars.bind_contextvars, instance=self.spec.name)
        containment.install(asyncio.get_running_loop())
        context.run(current_counters.set, self.counters)  # shared services count for the instance that asks
        self._task = asyncio.get_running_loop().create_task(
            self._main(), name=f"instance:{self.spec.name}", context=context
        )

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            await asyncio.shield(self._task)

    def restart(self, spec: InstanceSpec | None = None) -> None:
        """A fresh pool and Bot (token, database or schema changed, or a manual restart)."""
        if spec is not None:
            self.spec = spec
        self.status.rejected = None
        self.status.restarts += 1
        self.rejected_spec = None
        self._wake.set()

    async def cancel(self) -> None:
        """The last resort when a stop overran its deadline."""
        if self._task and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def report(self) -> dict[str, object]:
        """The status with what only the live bot knows: its guilds and gateway latency."""
        bot = self.ctx.bot if self.ctx else None
        warnings = dict(self.ctx.warnings) if self.ctx else {}
        if bot is None or self.status.state is not State.RUNNING:
            return self.status.as_dict(warnings=warnings)
        latency = bot.latency
        latency_ms = None if math.isnan(latency) or math.isinf(latency) else round(latency * 1000, 1)
        return self.status.as_dict(guilds=len(bot.guilds), latency_ms=latency_ms, warnings=warnings)

    # -- the loop --------------------------------------------------------------------------------
    async def _main(self) -> None:
        crashes: deque[float] = deque()
        backoff = self.options.backoff_first
        discord_backoff = self.options.backoff_first
        while not self._stopping:
            self._wake.clear()
            self.status.enter(State.STARTING)
            started = time.monotonic()
            delay, grow_backoff = backoff, True
            try:
                await self._run_once()
                if self._handing_off:  # the bot is closed: only now may the daemon it is placed on start it
                    self._handing_off = False
                    await self._release_lease()
                continue  # stop or restart requested: the loop condition decides
            except PermanentFailure as error:
                self.status.enter(State.FAILED, str(error))
                self.log.error("instance_failed", reason=str(error))
                await self._release_lease()  # a standby whose setup differs may do better
                await self._wake.wait()
                backoff = discord_backoff = self.options.backoff_first
                crashes.clear()
                continue
            except DiscordUnreachable as error:
                if self._reached_discord:  # it ran since the last wait: start the backoff over
                    discord_backoff = self.options.backoff_first
                delay, grow_backoff = discord_backoff, False
                retry_at = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + delay))
                self.status.enter(State.BACKOFF, f"waiting for Discord: {error}; next try at {retry_at}")
                self.log.warning("discord_unreachable", reason=str(error), retry_in=delay)
                discord_backoff = min(discord_backoff * 2, self.options.discord_backoff_max)
            except TransientFailure as error:
                self.status.enter(State.BACKOFF, str(error))
                self.log.warning("instance_retry_waiting", reason=str(error), retry_in=backoff)
            except Exception as error:
                now = time.monotonic()
                if now - started > BACKOFF_RESET_AFTER:
                    backoff = self.options.backoff_first
                    delay = backoff
                crashes.append(now)
                while crashes and now - crashes[0] > CRASH_LOOP_WINDOW:
                    crashes.popleft()
                reason = self._last_crash = f"{type(error).__name__}: {error}"
                if len(crashes) > CRASH_LOOP_COUNT:
                    self.status.enter(State.FAILED, f"crash loop ({len(crashes)} crashes in 60 s); last: {reason}")
                    self.log.error("instance_crash_loop", reason=reason)
                    await self._wake.wait()
                    crashes.clear()
                    backoff = self.options.backoff_first
                    continue
                self.status.enter(State.BACKOFF, reason)
                self.log.error("instance_crashed_restarting", reason=reason, retry_in=backoff, exc_info=error)
            self.status.restarts += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):  # never wait_for(event.wait()): it can swallow a cancel (3.11)
                    await self._wake.wait()
            if grow_backoff:
                backoff = min(backoff * 2, BACKOFF_MAX)
        await self._release_lease()
        self.status.enter(State.STOPPED)
        if self._offered is not None:
            self.databases.leases.forget(*self._offered, self)
        self.log.info("instance_stopped")

    async def _run_once(self) -> None:
        self._reached_discord = False
        self._fenced = False
        spec = self.spec
        pool = None
        bot: InstanceBot | None = None
        bot_task: asyncio.Task[None] | None = None
        ctx: InstanceContext | None = None
        listener = None  # its own MCP listener (MCP_PORT in its .env)
        try:
            pool = await self._interruptible(self._open_database(spec))
            if pool is None:
                return  # stop or restart asked for while the database was being prepared
            ctx = InstanceContext(spec=spec, pool=pool, log=self.log, shared=self.shared, counters=self.counters,
                                  clock=self.options.clock, migrate_features=self._migrate_features,
                                  lease_valid=self._lease_guard())
            self.ctx = ctx
            containment.owner.set(ctx.crash)  # every task started from here on (the bot's included) is this run's
            bot = InstanceBot(ctx, guild_ready_timeout=self.options.guild_ready_timeout,
                              discord_defaults=self.options.discord_defaults)
            ctx.bot = bot
            bot_task = asyncio.create_task(_connect(bot, spec.env.token, self.connect_gate, self.status),
                                           name=f"bot:{spec.name}")
            loaded = asyncio.create_task(bot.features_loaded.wait())
            ready = asyncio.create_task(bot.wait_until_ready())
            wake = asyncio.create_task(self._wake.wait())
            try:
                # Logged in and its Cogs loaded: it answers commands while it still waits for its guilds, so an
                # edit made during the start applies now, not once the bot counts as running.
                await asyncio.wait({bot_task, loaded, wake}, return_when=asyncio.FIRST_COMPLETED)
                if self._run_over(bot_task, wake):
                    return
                if self.spec is not ctx.spec:  # an edit that validated before the Cogs were loaded
                    await apply_live(self, self.spec)
                await asyncio.wait({bot_task, ready, wake}, return_when=asyncio.FIRST_COMPLETED)
                if self._run_over(bot_task, wake):
                    return
                if spec.env.mcp is not None:  # the MCP SDK and uvicorn load only for an instance that asks
                    from supervisor.mcp.instance_endpoint import open_instance_listener
                    listener = await open_instance_listener(self)  # listening before it counts as running
                self.status.enter(State.RUNNING)
                self.status.last_error = self._last_crash  # a wait for Discord or the database is over; a crash
                self.options.on_running()
                self._reached_discord = True
                self.log.info("instance_running", guilds=len(bot.guilds))
                ending: set[asyncio.Future[Any]] = {bot_task, ctx.crashed, wake}
                await asyncio.wait(ending, return_when=asyncio.FIRST_COMPLETED)
                if self._fenced or self._handing_off:
                    return
                if bot_task.done():
                    self._raise_bot_outcome(bot_task)
                if ctx.crashed.done():
                    raise ctx.crashed.result()
            finally:
                for task in (loaded, ready, wake):
                    task.cancel()
        finally:
            if listener is not None:
                await listener.stop()
            if ctx is not None:
                await ctx.cancel_tasks()
            if bot is not None:
                await self._close_bot(bot)
                self.options.on_bot_closed()
            if bot_task is not None:
                await asyncio.gather(bot_task, return_exceptions=True)
            if pool is not None:
                try:
                    async with asyncio.timeout(DATABASE_CLOSE_SECONDS):
                        await pool.close()
                except Exception:
                    pool.terminate()
            self.ctx = None

    def _run_over(self, bot_task: asyncio.Task[None], wake: asyncio.Task[Any]) -> bool:
        """After a wait: whether this run ends here (fenced, handed off, a stop or restart asked for); raises what
        ended the bot's connection."""
        if self._fenced or self._handing_off:
            return True
        if bot_task.done():
            self._raise_bot_outcome(bot_task)
        return wake.done()

    async def _interruptible(self, work: Coroutine[Any, Any, asyncpg.Pool]) -> asyncpg.Pool | None:
        """Run `work` unless a stop or restart comes first (a migration lock or a connection wait can be long)."""
        task = asyncio.ensure_future(work)
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({task, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return None
        return task.result()

    async def _open_database(self, spec: InstanceSpec) -> asyncpg.Pool:
        try:
            url = await self.databases.url_for(spec)  # no DATABASE_URL: the bundled server, started on first use
            self.status.phase = Phase.LEASE
            await self._take_lease(url, spec)
            budget = await self.databases.budget_for(url)
            self.status.phase = Phase.SCHEMA
            migrations = await asyncio.to_thread(registry.migrations_for, spec.config, self.migrations)
            if not await self.databases.up_to_date(url, spec.schema, migrations):  # a warm start: read in batches
                self.status.phase = Phase.MIGRATION_WAIT
                async with self.startup_gate, budget.slot():  # the migration's connection counts against the budget
                    self.status.phase = Phase.MIGRATING
                    await migrate(url, spec.schema, migrations)
                self.databases.schemas_migrated += 1
            self._database_url = url
            return await open_pool(url, spec.schema, spec.config.pool_max_size, budget=budget,
                                   command_timeout=spec.config.command_timeout)
        except MigrationError as error:
            raise PermanentFailure(str(error)) from error
        except BundledRefused as error:  # e.g. root: no retry changes who we run as
            raise PermanentFailure(f"{error}; then restart the daemon") from error
        except BundledError as error:  # the bundled server did not start: worth retrying, with its reason shown
            raise TransientFailure(str(error)) from error
        except LeaseInterrupted as error:
            raise TransientFailure(str(error)) from error
        except DatabaseError as error:
            if error.__cause__ is not None and is_database_unavailable(error.__cause__):
                raise TransientFailure(str(error)) from error
            raise PermanentFailure(f"{error}: {self._where_to_fix_database(spec)}") from error

    async def _migrate_features(self, config: InstanceConfig) -> None:
        """A live edit switches features on: their tables first (the same ledger, the same locks as a start)."""
        migrations = await asyncio.to_thread(registry.migrations_for, config, self.migrations)
        await migrate(self._database_url, self.spec.schema, migrations)

    async def _take_lease(self, url: str, spec: InstanceSpec) -> None:
        """Wait until this instance is placed here and no other daemon runs it, then hold its lease."""
        if self._lease is not None and self._lease != (url, spec.schema):
            await self._release_lease()  # another database or schema now: that lease is not this instance's
        if self._offered is not None and self._offered != (url, spec.schema):
            self.databases.leases.forget(*self._offered, self)
        self._offered = (url, spec.schema)
        while True:
            try:
                holder = await self.databases.leases.try_acquire(url, spec.schema, self)
            except DatabaseError as error:
                if not isinstance(error, LeaseInterrupted) and not (
                        error.__cause__ is not None and is_database_unavailable(error.__cause__)):
                    raise
                # No bot runs meanwhile: ask again at the poll's pace rather than with a growing backoff, so a
                # host cut off from the database rejoins as soon as it can reach it again.
                if self.status.state is not State.BACKOFF:
                    self.log.warning("instance_retry_waiting", reason=str(error),
                                     retry_in=2 * self.options.lease_poll)
                self.status.enter(State.BACKOFF, str(error))
                await asyncio.sleep(2 * self.options.lease_poll)
                continue
            if holder is None:
                self._lease = (url, spec.schema)  # kept across restarts: another daemon takes over only when we stop
                self.elsewhere = None
                if self.status.state is State.BACKOFF:  # a lease query that failed before: starting again now
                    self.status.enter(State.STARTING)
                return
            if self.status.state is not State.ELSEWHERE:
                self.log.info("instance_running_elsewhere", holder=str(holder))
            self.elsewhere = holder  # before the state change: the console's feed reads it on that notice
            self.status.enter(State.ELSEWHERE, f"running elsewhere ({holder})")
            await self.databases.leases.wait_turn(url, spec.schema, self.options.lease_poll)

    @property
    def holds_lease(self) -> bool:
        return self._lease is not None

    def _lease_guard(self) -> Callable[[], bool]:
        if self._lease is None:
            return lambda: False
        return self.databases.leases.guard(*self._lease, self)

    async def _release_lease(self) -> None:
        """After the bot is closed: only then may another daemon start this instance."""
        if self._lease is not None:
            lease, self._lease = self._lease, None
            try:
                async with asyncio.timeout(DATABASE_CLOSE_SECONDS):
                    await self.databases.leases.release(*lease)
            except TimeoutError:  # the daemon's close of its lease connection frees it, or the session's end
                self.log.warning("lease_release_timed_out", seconds=DATABASE_CLOSE_SECONDS)

    @staticmethod
    def _where_to_fix_database(spec: InstanceSpec) -> str:
        if spec.env.database_url:
            return f"fix DATABASE_URL in {spec.name}/.env"
        # The supervisor's own URL: no instance file can fix it, only its environment and a restart.
        return ("fix the supervisor's own DATABASE_URL (its environment or service file, not an instance file), "
                "then restart the daemon")

    def _raise_bot_outcome(self, bot_task: asyncio.Task[None]) -> None:
        error = bot_task.exception()
        if error is None:
            raise RuntimeError("the bot's connection ended")
        reason = intents_refused(error, self.spec.config) or permanent_reason(error)
        if reason is not None:
            raise PermanentFailure(reason) from error
        reason = unreachable_reason(error)
        if reason is not None:
            raise DiscordUnreachable(reason) from error
        raise error

    async def _close_bot(self, bot: InstanceBot) -> None:
        try:
            await asyncio.wait_for(bot.close(), CLOSE_TIMEOUT)
        except Exception as error:
            self.log.warning("bot_close_failed", error=repr(error))


async def _connect(bot: InstanceBot, token: str, gate: asyncio.Semaphore | None = None,
                   status: InstanceStatus | None = None) -> None:
    """bot.start, where a KeyboardInterrupt or SystemExit (feature code run inside discord.py's gateway reader,
    such as a wait_for check) ends this instance's connection instead of the event loop.

    With a gate, the bot logs in only once it holds a place, and gives it back at its first READY (or when the
    connection ends first): a start of thousands of bots goes in a steady wave of that many instead of all at
    once, which held every login's and READY's transient objects at the same moment (RSS) and the loop longer."""
    ready: asyncio.Future[None] | None = None
    if gate is not None:
        if status is not None:
            status.phase = Phase.LOGIN_WAIT
        await gate.acquire()
        ready = asyncio.ensure_future(bot.wait_until_ready())
        ready.add_done_callback(lambda _done: gate.release())  # once: on READY, or on a cancel below
        # A bot whose READY does not come (Discord down, its IDENTIFY budget spent) lets the others pass.
        expiry = asyncio.get_running_loop().call_later(CONNECT_GATE_SECONDS, ready.cancel)
    if status is not None:
        status.phase = Phase.LOGGING_IN
    try:
        await bot.start(token)
    except (KeyboardInterrupt, SystemExit) as error:
        raise RuntimeError(f"the bot's connection raised {error!r}") from error
    finally:
        if ready is not None:
            ready.cancel()
            expiry.cancel()


async def apply_live(runner: InstanceRunner, spec: InstanceSpec) -> str:
    """Apply a validated config edit to an instance: live, all or nothing, or by restarting it alone when a
    field that needs a new pool or gateway session changed. Returns the outcome, which `status` shows as
    `last_reload` and one log line carries. Never "applied live" for an edit that did not apply."""
    async with runner.applying:  # the daemon's reload and a start-up's held edit never interleave
        outcome, rejected = await _apply(runner, spec)
    runner.status.last_reload = outcome
    if rejected:
        runner.log.error("config_rejected", problems=rejected)
    else:
        runner.log.info("config_reloaded", outcome=outcome)
    return outcome


async def _apply(runner: InstanceRunner, spec: InstanceSpec) -> tuple[str, str | None]:
    """(outcome, the rejection's reason or None)."""
    ctx = runner.ctx
    bot = ctx.bot if ctx is not None else None
    if runner.status.state is State.FAILED:
        runner.restart(spec)
        return "restarted: it had failed", None
    if ctx is None or not isinstance(bot, InstanceBot) or not bot.features_loaded.is_set():
        runner.spec = spec  # the start under way applies it once its Cogs are loaded; a later start uses it
        runner.status.rejected = None
        if runner.status.state is State.STARTING:
            return "held until the bot has loaded its features (moments away)", None
        return "stored for the next start", None
    reasons = restart_reasons(ctx.spec, spec, bot.missing_intents(spec.config))
    if reasons:
        runner.restart(spec)
        return f"restarted: {'; '.join(reasons)}", None
    previous = runner.status.state
    runner.status.enter(State.RELOADING)
    try:
        await bot.switch_features(spec)
    except FeatureLoadError as error:
        runner.spec = ctx.spec  # the last good one, still running
        runner.rejected_spec = spec
        runner.status.rejected = str(error)
        return f"rejected: {error}", str(error)
    finally:
        if runner.status.state is State.RELOADING:
            runner.status.enter(previous)
    runner.spec = spec
    runner.rejected_spec = None
    runner.status.rejected = None
    return "applied live", None
