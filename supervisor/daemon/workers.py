"""`run --workers N`: one parent process and N daemon processes (workers) on this host (docs/workers.md).

Each worker is an ordinary daemon with a control socket of its own beside the parent's (so a placement node of its
own): the many-hosts machinery (leases, fleet tables, weighted rendezvous hashing, fencing: docs/standby.md)
shares the instances among the workers exactly as among hosts. The parent runs no bot. It:

- starts the bundled PostgreSQL first when an instance needs it, and gives the workers its URL (DATABASE_URL);
- forwards SIGTERM, SIGINT and SIGHUP; restarts a dead worker alone (at once, then with a doubling delay while
  it keeps dying within STABLE_SECONDS of its start);
- answers the user's control socket for all of them: `status` merged (each instance once, with the worker that
  runs it), the other commands forwarded to the worker concerned or to every worker (FORWARD);
- tells systemd READY=1 once every worker told the parent READY=1: the workers' NOTIFY_SOCKET is the parent's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supervisor.daemon.control import ControlServer, ControlUnavailable, request
from supervisor.daemon.lockfile import DaemonAlreadyRunning, DaemonLock
from supervisor.daemon.notify import Notifier
from supervisor.instances import load_all
from supervisor.logs import get_logger
from supervisor.pg.bundled import BundledError, BundledPostgres
from supervisor.settings import SupervisorSettings

STABLE_SECONDS = 60.0  # a worker that ran this long before it died is restarted at once
BACKOFF_MAX = 60.0
FORWARD_TIMEOUT = 60.0  # the client gives up on its own first (30 s)
STOP_GRACE = 30.0  # beyond --shutdown-timeout, before the parent kills what is left
# How each control command reaches the workers: every worker, the one running the named instance, or any one.
FORWARD = {"reload": "all", "pause": "all", "resume": "all", "drain": "all", "undrain": "all", "restart": "owner"}
# Which worker's entry `status` shows when several have the instance: the one that runs it, else the most telling.
RANK = ("running", "reloading", "starting", "backoff", "failed", "stopped", "invalid", "not configured",
        "running elsewhere")
_UNHEARD = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")


def worker_socket(parent: Path, index: int) -> Path:
    """Worker `index`'s control socket, beside the parent's: discord-supervisor.sock -> ...worker1.sock."""
    return parent.with_name(f"{parent.stem}.worker{index}{parent.suffix}")


def sibling_sockets(own: Path, index: int, count: int) -> tuple[Path, ...]:
    """Every worker's control socket, from worker `index`'s own (the parent's path is not passed down)."""
    for suffix in (own.suffix, ""):  # discord-supervisor.worker1.sock, or a path without a suffix: ctl.worker1
        marker = f".worker{index}{suffix}"
        if own.name.endswith(marker):
            base = own.with_name(own.name[: -len(marker)] + suffix)
            return tuple(worker_socket(base, k) for k in range(1, count + 1))
    raise ValueError(f"{own} is not the control socket of worker {index}")


@dataclass
class Worker:
    index: int
    control_socket: Path
    process: asyncio.subprocess.Process | None = None
    started: float = 0.0  # monotonic
    ready: bool = False
    status: str = "starting"
    restarts: int = 0
    streak: int = 0  # deaths in a row, each within STABLE_SECONDS of its start
    final_code: int | None = None  # its exit code once the parent stopped it
    paused_at_spawn: frozenset[str] = frozenset()  # the pauses it was started with (--start-paused)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.returncode is None else None

    def row(self) -> dict[str, Any]:
        return {"worker": self.index, "pid": self.pid, "ready": self.ready, "restarts": self.restarts,
                "status": self.status, "control_socket": str(self.control_socket)}


def _rank(item: dict[str, Any]) -> int:
    state = str(item.get("state"))
    return RANK.index(state) if state in RANK else len(RANK)


def _line_rank(line: str) -> int:
    """An MCP `list_instances` line (`name | state | ...`) ranked by its state, as `_rank` ranks status entries."""
    fields = line.split(" | ")
    return _rank({"state": fields[1] if len(fields) > 1 else None})


def merge_status(answers: list[tuple[Worker, dict[str, Any] | None]]) -> dict[str, Any]:
    """The workers' `status` answers as one: each instance once, from the worker that runs it (`worker`)."""
    merged: dict[str, dict[str, Any]] = {}
    for worker, answer in answers:
        for item in (answer or {}).get("instances", []):
            current = merged.get(item["name"])
            if current is None or _rank(item) < _rank(current):
                merged[item["name"]] = {**item, "worker": worker.index}
    for item in merged.values():
        if item["state"] in ("running elsewhere", "not configured", "invalid"):
            item["worker"] = None  # on another host, or on none
    counts = {"running": 0, "backoff": 0, "failed": 0}
    for item in merged.values():
        if item["state"] in counts:
            counts[item["state"]] += 1
    return {"ok": True, "instances": [merged[name] for name in sorted(merged)], "counts": counts,
            "workers": [worker.row() for worker, _ in answers]}


def _all_answered(answers: list[dict[str, Any] | None]) -> dict[str, Any]:
    """One answer for a command every worker ran: the first refusal, else ok (with drain's lists joined)."""
    heard = [answer for answer in answers if answer is not None]
    if not heard:
        return {"ok": False, "error": "no worker answered (they are starting or restarting); try again"}
    refused = next((answer for answer in heard if not answer.get("ok")), None)
    if refused is not None:
        return refused
    joined: dict[str, Any] = {"ok": True}
    for key in ("held", "kept"):
        if any(key in answer for answer in heard):
            joined[key] = sorted({name for answer in heard for name in answer.get(key, [])})
    if len(heard) < len(answers):
        joined["note"] = f"{len(answers) - len(heard)} worker(s) did not answer (restarting)"
    return joined


class Parent:
    def __init__(self, settings: SupervisorSettings, argv: list[str]):
        self.settings = settings
        self.argv = argv
        self.socket = settings.socket_path()
        self.workers = [Worker(i, worker_socket(self.socket, i)) for i in range(1, settings.workers + 1)]
        self.notifier = Notifier()
        self.control = ControlServer(self.socket, self.handle_control)
        self.log = get_logger("supervisor.workers")
        self.database_url = settings.database_url
        self.bundled: BundledPostgres | None = None
        self._stop = asyncio.Event()
        self._signals = 0
        self._notify: socket.socket | None = None
        self._notify_address = ""
        self._ready_sent = False
        self._reloading: set[int] = set()
        # Paused through this parent: a worker that restarts starts with them paused, as its siblings keep them.
        self.paused: set[str] = set()
        self._catching_up: set[asyncio.Task[Any]] = set()

    # -- signals -----------------------------------------------------------------------------------
    def _forward(self, signum: int) -> None:
        for worker in self.workers:
            if worker.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signum)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP:
            self._reloading = {w.index for w in self.workers if w.pid is not None}
            if self._reloading:
                self.notifier.reloading()
            self.log.info("workers_rescan_forwarded", signal=name, workers=sorted(self._reloading))
        else:
            self._signals += 1
            if self._signals == 1:
                self.log.info("daemon_stopping", signal=name)
            else:  # the workers force their exit on a second signal, as a single daemon does
                self.log.warning("second_signal_forwarded", signal=name)
            self._stop.set()
        self._forward(signum)

    # -- the workers -------------------------------------------------------------------------------
    def _worker_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in _UNHEARD}
        env["NOTIFY_SOCKET"] = self._notify_address
        if self.bundled is not None and self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    async def _spawn(self, worker: Worker) -> None:
        command = [sys.executable, "-m", "supervisor", *self.argv, "--workers", "1",
                   "--control-socket", str(worker.control_socket), "--worker-index", str(worker.index),
                   "--worker-count", str(len(self.workers))]
        worker.paused_at_spawn = frozenset(self.paused)
        command += [f"--start-paused={name}" for name in sorted(worker.paused_at_spawn)]
        # A process group of its own: Ctrl-C reaches the parent alone, which forwards it once.
        worker.process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, env=self._worker_env(), process_group=0)
        worker.started = time.monotonic()
        worker.ready = False
        worker.status = "starting"
        self.log.info("worker_started", worker=worker.index, pid=worker.process.pid, restarts=worker.restarts,
                      control_socket=str(worker.control_socket))
        if self._stop.is_set():  # a stop came while it was being started
            self._forward(signal.SIGTERM)

    def _delay(self, worker: Worker, uptime: float) -> float:
        if uptime >= STABLE_SECONDS:
            worker.streak = 0
        delay = 0.0 if worker.streak == 0 else min(BACKOFF_MAX, 2.0 ** (worker.streak - 1))
        worker.streak += 1
        return delay

    async def _supervise(self, worker: Worker) -> None:
        """Run worker `index` until the parent stops; a dead one is started again, alone."""
        while not self._stop.is_set():
            try:
                await self._spawn(worker)
            except OSError as error:
                self.log.error("worker_start_failed", worker=worker.index, error=str(error))
                code, uptime = None, 0.0
            else:
                assert worker.process is not None
                code = await worker.process.wait()
                uptime = time.monotonic() - worker.started
            worker.ready = False
            self._reloading.discard(worker.index)
            if self._stop.is_set():
                worker.final_code = code
                self.log.info("worker_stopped", worker=worker.index, code=code)
                return
            delay = self._delay(worker, uptime)
            self.log.warning("worker_exited", worker=worker.index, code=code, uptime_s=round(uptime, 1),
                             signal=signal.Signals(-code).name if code is not None and code < 0 else None,
                             restart_in_s=delay)
            worker.status = "restarting"
            worker.restarts += 1
            with contextlib.suppress(TimeoutError):  # asyncio.timeout, not wait_for: a stop's cancel is never lost
                async with asyncio.timeout(delay):
                    await self._stop.wait()

    # -- systemd notifications from the workers -------------------------------------------------------
    def _open_notify(self) -> None:
        """An abstract datagram socket for the workers' sd_notify; the sender's PID (SCM_CREDENTIALS) says who."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
        name = f"discord-supervisor-workers-{os.getpid()}-{secrets.token_hex(8)}"
        sock.bind("\0" + name)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._notify, self._notify_address = sock, "@" + name
        asyncio.get_running_loop().add_reader(sock.fileno(), self._on_notify)

    def _on_notify(self) -> None:
        assert self._notify is not None
        while True:
            try:
                data, ancillary, _flags, _address = self._notify.recvmsg(4096, socket.CMSG_SPACE(12))
            except (BlockingIOError, InterruptedError):
                return
            pid = next((struct.unpack("iII", payload[:12])[0] for level, kind, payload in ancillary
                        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), None)
            worker = next((w for w in self.workers if pid is not None and w.pid == pid), None)
            if worker is not None:
                self._heard(worker, dict(line.split("=", 1) for line in data.decode(errors="replace").splitlines()
                                         if "=" in line))

    def _heard(self, worker: Worker, fields: dict[str, str]) -> None:
        worker.status = fields.get("STATUS", worker.status)
        if fields.get("READY") != "1":
            return
        if not worker.ready:
            self.log.info("worker_ready", worker=worker.index, pid=worker.pid, status=worker.status)
        worker.ready = True
        self._reloading.discard(worker.index)
        self._catch_up_pauses(worker)
        if not self._ready_sent and all(w.ready for w in self.workers):
            self._ready_sent = True
            self.notifier.ready(self.status_line())
            self.log.info("workers_ready", workers=len(self.workers), status=self.status_line())
        elif self._ready_sent and not self._reloading:
            self.notifier.ready(self.status_line())

    def _catch_up_pauses(self, worker: Worker) -> None:
        """A pause or resume that came while this worker was starting (after its command line was made)."""
        changes = [("pause", name) for name in sorted(self.paused - worker.paused_at_spawn)]
        changes += [("resume", name) for name in sorted(worker.paused_at_spawn - self.paused)]
        worker.paused_at_spawn = frozenset(self.paused)
        for command, name in changes:
            task = asyncio.get_running_loop().create_task(self._ask(worker, {"command": command, "name": name}))
            self._catching_up.add(task)
            task.add_done_callback(self._catching_up.discard)

    def status_line(self) -> str:
        return "; ".join(f"worker {w.index}: {w.status}" for w in self.workers)

    async def _keep_systemd_informed(self) -> None:
        while True:
            await asyncio.sleep(self.notifier.watchdog_interval or 5.0)
            self.notifier.status(self.status_line())
            if self.notifier.watchdog_interval:
                self.notifier.watchdog()

    # -- the control socket ------------------------------------------------------------------------
    async def _ask(self, worker: Worker, payload: dict[str, Any]) -> dict[str, Any] | None:
        if worker.pid is None:
            return None
        try:
            return await request(worker.control_socket, payload, timeout=FORWARD_TIMEOUT)
        except ControlUnavailable:
            return None

    async def _ask_all(self, payload: dict[str, Any]) -> list[dict[str, Any] | None]:
        return list(await asyncio.gather(*(self._ask(worker, payload) for worker in self.workers)))

    async def handle_control(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = payload.get("command")
        if command == "ping":
            return {"ok": True, "workers": len(self.workers)}
        if command == "workers":
            return {"ok": True, "workers": [worker.row() for worker in self.workers]}
        if command == "status":
            return merge_status(list(zip(self.workers, await self._ask_all(payload), strict=True)))
        if command == "mcp_call":
            return await self._mcp_call(payload)
        how = FORWARD.get(str(command), "any")
        if how == "owner":
            status = merge_status(list(zip(self.workers, await self._ask_all({"command": "status"}), strict=True)))
            owner = next((item["worker"] for item in status["instances"] if item["name"] == payload.get("name")),
                         None)
            if owner is not None:
                how = "one"
                answer = await self._ask(self.workers[owner - 1], payload)
                if answer is not None:
                    return answer
        if how == "any":  # the same answer from any worker: the fleet tables, a database, the MCP tools
            for worker in self.workers:
                answer = await self._ask(worker, payload)
                if answer is not None:
                    return answer
            return {"ok": False, "error": "no worker answered (they are starting or restarting); try again"}
        answers = await self._ask_all(payload)
        if how != "all":  # restart of an instance no worker runs: whichever worker may start it says so
            return next((a for a in answers if a and a.get("ok")), None) or _all_answered(answers)
        answer = _all_answered(answers)
        if answer.get("ok") and command in ("pause", "resume"):
            name = str(payload.get("name"))
            if command == "pause":
                self.paused.add(name)
            else:
                self.paused.discard(name)
        return answer

    async def _mcp_call(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`discord-supervisor mcp` through the parent: `list_instances` shows each instance once, from the worker
        that runs it; any other tool runs on the first worker whose instance answers to it (one, as a single daemon
        picks one)."""
        from supervisor.mcp.router import LIST_INSTANCES, NO_INSTANCES  # here: the parent loads no discord.py

        unanswered = {"ok": False, "error": "no worker answered (they are starting or restarting); try again"}
        if payload.get("tool") == LIST_INSTANCES:
            answers = [answer for answer in await self._ask_all(payload) if answer is not None]
            lines: dict[str, str] = {}  # instance -> its line: `name | state | mcp: .. | guilds: ..`
            for answer in answers:
                for line in str(answer.get("text", "")).splitlines():
                    name = line.partition(" | ")[0]
                    if line != NO_INSTANCES and (name not in lines or _line_rank(line) < _line_rank(lines[name])):
                        lines[name] = line
            text = "\n".join(lines[name] for name in sorted(lines)) or NO_INSTANCES
            return {"ok": True, "text": text, "is_error": False} if answers else unanswered
        first_miss: dict[str, Any] | None = None
        for worker in self.workers:
            reply = await self._ask(worker, payload)
            if reply is not None and not reply.get("not_here"):
                return reply
            first_miss = first_miss or reply
        return first_miss or unanswered

    # -- lifecycle ---------------------------------------------------------------------------------
    async def _start_database(self) -> None:
        """The bundled PostgreSQL, started once here when an instance has no DATABASE_URL of its own."""
        if self.database_url:
            return
        reports = await asyncio.to_thread(load_all, self.settings.instances_dir, None)
        if not any(report.spec is not None and not report.spec.database_url for report in reports):
            return  # every instance has its own server (a newcomer without one: the workers share the bundled one)
        self.bundled = BundledPostgres(self.settings.state_dir)
        self.database_url = await self.bundled.start()
        self.log.info("database_bundled_for_workers", data=str(self.bundled.data), started=self.bundled.started_here)

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(signum, self._on_signal, signum)
        try:
            await self.control.start()
            await self._start_database()
            self._open_notify()
        except (RuntimeError, OSError, BundledError) as error:
            self.log.error("workers_start_failed", error=str(error))
            await self._close()
            return 1
        self.log.info("workers_starting", workers=len(self.workers), control_socket=str(self.socket))
        tasks = [loop.create_task(self._supervise(worker)) for worker in self.workers]
        informer = loop.create_task(self._keep_systemd_informed())
        await self._stop.wait()
        self.notifier.stopping()
        informer.cancel()
        _done, pending = await asyncio.wait(tasks, timeout=self.settings.shutdown_timeout + STOP_GRACE)
        code = 0
        if pending:
            self.log.error("workers_stop_deadline_passed", workers=[w.index for w in self.workers if w.pid])
            self._forward(signal.SIGKILL)
            await asyncio.gather(*pending, return_exceptions=True)
            code = 1
        if any(worker.final_code not in (0, None) for worker in self.workers):
            code = 1
        await self._close()
        self.log.info("workers_stopped", code=code, exit_codes={w.index: w.final_code for w in self.workers})
        return code

    async def _close(self) -> None:
        if self._notify is not None:
            asyncio.get_running_loop().remove_reader(self._notify.fileno())
            self._notify.close()
        if self.bundled is not None and await self.bundled.stop():
            self.log.info("bundled_postgres_stopped", data=str(self.bundled.data))
        await self.control.stop()


def run(settings: SupervisorSettings, argv: list[str]) -> int:
    """The parent of `run --workers N` (N > 1): returns its exit code."""
    log = get_logger("supervisor.workers")
    if not settings.instances_dir.is_dir():
        log.error("instances_dir_missing", instances_dir=str(settings.instances_dir))
        return 1
    lock = DaemonLock(settings.socket_path())
    try:
        lock.acquire()
    except DaemonAlreadyRunning as error:
        log.error("daemon_already_running", reason=str(error))
        return 1
    try:
        return asyncio.run(Parent(settings, argv).serve())
    finally:
        lock.release()
