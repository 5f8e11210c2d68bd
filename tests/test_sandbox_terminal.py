"""The sandbox on a terminal (a pty): history, a line kept while a notice arrives, mentions, bans that hold."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.support import REPO

pytestmark = pytest.mark.e2e  # the sandbox on a pseudo-terminal, as a separate process

UP = "\x1b[A"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


class Terminal:
    def __init__(self, master: int):
        self.master = master
        self.raw = ""

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw)

    async def expect(self, wanted: str, count: int = 1, timeout: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.text.count(wanted) < count:
            assert loop.time() < deadline, f"{wanted!r} x{count} not shown:\n{self.text[-3000:]}"
            ready, _, _ = await asyncio.to_thread(select.select, [self.master], [], [], 0.5)
            if not ready:
                continue
            try:
                self.raw += os.read(self.master, 65536).decode(errors="replace")
            except OSError:
                raise AssertionError(f"the sandbox ended before {wanted!r}:\n{self.text[-3000:]}") from None

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())


async def test_sandbox_on_a_terminal(tmp_path: Path, database_url: str, unique) -> None:
    name = unique("term")  # its own schema, sandbox_<name>: other sandbox runs may share the server
    instances = tmp_path / "instances"
    shutil.copytree(REPO / "instances" / "example", instances / name)
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "sandbox", "--instances", str(instances), "--state-dir",
         str(tmp_path / "state")], stdin=slave, stdout=slave, stderr=slave, cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": database_url, "TERM": "xterm", "COLUMNS": "200", "LINES": "50"},
    )
    os.close(slave)
    term = Terminal(master)
    try:
        await term.expect("Type a message, or /help.")
        assert "Database: postgresql://" in term.text and "dropped at exit" in term.text
        term.type("!ping\r")
        await term.expect("Pong!")
        term.type(UP + "\r")  # history: the same line again
        await term.expect("Pong!", count=2)

        term.type("!pi")  # half a line, then a notice arrives
        config = instances / name / "config.toml"
        config.write_text(config.read_text().replace('bot_name = "Example Bot"', 'bot_name = "Renamed Bot"'))
        await term.expect(f"{name}: config reloaded")
        term.type("ng\r")  # the typed half survived the notice
        await term.expect("Pong!", count=3)
        config.write_text("bot_name = \n")
        await term.expect(f"{name}: config rejected, still on the last good one: {name}/config.toml:1: invalid TOML")

        term.type("!setlog #mod-log\r")  # a typed channel becomes a real mention, and the reply shows its name
        await term.expect("Audit log channel set to #mod-log.")
        term.type("/members\r")
        await term.expect("  carol ")
        assert re.search(r"  carol \d{15,21}: Member", term.text), term.text[-1000:]

        term.type("!ban @carol 1h spamming\r")
        await term.expect("Banned carol for 1h.")
        await term.expect("Expires in 1 hour.")  # <t:…:R> as a terminal shows it
        term.type("/as carol\r")
        term.type("hello?\r")
        await term.expect(f"carol is not in {name}'s guild (banned) and cannot post there")
        term.type("/as you\r")
        term.type("!unban @carol\r")
        await term.expect("Unbanned carol.")
        term.type("/quit\r")
        assert await asyncio.to_thread(process.wait, 60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
        connection = await asyncpg.connect(database_url)
        await connection.execute(f'DROP SCHEMA IF EXISTS "sandbox_{name}" CASCADE')
        await connection.close()
