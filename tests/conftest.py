"""Shared fixtures: a real Postgres, instance folders on disk, schemas that are dropped afterwards."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from supervisor.emulator import Emulator
from tests import postgres

REPO = Path(__file__).resolve().parent.parent


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    """Our Discord emulator on a loopback port; a daemon under test is pointed at it by flags."""
    emulator = Emulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        assert not emulator.internal_errors, emulator.internal_errors
        await emulator.stop()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url, handle = postgres.find_or_start()
    yield url
    del handle


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names that never collide between tests or runs."""
    return lambda prefix: f"{prefix}_{secrets.token_hex(4)}"


@pytest_asyncio.fixture
async def schemas(database_url: str) -> AsyncIterator[list[str]]:
    """Append schema names a test creates; they are dropped afterwards."""
    created: list[str] = []
    yield created
    if created:
        connection = await asyncpg.connect(database_url)
        try:
            for schema in created:
                await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()


def fake_token(name: str) -> str:
    return f"{name}.{secrets.token_hex(12)}"


class InstanceFolders:
    """Writes instance folders the way a user would."""

    def __init__(self, root: Path):
        self.root = root

    def make(
        self,
        name: str,
        *,
        config: str | None = None,
        env: dict[str, str] | str | None = None,
        personality: str | bytes | None = "You are a helpful test bot.",
        prefix: str = "!",
    ) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        if config is None:
            config = f'bot_name = "{name} bot"\ncommand_prefix = "{prefix}"\n'
        (folder / "config.toml").write_text(config, encoding="utf-8")
        if personality is not None:
            data = personality.encode() if isinstance(personality, str) else personality
            (folder / "personality.txt").write_bytes(data)
        if env is not None:
            if isinstance(env, dict):
                env = "".join(f"{key}={value}\n" for key, value in env.items())
            (folder / ".env").write_text(env, encoding="utf-8")
        return folder


@pytest.fixture
def instances(tmp_path: Path) -> InstanceFolders:
    return InstanceFolders(tmp_path / "instances")


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command line, as a separate process."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SUPERVISOR_INSTANCES")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "supervisor", *args], capture_output=True, text=True, env=full_env,
        cwd=cwd or REPO, timeout=timeout,
    )


# The in-process feature harness (tests/harness.py) and the Finnhub stand-in (tests/finnhub.py), for every test.
pytest_plugins = ["tests.harness", "tests.finnhub"]
