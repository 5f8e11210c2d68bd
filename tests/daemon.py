"""Run the real daemon (`python -m supervisor run`) as a separate process and read its JSON log lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import REPO

LogPredicate = Callable[[dict[str, Any]], bool]


async def eventually(condition: Callable[[], Any], timeout: float = 15.0) -> None:
    """Poll a plain or async condition until it holds; fail the test if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


class DaemonProcess:
    def __init__(self, instances_dir: Path, work_dir: Path, *, api_base: str, gateway_url: str,
                 database_url: str | None = None, extra_args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None):
        self.instances_dir = instances_dir
        self.control_socket = work_dir / "control.sock"
        self.work_dir = work_dir
        self.args = [
            "run", "--instances", str(instances_dir), "--api-base-url", api_base, "--gateway-url", gateway_url,
            "--control-socket", str(self.control_socket), "--guild-ready-timeout", "0.1", "--log-format", "json",
            *extra_args,
        ]
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "SUPERVISOR_INSTANCES", "NOTIFY_SOCKET", "WATCHDOG_USEC")}
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.env.update(env or {})
        self.logs: list[dict[str, Any]] = []
        self.raw_stderr: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._new_line = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> DaemonProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "supervisor", *self.args, cwd=self.work_dir, env=self.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process and self.process.stderr
        while line := await self.process.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self.raw_stderr.append(text)
            with contextlib.suppress(json.JSONDecodeError):
                entry = json.loads(text)
                if isinstance(entry, dict):
                    self.logs.append(entry)
            async with self._new_line:
                self._new_line.notify_all()
        async with self._new_line:
            self._new_line.notify_all()

    def find(self, predicate: LogPredicate, start: int = 0) -> dict[str, Any] | None:
        return next((entry for entry in self.logs[start:] if predicate(entry)), None)

    async def wait_log(self, predicate: LogPredicate, timeout: float = 20.0, start: int = 0) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            async with self._new_line:
                while True:
                    found = self.find(predicate, start)
                    if found:
                        return found
                    if self.process and self.process.returncode is not None and self._reader and self._reader.done():
                        raise AssertionError("daemon exited:\n" + "\n".join(self.raw_stderr[-40:]))
                    await self._new_line.wait()
        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError("log line not seen; last lines:\n" + "\n".join(self.raw_stderr[-40:])) from None

    async def wait_running(self, *names: str, timeout: float = 30.0, start: int = 0) -> None:
        for name in names:
            await self.wait_log(lambda e, n=name: e.get("event") == "instance running" and e.get("instance") == n,
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
        return "\n".join(self.raw_stderr)


async def run_cli_async(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supervisor", *args, cwd=REPO, env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
