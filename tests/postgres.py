"""Find a Postgres for the tests: $TEST_DATABASE_URL, else the local server, else a private pgserver."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


def find_or_start() -> tuple[str, object | None]:
    """Return (url, handle); keep the handle alive for as long as the server is needed."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit, None
    # TEST_PRIVATE_POSTGRES=1: behave as on a machine with no server (CI's second pass where no namespace can hide it)
    if not os.environ.get("TEST_PRIVATE_POSTGRES") and asyncio.run(_answers(LOCAL_URL)):
        return LOCAL_URL, None
    import pgserver  # real PostgreSQL binaries from PyPI; only needed where no server answers

    data_dir = Path(os.environ.get("TEST_PGSERVER_DIR") or tempfile.mkdtemp(prefix="ds-test-pg-"))
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri(), server


def server_major(url: str) -> int:
    """The server's major version (15 for the system server here, 16 for pgserver's)."""

    async def ask() -> int:
        connection = await asyncpg.connect(url)
        try:
            return int(await connection.fetchval("SHOW server_version_num")) // 10000
        finally:
            await connection.close()

    return asyncio.run(ask())


def as_role(url: str, role: str) -> str:
    """The same server and database, logging in as `role` without a password."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.rpartition('@')[2]}"))
