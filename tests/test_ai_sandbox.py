"""The sandbox's stand-in model: a newcomer sees AI chat, the personality and the approval buttons with no key."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

from supervisor.sandbox.mentions import resolve
from tests.support import REPO, SandboxSession

pytestmark = pytest.mark.e2e  # the sandbox as a separate process


def test_at_names_become_mentions() -> None:
    names = {"alice": 1, "bot": 9}
    assert resolve("@bot ban @Alice now, mail a@b.c, <@5>, @nobody", names) == \
        "<@9> ban <@1> now, mail a@b.c, <@5>, @nobody"


async def test_sandbox_chat_with_the_stand_in_model(tmp_path: Path, database_url: str, unique,
                                                     schemas: list[str]) -> None:
    instances = tmp_path / "instances"
    name = unique("example")  # its own schema, sandbox_<name>: other runs on this server may have the example's
    schemas.append(f"sandbox_{name}")
    shutil.copytree(REPO / "instances" / "example", instances / name)
    first_line = (instances / name / "personality.txt").read_text().strip().splitlines()[0]
    env = {**os.environ, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supervisor", "sandbox", "--instances", str(instances), "--state-dir",
        str(tmp_path / "state"), cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    session = SandboxSession(process)
    try:
        await session.read_until("Type a message, or /help.", timeout=60)
        await session.type("@bot hello there")
        shown = await session.read_until("you said: \u201chello there\u201d", timeout=60)
        assert "(sandbox stand-in model, no real AI)" in shown and first_line in shown
        mark = len(session.output)
        await session.type("@bot please ban @bob for 2h")
        shown = await session.read_until("[1 Approve] [2 Cancel]", since=mark, timeout=60)
        assert "Confirm Mod Action" in shown[mark:] and "for 2h" in shown[mark:]  # markdown rendered
        await session.type("/as alice")  # a moderator
        mark = len(session.output)
        await session.type("/press 1")
        await session.read_until("Banned bob for 2h.", since=mark, timeout=60)
        await session.type("/bans")
        shown = await session.read_until(" by alice via AI chat (2h): asked in the sandbox", timeout=30)
        assert "bob: Tempban #" in shown
        await session.type("/quit")
        assert await asyncio.wait_for(process.wait(), 60) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
