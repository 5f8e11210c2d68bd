"""Fixtures for the Postgres-operations tests: throwaway private servers and instance settings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from supervisor.pg.bundled import BundledPostgres
from tests.support import SMALL_MAX_CONNECTIONS, postgres, scratch_state_dir


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """An empty state directory the bundled server may use (given to `nobody` when the tests run as root)."""
    with scratch_state_dir() as state:
        yield state


@pytest.fixture(scope="session")
def server_major(database_url: str) -> int:
    """The major version of the shared test server: the system's, or the private pgserver's."""
    return postgres.server_major(database_url)


@pytest.fixture(scope="session")
def small_server() -> Iterator[str]:
    """A private server with a small max_connections, to exhaust without starving the shared server."""
    with scratch_state_dir() as state:
        server = BundledPostgres(state, {"max_connections": str(SMALL_MAX_CONNECTIONS)})
        url = asyncio.run(server.start())
        try:
            yield url
        finally:
            asyncio.run(server.stop())
