"""The sandbox driven through piped stdin, and `new` + `check` as a newcomer would use them."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from supervisor.sdk import VERSION
from tests.support import REPO, SandboxSession, run_cli

pytestmark = pytest.mark.e2e  # the sandbox and `new` as the command line


async def test_sandbox_through_piped_stdin(tmp_path: Path, database_url: str, unique, schemas: list[str]) -> None:
    name = unique("piped")  # its own schema, sandbox_<name>: other sandbox runs may share the server
    schemas.append(f"sandbox_{name}")
    instances = tmp_path / "instances"
    shutil.copytree(REPO / "instances" / "example", instances / name)
    env = {**os.environ, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supervisor", "sandbox", "--instances", str(instances), "--state-dir",
        str(tmp_path / "state"), cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    session = SandboxSession(process)
    try:
        opening = await session.read_until("Type a message, or /help.")
        console = re.search(r"The web console: (http://127\.0\.0\.1:\d+/)", opening)
        assert console, opening
        async with aiohttp.ClientSession() as http, http.get(console.group(1)) as page:
            assert page.status == 200 and name in await page.text()  # the fleet table lists the instance
        await session.type("!ping")
        await session.read_until("Example Bot: Pong!")
        await session.type("!help")
        shown = await session.read_until(f"— Example Bot v{VERSION}")  # the original's help footer
        assert "Example Bot Commands" in shown and "!ping" in shown and "!ban <member>" in shown
        assert "`" not in shown.partition("!help")[2]  # markdown rendered, not printed raw
        await session.type("/status")
        shown = await session.read_until(f"{name}  running")
        # A live edit during the session: the new prefix answers, the old one no longer does.
        config = instances / name / "config.toml"
        config.write_text(config.read_text().replace('command_prefix = "!"', 'command_prefix = "?"'))
        for _ in range(20):  # until the reload has happened
            mark = len(session.output)
            await session.type("?ping")
            try:
                await session.read_until("Pong! Gateway latency", since=mark, timeout=1.0)
                await session.read_until(" ms.\n", since=mark, timeout=1.0)
                break
            except AssertionError:
                continue
        else:
            raise AssertionError(f"the new prefix never answered:\n{session.output}")
        mark = len(session.output)
        await session.type("!ping")
        await session.type("?ping")
        await session.read_until("you> ?ping", since=mark)
        after = await session.read_until("Pong!", since=mark)
        assert after[mark:].count("Pong!") == 1, after[mark:]
        assert after[mark:].index("you> ?ping") < after[mark:].index("Pong!")  # the answer came to ?ping
        await session.type("/quit")
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_new_then_check_reports_only_the_token(tmp_path: Path) -> None:
    instances = tmp_path / "instances"
    created = run_cli("new", "my-bot", "--instances", str(instances))
    assert created.returncode == 0, created.stderr
    assert "DISCORD_TOKEN" in created.stdout
    assert "DB_SCHEMA=my_bot" in (instances / "my-bot" / ".env").read_text()
    checked = run_cli("check", "--instances", str(instances))
    assert checked.returncode == 1
    problems = [line.strip() for line in checked.stdout.splitlines() if line.startswith("  ")]
    assert problems == ["my-bot/.env:4: DISCORD_TOKEN: still has the placeholder value; put the bot's real token here"]
    again = run_cli("new", "my-bot", "--instances", str(instances))
    assert again.returncode == 1 and "already exists" in again.stderr


@pytest.mark.slow
def test_quick_start_sandbox_needs_no_database_setup(tmp_path: Path) -> None:
    """The README's first command: no DATABASE_URL anywhere, so the bundled PostgreSQL serves the sandbox."""
    shutil.copytree(REPO / "instances" / "example", tmp_path / "instances" / "example")
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", "sandbox"], input="!ping\n/status\n/quit\n", capture_output=True,
        text=True, cwd=tmp_path, timeout=180,
        env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SUPERVISOR_INSTANCES")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Example Bot: Pong!" in result.stdout
    assert "example   running" in result.stdout
    log = (tmp_path / "var" / "sandbox.log").read_text()
    assert '"event": "database_bundled"' in log  # the bundled PostgreSQL serves it


async def test_sandbox_state_goes_at_exit_unless_keep(tmp_path: Path, database_url: str, unique,
                                                      schemas: list[str]) -> None:
    name = unique("keep")
    schemas.append(f"sandbox_{name}")
    shutil.copytree(REPO / "instances" / "example", tmp_path / "instances" / name)

    async def session(*flags: str) -> bool:
        """Run one sandbox session; True if its schema is still there afterwards."""
        result = await asyncio.to_thread(
            run_cli, "sandbox", "--instances", str(tmp_path / "instances"), "--state-dir", str(tmp_path / "state"),
            *flags, env={"DATABASE_URL": database_url}, cwd=tmp_path,
        )
        assert result.returncode == 0 and "Database: postgresql://" in result.stdout, result.stdout + result.stderr
        connection = await asyncpg.connect(database_url)
        try:
            return bool(await connection.fetchval(
                "SELECT count(*) FROM pg_namespace WHERE nspname = $1", f"sandbox_{name}"))
        finally:
            await connection.close()

    assert await session("--keep")
    assert not await session()


async def test_a_kept_sandbox_keeps_its_guild_so_kept_tempbans_and_settings_still_apply(
        tmp_path: Path, database_url: str, unique, schemas: list[str]) -> None:
    name = unique("kept")
    schemas.append(f"sandbox_{name}")
    shutil.copytree(REPO / "instances" / "example", tmp_path / "instances" / name)

    def session(lines: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "supervisor", "sandbox", "--keep", "--instances", str(tmp_path / "instances"),
             "--state-dir", str(tmp_path / "state")], input=lines + "/quit\n", capture_output=True, text=True,
            cwd=tmp_path, timeout=180, env={**os.environ, "DATABASE_URL": database_url})
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    first = session("!ban @carol 1h spam\n!setlog #mod-log\n")
    assert "carol" in first and "Banned" in first, first
    # The next run: the same guild, the same carol, so the kept tempban and mod-log setting are still theirs.
    second = session("!banlist\n!settings\n")
    assert "carol" in second, second
    assert "#mod-log" in second, second
