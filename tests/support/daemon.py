"""Run the real daemon (`python -m supervisor run`) or the command line as a separate process.

Only for what needs a daemon: signals, watching, restarts, outages, systemd, the CLI. Feature behaviour is
tested in-process with the FeatureHarness (tests/support/harness.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.folders import REPO
from tests.support.logbook import LogBook, LogPredicate


class DaemonProcess:
    def __init__(self, instances_dir: Path, work_dir: Path, *, api_base: str, gateway_url: str,
                 database_url: str | None = None, extra_args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None, ca_file: str | None = None,
                 program: tuple[str, ...] = ("-m", "supervisor"), journal: bool = False):
        """`program`: what the interpreter runs, `-m supervisor` (the CLI) unless a test wraps it."""
        self.program = program
        self.journal = journal  # stderr as systemd gives it: JOURNAL_STREAM names it; lines carry `<N>` priorities
        self.priorities: list[tuple[int, str]] = []  # (priority, line) of each line, with `journal`
        self.instances_dir = instances_dir
        self.control_socket = work_dir / "control.sock"
        self.work_dir = work_dir
        self.args = [
            "run", "--instances", str(instances_dir), "--api-base-url", api_base, "--gateway-url", gateway_url,
            "--control-socket", str(self.control_socket), "--guild-ready-timeout", "0.1", "--log-format", "json",
            *(("--ca-file", ca_file) if ca_file else ()), *extra_args,
        ]
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "SUPERVISOR_INSTANCES", "NOTIFY_SOCKET", "WATCHDOG_USEC")}
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.env.update(env or {})
        self.book = LogBook()
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def logs(self) -> list[dict[str, Any]]:
        return self.book.entries

    async def start(self) -> DaemonProcess:
        stderr: int = asyncio.subprocess.PIPE
        env = self.env
        if self.journal:  # a pipe of our own, so that JOURNAL_STREAM can name it (both ends share its inode)
            read_end, stderr = os.pipe()
            found = os.fstat(stderr)
            env = {**env, "JOURNAL_STREAM": f"{found.st_dev}:{found.st_ino}"}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *self.program, *self.args, cwd=self.work_dir, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )
        if self.journal:
            os.close(stderr)
            reader = asyncio.StreamReader()
            await asyncio.get_running_loop().connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_end, "rb"))
            self._reader = asyncio.create_task(self._read(reader))
        else:
            assert self.process.stderr is not None
            self._reader = asyncio.create_task(self._read(self.process.stderr))
        return self

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip()
            if self.journal and (found := re.match(r"<([0-7])>", text)):
                self.priorities.append((int(found.group(1)), text))
                text = text[found.end():]
            self.book.add_line(text)

    def _gone(self) -> bool:
        return bool(self.process and self.process.returncode is not None and self._reader and self._reader.done())

    def find(self, predicate: LogPredicate, start: int = 0) -> dict[str, Any] | None:
        return self.book.find(predicate, start)

    def count(self, predicate: LogPredicate, start: int = 0) -> int:
        return self.book.count(predicate, start)

    async def wait_log(self, predicate: LogPredicate, timeout: float = 60.0, start: int = 0,
                       count: int = 1) -> dict[str, Any]:
        # Generous: a daemon starting on a loaded machine was seen to stall 10 s (its watchdog said so) before
        # its first lines; a wait that runs out is a failure, so this only ever costs time when it fails.
        return await self.book.wait(predicate, timeout, start, count, gone=self._gone)

    async def wait_running(self, *names: str, timeout: float = 60.0, start: int = 0) -> None:
        for name in names:
            await self.wait_log(lambda e, n=name: e.get("event") == "instance_running" and e.get("instance") == n,
                                timeout, start)

    async def stop(self, signum: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process
        if self.process.returncode is None:
            self.process.send_signal(signum)
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
            if self._reader:
                await asyncio.gather(self._reader, return_exceptions=True)
        return code

    @property
    def stderr_text(self) -> str:
        return "\n".join(self.book.raw)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command line, as a separate process."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SUPERVISOR_INSTANCES")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "supervisor", *args], capture_output=True, text=True, env=full_env,
        cwd=cwd or REPO, timeout=timeout,
    )


async def run_cli_async(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supervisor", *args, cwd=REPO, env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def status(daemon: DaemonProcess) -> dict[str, dict[str, Any]]:
    """`status --json` from the running daemon, by instance name."""
    code, out, err = await run_cli_async("status", "--json", "--control-socket", str(daemon.control_socket))
    assert code == 0, err
    return {item["name"]: item for item in json.loads(out)}
