"""The sandbox plays Wordle and Connections offline, on its own NYT stand-in; /press works on the word buttons."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import shutil
import sys
from pathlib import Path

import asyncpg
import pytest

from supervisor.sandbox.nyt import NytStandIn
from tests.support import REPO, SandboxSession

pytestmark = pytest.mark.e2e  # the sandbox as a separate process


def with_root_m(config: str) -> str:
    """The example's config answering to `!m <command>`, as the original's default."""
    lines = [line for line in config.splitlines() if not line.startswith("command_root")]
    at = next(i for i, line in enumerate(lines) if line.startswith("command_prefix")) + 1
    return "\n".join([*lines[:at], 'command_root = "m"', *lines[at:]]) + "\n"


def button_numbers(shown: str) -> dict[str, int]:
    """The last button row printed: label -> the number /press takes."""
    row = [line for line in shown.splitlines() if line.strip().startswith("[1 ")][-1]
    return {label: int(number) for number, label in re.findall(r"\[(\d+) ([^\]]+?)(?: \(disabled\))?\]", row)}


async def test_sandbox_plays_both_games_offline(tmp_path: Path, database_url: str, unique) -> None:
    instances = tmp_path / "instances"
    name = unique("puzzles")  # its own schema, sandbox_<name>: other sandbox tests may run meanwhile
    shutil.copytree(REPO / "instances" / "example", instances / name)
    config = instances / name / "config.toml"
    config.write_text(with_root_m(config.read_text()))
    env = {key: value for key, value in os.environ.items() if key != "NYT_BASE_URL"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supervisor", "sandbox", "--instances", str(instances), "--state-dir",
        str(tmp_path / "state"), cwd=tmp_path, env={**env, "DATABASE_URL": database_url},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    session = SandboxSession(process)
    today = dt.datetime.now(dt.UTC).date()
    try:
        await session.read_until("Type a message, or /help.")
        mark = len(session.output)
        await session.type("!m wordle")
        await session.read_until(f"Wordle — {today.isoformat()}", since=mark)
        mark = len(session.output)
        await session.type(NytStandIn.wordle_solution(today))
        await session.read_until("Solved in 1! 🎉", since=mark)

        mark = len(session.output)
        await session.type("!m connections")
        shown = await session.read_until("(/press N)", since=mark)
        numbers = button_numbers(shown[mark:])
        title, words = NytStandIn.connections_groups(today)[0]
        assert set(words) <= set(numbers) and {"Shuffle", "Deselect", "Submit"} <= set(numbers), numbers
        for word in words:
            await session.type(f"/press {numbers[word]}")
        mark = len(session.output)
        await session.type(f"/press {numbers['Submit']}")
        await session.read_until(f"🟨 {title} solved by @you!", since=mark)  # markdown and mention rendered
        await session.type("/quit")
        assert await asyncio.wait_for(process.wait(), 60) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "sandbox_{name}" CASCADE')
        finally:
            await connection.close()
