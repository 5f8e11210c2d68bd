"""All instances of the daemon: scan the folder, and start, reload, restart or stop runners to match it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from supervisor.daemon.runner import InstanceRunner, RuntimeOptions, apply_live
from supervisor.daemon.status import InstanceStatus, State
from supervisor.fleet_index import FleetIndex
from supervisor.instances import InstanceReport, InstanceSpec, Status, is_instance_folder, load_all, load_instance
from supervisor.logs import get_logger
from supervisor.migrator import Migration
from supervisor.near_misses import hints_by_folder
from supervisor.pg.service import Databases
from supervisor.runtime.counters import InstanceCounters
from supervisor.sdk.shared import SharedServices
from supervisor.settings import SupervisorSettings

# How many instances may migrate at once: each holds one connection while it does.
STARTUP_CONCURRENCY = 8
# How many bots log in and wait for their READY at once (each token has its own IDENTIFY budget, so nothing on
# Discord's side asks for fewer; the bound keeps a start of thousands a steady wave for memory and the loop).
CONNECT_CONCURRENCY = 50
# How often wait_settled looks: each look walks the instances still to settle (at 20 a second it was a measurable
# share of a start of thousands).
SETTLED_POLL_SECONDS = 0.25


class Fleet:
    def __init__(self, settings: SupervisorSettings, migrations: list[Migration], options: RuntimeOptions,
                 databases: Databases, before_start: Callable[[InstanceSpec], None] | None = None):
        self.settings = settings
        self.databases = databases
        self.migrations = migrations
        self.options = options
        self.shared = SharedServices(options.upstreams)  # process-wide services of the kit; closed by close_shared
        self.before_start = before_start  # the sandbox builds each new instance's guild here
        self.runners: dict[str, InstanceRunner] = {}
        self.reports: dict[str, InstanceReport] = {}  # fleet rules applied; kept in step with the index
        self.index = FleetIndex()
        self._hints: dict[str, str] = {}  # folder name -> its near-miss file name, logged once when it appears
        self.paused: set[str] = set()  # stopped on request (restore); not restarted until resumed
        self.log = get_logger("supervisor.fleet")
        self._startup_gate = asyncio.Semaphore(STARTUP_CONCURRENCY)
        self._connect_gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        self._lock = asyncio.Lock()  # one reconcile at a time: a burst of changes never interleaves
        self._closing = False
        self.counters: dict[str, InstanceCounters] = {}  # by name: kept when a runner is replaced (pause, resume)
        self.restarts: dict[str, int] = {}  # by name, the same: /metrics' restarts counter never goes down
        self.changed: set[str] = set()  # instances whose status changed since the console's feed last looked
        self.change_event = asyncio.Event()  # set with each change: the feed waits on it, nothing polls

    def note_change(self, name: str) -> None:
        self.changed.add(name)
        self.change_event.set()
        runner = self.runners.get(name)
        if runner is not None:
            runner.fleet_state_changed()

    async def reconcile(self, only: set[str] | None = None) -> None:
        """Act on `only` those instances (re-reading just their files), or rescan every instance.

        The files are read in a thread: nothing a scan does may hold up the bots sharing this event loop.
        """
        async with self._lock:
            if self._closing:
                return
            if only is None:
                loaded = await asyncio.to_thread(load_all, self.settings.instances_dir, self.settings.database_url,
                                                sandbox=self.settings.sandbox)
                self.index = FleetIndex(loaded)
                self.reports = {report.name: report for report in self.index.reports()}
                names = set(self.reports) | set(self.runners)
                self._note_hints(await asyncio.to_thread(hints_by_folder, self.settings.instances_dir))
            else:
                # Only the edited folders are read: an edit costs the same at 1,000 instances as at 10.
                names = set()
                self._note_hints(await asyncio.to_thread(hints_by_folder, self.settings.instances_dir, only), only)
                for name, report in (await asyncio.to_thread(self._load_named, only)).items():
                    # A rule between instances (a shared token or schema) may have begun or ended with this edit.
                    names |= self.index.put(name, report)
                for name in names:
                    current = self.index.report(name)
                    if current is None:
                        self.reports.pop(name, None)
                    else:
                        self.reports[name] = current
            for name in sorted(names):
                self.note_change(name)
                try:
                    await self._reconcile_one(name, self.reports.get(name))
                except Exception as error:  # one instance's trouble must never stop the others' reloads
                    self.log.error("instance_reload_failed", instance=name, error=repr(error), exc_info=error)
                    runner = self.runners.get(name)
                    if runner is not None:
                        runner.status.rejected = f"reload failed: {error!r}"

    def _note_hints(self, found: dict[str, str], among: set[str] | None = None) -> None:
        """Log each near miss once when it appears; `among`: only these folders were looked at."""
        for name, hint in found.items():
            if self._hints.get(name) != hint:
                self.log.warning("instance_folder_near_miss", hint=hint)
        if among is None:
            self._hints = found
        else:
            for name in among:
                self._hints.pop(name, None)
            self._hints.update(found)

    def _load_named(self, names: set[str]) -> dict[str, InstanceReport | None]:
        """These instances' files, re-read; None for a name that is no longer an instance folder."""
        loaded: dict[str, InstanceReport | None] = {}
        for name in names:
            folder = self.settings.instances_dir / name
            loaded[name] = (load_instance(folder, self.settings.database_url, sandbox=self.settings.sandbox)
                            if is_instance_folder(folder) else None)
        return loaded

    async def _reconcile_one(self, name: str, report: InstanceReport | None) -> None:
        runner = self.runners.get(name)
        log = self.log.bind(instance=name)
        if name in self.paused:
            return
        if report is None or report.status is Status.NOT_CONFIGURED:
            if runner is not None:
                log.info("instance_removed")
                await self._stop(name)
            elif report is not None:
                log.info("instance_not_configured")
            return
        if report.status is Status.INVALID:
            problems = "; ".join(str(p) for p in report.problems)
            if runner is None:
                log.error("instance_invalid", problems=[str(p) for p in report.problems])
            else:
                runner.status.rejected = problems
                log.error("config_rejected", problems=problems)
            return
        spec = report.spec
        assert spec is not None
        if report.warnings and (runner is None or spec != runner.spec):
            # What `check` shows as warnings (a key nothing reads, a feature left off): in the log too.
            log.warning("instance_config_warnings", warnings=[str(w) for w in report.warnings])
        if runner is None:
            if self.before_start:
                self.before_start(spec)
            runner = InstanceRunner(spec, self.migrations, self.options, self._startup_gate, self.databases,
                                    self.shared, connect_gate=self._connect_gate)
            self.runners[name] = runner
            runner.status.on_change = self.note_change
            runner.counters = self.counters.setdefault(name, runner.counters)
            runner.status.restarts = self.restarts.get(name, 0)
            runner.start()
            log.info("instance_starting", schema=spec.schema)
            return
        if spec == runner.spec and runner.status.rejected is None and runner.status.state is not State.FAILED:
            return
        if spec == runner.rejected_spec:
            return  # its Cogs already failed to load; a change of its files tries again
        await apply_live(runner, spec)  # live, or a restart of this instance when a restart field changed

    async def restart(self, name: str) -> bool:
        if name in self.paused:  # e.g. a restore that was interrupted before it could resume the instance
            await self.resume(name)
            return name in self.runners
        runner = self.runners.get(name)
        if runner is None:
            return False
        runner.restart()
        return True

    async def pause(self, name: str) -> bool:
        """Stop an instance and keep it stopped (its pool closed) until `resume`."""
        if name not in self.runners and name not in self.reports:
            return False
        async with self._lock:
            self.paused.add(name)
            if name in self.runners:
                await self._stop(name)
        return True

    async def resume(self, name: str) -> None:
        self.paused.discard(name)
        await self.reconcile({name})

    async def _stop(self, name: str) -> None:
        runner = self.runners[name]
        await runner.stop()
        self.restarts[name] = runner.status.restarts
        self.runners.pop(name, None)
        self.note_change(name)

    async def stop_all(self) -> None:
        async with self._lock:  # no reconcile runs meanwhile, and none starts anything afterwards
            self._closing = True
        await asyncio.gather(*(self._stop(name) for name in list(self.runners)), return_exceptions=True)

    async def cancel_all(self) -> None:
        """After a stop overran its deadline: cancel what is still running."""
        await asyncio.gather(*(runner.cancel() for runner in self.runners.values()))

    def statuses(self) -> list[dict[str, object]]:
        """Every instance's status as `status` shows it, running or not."""
        return [status for name in self.names() if (status := self.status_of(name)) is not None]

    def names(self) -> list[str]:
        return sorted(set(self.reports) | set(self.runners) | self.paused)

    def status_of(self, name: str) -> dict[str, object] | None:
        """One instance's status (None: no such instance now)."""
        runner = self.runners.get(name)
        if runner is not None:
            return runner.report()
        report = self.reports.get(name)
        if report is None and name not in self.paused:
            return None
        status = InstanceStatus(name, restarts=self.restarts.get(name, 0))
        if name in self.paused:
            status.enter(State.STOPPED, "paused through the control socket")
        elif report is not None and report.status is Status.INVALID:
            status.enter(State.INVALID, "; ".join(str(p) for p in report.problems))
        else:
            status.enter(State.NOT_CONFIGURED)
        return status.as_dict()

    async def wait_settled(self, timeout: float) -> None:
        """Until every instance is running, backing off, failed or stopped (or `timeout` seconds passed)."""
        settled = {State.RUNNING, State.BACKOFF, State.FAILED, State.STOPPED, State.ELSEWHERE}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and any(r.status.state not in settled for r in self.runners.values()):
            await asyncio.sleep(SETTLED_POLL_SECONDS)

    def starting(self) -> bool:
        """Whether any instance is still on its way to running (or to a backoff or failure)."""
        return any(runner.status.state is State.STARTING for runner in self.runners.values())

    def counts(self) -> dict[str, int]:
        counts = {"running": 0, "backoff": 0, "failed": 0}
        for runner in self.runners.values():
            key = str(runner.status.state)
            if key in counts:
                counts[key] += 1
        return counts
