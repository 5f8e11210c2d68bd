"""Any schema name PostgreSQL takes when quoted works wherever the schema is used: the migrator, the instance's pool
(its search_path), backup and restore. `public` too, in a database of its own. A name built to break out of its
quotes stays a name."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from supervisor.database import open_pool, quote_ident
from supervisor.migrator import load_migrations, migrate
from tests.support import (
    InstanceFolders,
    contents,
    fill,
    run_backup,
    run_check,
    run_restore,
    scratch_database,
    settings_for,
)


async def schema_exists(url: str, schema: str) -> bool:
    connection = await asyncpg.connect(url)
    try:
        return bool(await connection.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                                              schema))
    finally:
        await connection.close()


async def round_trip(instances: InstanceFolders, url: str, schema: str, state_dir: Path, tmp_path: Path) -> None:
    """Migrate, use through the pool, back up, drop, restore: every row comes back."""
    quoted_for_env = schema.replace("'", "\\'")
    instances.make("oddbot", env=f"DISCORD_TOKEN=t1\nDATABASE_URL={url}\nDB_SCHEMA='{quoted_for_env}'\n")
    code, output = run_check(instances.root)
    assert code == 0 and schema in output, output
    await migrate(url, schema, load_migrations())
    pool = await open_pool(url, schema, 1)
    try:
        assert await pool.fetchval("SELECT current_schema()") == schema
        assert await pool.fetchval("SELECT count(*) FROM tempbans") == 0  # unqualified: its search_path
    finally:
        await pool.close()
    await fill(url, schema, "marker")
    before = await contents(url, schema)
    settings = settings_for(instances)
    code, out = await run_backup(settings, state_dir, ["oddbot"])
    assert code == 0, out
    [dump] = list((state_dir / "backups").iterdir())
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f"DROP SCHEMA {quote_ident(schema)} CASCADE")
    finally:
        await connection.close()
    code, out = await run_restore(settings, state_dir, tmp_path / "no-daemon.sock", "oddbot", dump)
    assert code == 0, out
    assert await contents(url, schema) == before


@pytest.mark.parametrize("name", ["My-Bot", 'x"; DROP SCHEMA victim; --', "Ünïcode bot"])
async def test_a_quoted_schema_name_round_trips(name: str, instances: InstanceFolders, database_url: str,
                                                schemas: list[str], unique, state_dir: Path, tmp_path: Path) -> None:
    schema, victim = unique(name)[:63], unique("victim")
    schemas += [schema, victim]
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f"CREATE SCHEMA {quote_ident(victim)}")
    finally:
        await connection.close()
    await round_trip(instances, database_url, schema, state_dir, tmp_path)
    assert await schema_exists(database_url, victim)  # nothing broke out of its quotes


@pytest.mark.slow
async def test_public_round_trips_in_a_database_of_its_own(instances: InstanceFolders, database_url: str,
                                                           state_dir: Path, tmp_path: Path) -> None:
    async with scratch_database(database_url, "public_rt") as url:
        await round_trip(instances, url, "public", state_dir, tmp_path)
