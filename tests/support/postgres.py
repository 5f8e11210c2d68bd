"""Find a Postgres for the tests: $TEST_DATABASE_URL, else the local server, else a private pgserver.

The private server is started once per test run: xdist workers share one data directory under the run's
common temporary directory, and pgserver's own inter-process lock and handle count make the first worker start
it and the last one stop it. TEST_PRIVATE_POSTGRES=1 skips the local server (what a machine without one sees).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
FULL_SERVER_PATIENCE = 180.0  # seconds a test's connection waits while other clients fill a shared server


async def connect(url: str, **kwargs: object) -> asyncpg.Connection:
    """asyncpg.connect that waits while the server answers "too many clients": the test server may be shared
    (max_connections 100) with other test runs and benches; that is a wait, never the test's failure."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FULL_SERVER_PATIENCE
    delay = 0.1
    while True:
        try:
            return await asyncpg.connect(url, **kwargs)  # type: ignore[arg-type]
        except asyncpg.TooManyConnectionsError:
            if loop.time() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


async def _answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


def private_data_dir(base_temp: Path) -> Path:
    """One data directory per test run: under xdist, the parent of every worker's own base temp directory."""
    if os.environ.get("TEST_PGSERVER_DIR"):
        return Path(os.environ["TEST_PGSERVER_DIR"])
    shared = base_temp.parent if os.environ.get("PYTEST_XDIST_WORKER") else base_temp
    if os.geteuid() == 0:
        # As root, pgserver runs PostgreSQL as its own `pgserver` user, which cannot enter pytest's
        # /tmp/pytest-of-root (pytest keeps it at mode 0700, and another pytest run resets it at any moment).
        return Path(tempfile.gettempdir()) / f"ds-pgserver-{shared.name}"
    return shared / "pgserver"


@contextlib.contextmanager
def database_for_tests(base_temp: Path) -> Iterator[str]:
    """The URL of a server for this test session; a private one is released (stopped by its last user) after."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        yield explicit
        return
    if not os.environ.get("TEST_PRIVATE_POSTGRES") and asyncio.run(_answers(LOCAL_URL)):
        yield LOCAL_URL
        return
    url, server = start_private(private_data_dir(base_temp))
    try:
        yield url
    finally:
        server.cleanup()  # explicit: xdist workers may end without running atexit hooks


def start_private(data_dir: Path) -> tuple[str, object]:
    import pgserver  # real PostgreSQL binaries from PyPI; only needed where no server answers

    # Made here: pgserver's get_server creates it outside its lock, so two workers starting at once would race.
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")  # attaches to a server another worker started
    return server.get_uri(), server


def server_major(url: str) -> int:
    """The server's major version (15 for the system server here, 16 for pgserver's)."""

    async def ask() -> int:
        connection = await connect(url)
        try:
            return int(await connection.fetchval("SHOW server_version_num")) // 10000
        finally:
            await connection.close()

    return asyncio.run(ask())


def as_role(url: str, role: str) -> str:
    """The same server and database, logging in as `role` without a password."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.rpartition('@')[2]}"))


@contextlib.asynccontextmanager
async def scratch_database(url: str, prefix: str = "scratch") -> AsyncIterator[str]:
    """A database of its own on the test server (for what needs `public` or a whole database), dropped after
    with every session still in it. Yields its URL."""
    import secrets

    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = await connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        admin = await connect(url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
