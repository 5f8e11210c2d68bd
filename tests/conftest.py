"""Shared fixtures: a real Postgres, instance folders on disk, schemas that are dropped afterwards, the emulator.

Plain helpers live in tests/support (import them from `tests.support`).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from supervisor.database import quote_ident
from supervisor.emulator import Emulator
from tests.support import postgres
from tests.support.folders import InstanceFolders

# Fixtures kept beside their helpers: the in-process harness (`harness`, `harness_factory`, `instance_logs`) and
# the Finnhub stand-in (`finnhub`), the Minecraft plugin's (`mc_plugin`), the NYT's (`nyt`) and the music tracks'
# (`audio_server`), for every test.
pytest_plugins = ["tests.support.harness", "tests.support.finnhub", "tests.support.mc_plugin", "tests.support.nyt",
                  "tests.support.audio_server", "tests.support.mcp_world"]


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
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres.database_for_tests(tmp_path_factory.getbasetemp()) as url:
        yield url


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names that never collide between tests, runs or xdist workers."""
    return lambda prefix: f"{prefix}_{secrets.token_hex(4)}"


@pytest_asyncio.fixture
async def schemas(database_url: str) -> AsyncIterator[list[str]]:
    """Append schema names a test creates; they are dropped afterwards."""
    created: list[str] = []
    yield created
    if created:
        connection = await postgres.connect(database_url)
        try:
            for schema in created:
                await connection.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
        finally:
            await connection.close()


@pytest.fixture
def instances(tmp_path: Path) -> InstanceFolders:
    return InstanceFolders(tmp_path / "instances")
