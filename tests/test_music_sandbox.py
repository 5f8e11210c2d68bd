"""The sandbox's music: /voice puts you in a voice channel, `!play chord` plays a track the sandbox made, and
the prompt shows what the bot plays with the packets the emulator decrypted."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.support import REPO, SandboxSession

pytestmark = pytest.mark.e2e  # the sandbox as a separate process


async def test_sandbox_plays_its_own_tracks_and_counts_packets(tmp_path: Path, database_url: str, unique,
                                                               schemas: list[str]) -> None:
    instances = tmp_path / "instances"
    name = unique("music")
    schemas.append(f"sandbox_{name}")
    shutil.copytree(REPO / "instances" / "example", instances / name)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supervisor", "sandbox", "--instances", str(instances), "--state-dir",
        str(tmp_path / "state"), cwd=tmp_path, env={**os.environ, "DATABASE_URL": database_url},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    session = SandboxSession(process)
    try:
        await session.read_until("Type a message, or /help.")
        await session.type("!play chord")
        await session.read_until("You need to be in a voice channel!")
        await session.type("/voice #General")
        await session.read_until("you joined voice #General.")
        mark = len(session.output)
        await session.type("!play chord")
        shown = await session.read_until("Requested by", since=mark, timeout=60)
        assert "Now Playing" in shown[mark:] and "c-major-chord" in shown[mark:]
        counts = []
        for _ in range(40):  # each echoed line shows the prompt: the counter moves while the chord plays
            mark = len(session.output)
            await session.type("/members")
            echoed = await session.read_until("/members", since=mark)
            found = re.search(rf"\({re.escape(name)} ♪ c-major-chord (\d+) packets\)", echoed[mark:])
            if found:
                counts.append(int(found[1]))
            if len(counts) >= 2 and counts[-1] > counts[0]:
                break
        assert len(counts) >= 2 and counts[-1] > counts[0], session.output[-2000:]
        await session.type("!stop")
        await session.read_until("Stopped playback, cleared queue, and left voice.")
        await session.type("/quit")
        assert await asyncio.wait_for(process.wait(), 60) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
