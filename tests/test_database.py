"""Each instance's pool sees its own schema only."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest

from supervisor.database import DatabaseError, connect, ensure_schema, open_pool
from tests.support import postgres


async def two_pools(database_url: str, schemas: list[str], first: str, second: str, size: int
                    ) -> tuple[asyncpg.Pool, asyncpg.Pool]:
    """Two instances' pools, each pinned to its own freshly created schema."""
    schemas += [first, second]
    setup = await connect(database_url)
    for schema in (first, second):
        await ensure_schema(setup, schema, database_url)
    await setup.close()
    return await open_pool(database_url, first, size), await open_pool(database_url, second, size)


async def test_pools_are_isolated_by_schema(database_url: str, schemas: list[str], unique) -> None:
    first, second = unique("iso_a"), unique("iso_b")
    pool_a, pool_b = await two_pools(database_url, schemas, first, second, 2)
    try:
        assert await pool_a.fetchval("SELECT current_schema()") == first
        assert await pool_b.fetchval("SELECT current_schema()") == second
        await pool_a.execute("CREATE TABLE notes (body TEXT)")
        await pool_b.execute("CREATE TABLE notes (body TEXT)")
        await pool_a.execute("INSERT INTO notes VALUES ('written through A')")
        assert await pool_a.fetchval("SELECT count(*) FROM notes") == 1
        assert await pool_b.fetchval("SELECT count(*) FROM notes") == 0
        # the search_path survives the pool's reset between acquisitions
        for _ in range(3):
            async with pool_b.acquire() as connection:
                assert await connection.fetchval("SELECT current_schema()") == second
    finally:
        await pool_a.close()
        await pool_b.close()


async def test_unqualified_table_of_other_schema_is_invisible(database_url: str, schemas: list[str],
                                                              unique) -> None:
    pool_a, pool_b = await two_pools(database_url, schemas, unique("vis_a"), unique("vis_b"), 1)
    try:
        await pool_a.execute("CREATE TABLE only_in_a (x INT)")
        with pytest.raises(asyncpg.UndefinedTableError):
            await pool_b.fetch("SELECT * FROM only_in_a")
    finally:
        await pool_a.close()
        await pool_b.close()


async def test_refused_connection_is_explained() -> None:
    with pytest.raises(DatabaseError, match=r"cannot reach Postgres at postgresql://u:\*\*\*@127.0.0.1:1/db"):
        await connect("postgresql://u:secret@127.0.0.1:1/db", timeout=2)


async def test_a_private_test_server_is_one_per_run(database_url: str, tmp_path_factory: pytest.TempPathFactory
                                                    ) -> None:
    """Without a local server every xdist worker uses the run's one private server, never one of its own."""
    if database_url in (postgres.LOCAL_URL, os.environ.get("TEST_DATABASE_URL")):
        pytest.skip("a server was given: no private one (run with TEST_PRIVATE_POSTGRES=1 to test that path)")
    connection = await asyncpg.connect(database_url)
    try:
        data_directory = Path(await connection.fetchval("SHOW data_directory"))
    finally:
        await connection.close()
    expected = postgres.private_data_dir(tmp_path_factory.getbasetemp())
    assert data_directory.resolve() == expected.resolve()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # shared by every worker of this run: named after the run, not a worker
        run = tmp_path_factory.getbasetemp().parent
        assert expected.parent == run or expected.name == f"ds-pgserver-{run.name}"  # as root: outside pytest's 0700


def test_a_full_server_is_waited_out_not_a_configuration_mistake() -> None:
    """Class 53 (too many connections, out of memory, "out of shared memory" when the lock table is full): a
    start retries instead of failing the instance for good with "fix DATABASE_URL" (all 3,000 instances of a
    start failed so when other sessions filled the shared server's lock table)."""
    import asyncpg

    from supervisor.database import is_database_unavailable

    assert is_database_unavailable(asyncpg.exceptions.OutOfMemoryError("out of shared memory"))
    assert is_database_unavailable(asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"))
    assert not is_database_unavailable(asyncpg.exceptions.UndefinedTableError("relation does not exist"))
