"""The sandbox's simulated market: the stock game plays with no Finnhub key, and /market shows the prices."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.support import REPO, SandboxSession

pytestmark = pytest.mark.e2e  # the sandbox as a separate process

async def test_sandbox_market_plays_without_a_key(tmp_path: Path, database_url: str, unique) -> None:
    instances = tmp_path / "instances"
    name = unique("market")  # its own schema, sandbox_<name>: other sandbox tests may run meanwhile
    shutil.copytree(REPO / "instances" / "example", instances / name)
    env = {key: value for key, value in os.environ.items() if key != "FINNHUB_BASE_URL"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supervisor", "sandbox", "--instances", str(instances), "--state-dir",
        str(tmp_path / "state"), cwd=tmp_path, env={**env, "DATABASE_URL": database_url},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    session = SandboxSession(process)
    try:
        await session.read_until("Type a message, or /help.")
        mark = len(session.output)
        await session.type("/market")
        shown = (await session.read_until("XOM", since=mark))[mark:]  # the last ticker, sorted
        assert "Simulated market" in shown and re.search(r"AAPL +\d+\.\d\d  [▲▼] *\d+\.\d\d%", shown), shown
        mark = len(session.output)
        await session.type("!stock buy AAPL 2")
        bought = await session.read_until("Cash Remaining", since=mark)
        assert "Stock Purchased" in bought[mark:] and "Bought 2 shares of AAPL" in bought[mark:]  # markdown rendered
        mark = len(session.output)
        await session.type("!stock price NOPE")
        await session.read_until("Could not find stock symbol NOPE", since=mark)
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
