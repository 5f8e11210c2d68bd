"""`discord-supervisor run`: start every valid instance, keep them supervised, stop cleanly on a signal."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from supervisor.daemon.control import ControlServer
from supervisor.daemon.control_handlers import ControlHandlers
from supervisor.daemon.control_table import ControlCommand, dispatch
from supervisor.daemon.fleet import Fleet
from supervisor.daemon.heap import HeapFreezer
from supervisor.daemon.lockfile import DaemonAlreadyRunning, DaemonLock
from supervisor.daemon.notify import Notifier
from supervisor.daemon.runner import RuntimeOptions
from supervisor.daemon.status import State
from supervisor.daemon.watchdog import STALL_THRESHOLD, LoopWatchdog
from supervisor.daemon.watcher import watch
from supervisor.hosts import control as hosts_control
from supervisor.hosts.leases import HostOptions
from supervisor.instances import InstanceSpec
from supervisor.logs import get_logger
from supervisor.mcp.router import McpRouter, tool_listing
from supervisor.migrator import load_migrations
from supervisor.pg.service import Databases
from supervisor.runtime.compression import use_bounded_compression
from supervisor.runtime.endpoints import apply_endpoints
from supervisor.runtime.gateway_reads import use_turn_taking_reads
from supervisor.runtime.heartbeats import use_loop_heartbeats
from supervisor.runtime.io_turns import turn_taking_loop
from supervisor.runtime.lean_state import share_backoff_random
from supervisor.runtime.transport_cycles import free_closed_transports
from supervisor.settings import SupervisorSettings


async def _mcp_tools() -> list[dict[str, Any]]:
    return tool_listing()


if TYPE_CHECKING:
    from supervisor.mcp.server import McpListen
    from supervisor.web.listen import HttpListen
    from supervisor.web.server import WebService

START_PROGRESS_SECONDS = 5.0  # while instances start: a start_progress line this often
READY_WAIT_SECONDS = 60.0  # READY=1 goes out when every valid instance has started, or after this long


@dataclass(frozen=True)
class DaemonOptions:
    runtime: RuntimeOptions
    control_socket: Path
    state_dir: Path = Path("var")
    shutdown_timeout: float = 10.0
    watch: bool = True
    mcp_listen: McpListen | None = None  # the fleet's MCP endpoint alone (served by the HTTP listener); off: None
    http_listen: HttpListen | None = None  # the console, /metrics (and /mcp when MCP is on); off when None
    hosts: HostOptions | None = None  # capacity, standby and the fleet tables' schema (docs/standby.md)
    stall_threshold: float = STALL_THRESHOLD  # seconds the loop may be held before the watchdog logs it
    worker: int | None = None  # this daemon's number under a `run --workers N` parent (supervisor/daemon/workers.py)
    paused: frozenset[str] = frozenset()  # instances that start paused (a worker restarted by its parent)


class Daemon:
    def __init__(self, settings: SupervisorSettings, options: DaemonOptions,
                 before_start: Callable[[InstanceSpec], None] | None = None):
        self.settings = settings
        self.options = options
        self.databases = Databases(options.state_dir, options.hosts)
        self.heap = HeapFreezer(hosted=lambda: len(self.fleet.runners), starting=lambda: self.fleet.starting())
        runtime = replace(options.runtime, on_bot_closed=self.heap.bot_closed, on_running=self.heap.instance_running)
        self.fleet = Fleet(settings, load_migrations(), runtime, self.databases, before_start)
        self.fleet.paused.update(options.paused)
        self._review: asyncio.Task[None] | None = None
        self.notifier = Notifier()
        self.control = ControlServer(options.control_socket, self.handle_control)
        self.control_commands: dict[str, ControlCommand] = ControlHandlers(self).table()  # others may add theirs
        self.control_commands.update(hosts_control.table(self.databases.leases))  # drain, undrain, fleet
        self.watchdog = LoopWatchdog(options.stall_threshold)
        self.log = get_logger("supervisor.daemon")
        self._stop = asyncio.Event()
        self._signals = 0
        self._background: list[asyncio.Task[None]] = []
        self.mcp = McpRouter(self.fleet)  # also answers `discord-supervisor mcp` (stdio) over the control socket
        self.http: WebService | None = None

    # -- signals -----------------------------------------------------------------------------------
    def _on_stop_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals > 1:
            self.log.warning("second_signal_forcing_exit", signal=signal.Signals(signum).name)
            os._exit(1)
        self.log.info("daemon_stopping", signal=signal.Signals(signum).name)
        self._stop.set()

    async def rescan(self, reason: str = "SIGHUP") -> None:
        self.log.info("rescan_started", reason=reason)
        self.notifier.reloading()
        try:
            await self.fleet.reconcile()
            self.review_databases()
        except Exception as error:
            self.log.error("rescan_failed", error=repr(error), exc_info=error)
        finally:
            self.notifier.ready(self.status_line())  # systemd must never be left "reloading"

    def _keep(self, name: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run a daemon-wide background task; if it dies with an error, log it and start it again."""
        async def supervised() -> None:
            while not self._stop.is_set():
                try:
                    await factory()
                    return
                except Exception as error:
                    self.log.error("background_task_failed", task=name, error=repr(error),
                                   exc_info=error)
                    await asyncio.sleep(1.0)

        self._background.append(asyncio.get_running_loop().create_task(supervised(), name=name))

    # -- control -----------------------------------------------------------------------------------
    async def handle_control(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One control-socket request, through the table of commands (each validates its arguments)."""
        return await dispatch(self.control_commands, payload)

    def is_folder(self, name: str) -> bool:
        """Whether `name` is a folder right inside the instances directory (never `..` or a path)."""
        folder = self.settings.instances_dir / name
        return not name.startswith(".") and folder.parent == self.settings.instances_dir and folder.is_dir()

    async def _mcp_call(self, tool: str, arguments: dict[str, Any] | None) -> tuple[str, bool]:
        outcome = await self.mcp.call(tool, arguments)
        return outcome.text, outcome.is_error

    # -- lifecycle ---------------------------------------------------------------------------------
    def status_line(self) -> str:
        counts = self.fleet.counts()
        return ", ".join(f"{n} {state}" for state, n in counts.items())

    async def _announce_ready(self) -> None:
        """READY=1 once the first scan's instances have all started (or settled in backoff/failed)."""
        await self.fleet.wait_settled(READY_WAIT_SECONDS)  # the heap freezes per start wave, not here
        self.notifier.ready(self.status_line())
        self.log.info("daemon_ready", status=self.status_line())
        while True:  # keep STATUS= current, and feed the watchdog when systemd asks for one
            await asyncio.sleep(self.notifier.watchdog_interval or 5.0)
            self.notifier.status(self.status_line())
            if self.notifier.watchdog_interval:
                self.notifier.watchdog()

    async def _watch_parent(self) -> None:
        """A worker whose parent died (kill -9) stops by itself: it was the parent's to stop, and nobody else is."""
        parent = os.getppid()
        while os.getppid() == parent:
            await asyncio.sleep(1.0)
        self.log.warning("worker_orphaned", parent_pid=parent)
        self._stop.set()

    async def _log_start_progress(self) -> None:
        """While instances are starting (thousands take minutes), say how far the start got every few seconds."""
        while True:
            await asyncio.sleep(START_PROGRESS_SECONDS)
            phases = Counter(str(runner.status.phase or "starting") for runner in self.fleet.runners.values()
                             if runner.status.state is State.STARTING)
            if phases:  # the steps by name (taking its lease, ..., migrating, ..., logging in): where a start is
                self.log.info("start_progress", starting=sum(phases.values()), **self.fleet.counts(),
                              phases=phases, schemas_migrated=self.databases.schemas_migrated)

    async def start(self) -> None:
        """Open the control socket, start every valid instance, and begin watching. Raises on a busy socket."""
        apply_endpoints(self.settings.api_base_url, self.settings.gateway_url, self.settings.ca_file)
        free_closed_transports()  # a frozen heap would keep every closed connection's transport cycle
        if not self.options.runtime.discord_defaults:
            use_bounded_compression()
            use_turn_taking_reads()  # a burst to many bots is handled a few messages per loop turn
            use_loop_heartbeats()  # no OS thread per connection: 10,000 bots would be 10,000 threads
            share_backoff_random()  # one random generator, not 2.6 KB of one per connection
        self.log.info("daemon_starting", instances_dir=str(self.settings.instances_dir),
                      control_socket=str(self.options.control_socket))
        await self.control.start()
        self.heap.start()
        self.watchdog.start()
        listen = self.options.http_listen
        if listen is None and self.options.mcp_listen is not None:
            from supervisor.web.listen import HttpListen

            mcp = self.options.mcp_listen
            listen = HttpListen(mcp.host, mcp.port, mcp.token, mcp.token, mcp=True, flag="--mcp-listen")
        if listen is not None:
            from supervisor.mcp.webhook_routes import fleet_resolver
            from supervisor.web.server import WebService

            self.http = WebService(listen, self, _mcp_tools, self._mcp_call,
                                   webhooks=fleet_resolver(lambda: self.fleet.runners))
            await self.http.start()
        await self.fleet.reconcile()
        self.review_databases()
        self._keep("notify", self._announce_ready)
        self._keep("start_progress", self._log_start_progress)
        if self.options.worker is not None:
            self._keep("parent_watch", self._watch_parent)
        if self.options.watch:
            self._keep("watcher", lambda: watch(self.settings.instances_dir, self.fleet.reconcile, self._stop))

    async def stop(self) -> int:
        self._stop.set()
        self.heap.stop()
        self.notifier.stopping()
        for task in self._background:  # first: no watcher or rescan may start an instance while we stop
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.http is not None:
            await self.http.stop()
        try:
            return await self.shutdown()
        finally:
            self.heap.close()
            await self.watchdog.stop()
            await self.control.stop()

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_stop_signal, signum)
        loop.add_signal_handler(signal.SIGHUP, lambda: self._background.append(loop.create_task(self.rescan())))
        try:
            await self.start()
        except Exception as error:
            self.log.error("daemon_start_failed", error=str(error), exc_info=error)
            await self.stop()
            return 1
        await self._stop.wait()
        return await self.stop()

    def review_databases(self) -> None:
        """In the background (a server may be slow to answer): do the pools fit each server's limit?"""
        if self._review is None or self._review.done():
            specs = [r.spec for r in self.fleet.reports.values() if r.spec is not None]
            self._review = asyncio.get_running_loop().create_task(self.databases.review(specs))

    async def shutdown(self) -> int:
        try:
            await asyncio.wait_for(self.fleet.stop_all(), self.options.shutdown_timeout)
        except TimeoutError:
            self.log.error("shutdown_deadline_passed", seconds=self.options.shutdown_timeout)
            await self.fleet.cancel_all()
            return 1
        finally:
            if self._review is not None:
                self._review.cancel()
                await asyncio.gather(self._review, return_exceptions=True)
            await self.fleet.shared.close()  # after every instance stopped using them
            await self.databases.close()  # after every pool is closed: stops the bundled server
        self.log.info("daemon_stopped")
        return 0


def run(settings: SupervisorSettings, options: DaemonOptions) -> int:
    log = get_logger("supervisor.daemon")
    if not settings.instances_dir.is_dir():
        log.error("instances_dir_missing", instances_dir=str(settings.instances_dir))
        return 1
    if options.worker is not None:  # every line of a worker says which (they share the parent's stderr)
        structlog.contextvars.bind_contextvars(worker=options.worker)
    lock = DaemonLock(options.control_socket)
    try:
        lock.acquire()  # before anything else: a refused daemon touches nothing the running one owns
    except DaemonAlreadyRunning as error:
        log.error("daemon_already_running", reason=str(error))
        return 1
    try:
        # The daemon's loop handles a slice of the ready sockets per turn (supervisor/runtime/io_turns.py).
        factory = None if options.runtime.discord_defaults else turn_taking_loop
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(Daemon(settings, options).serve())
    except (KeyboardInterrupt, SystemExit) as error:
        # SIGINT and SIGTERM are handled on the loop: this came from code, not from an operator's request.
        log.error("daemon_ended_unrequested", error=repr(error))
        return 1
    finally:
        lock.release()
