"""Per-schema migrations with sqlx's bookkeeping: applied once, adopted as is, tampering refused."""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest

from supervisor.commands.migrate import migrate_instances
from supervisor.migrator import (
    ORIGINAL_BOT_CHECKSUMS,
    MigrationError,
    default_directory,
    load_migrations,
    migrate,
)
from supervisor.settings import SupervisorSettings
from tests.support import InstanceFolders, fake_token, run_cli


def copy_migrations(target: Path) -> Path:
    shutil.copytree(default_directory(), target)
    return target


async def column_types(url: str, schema: str, table: str) -> dict[str, str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = $2", schema, table,
        )
    finally:
        await connection.close()
    return {r["column_name"]: r["data_type"] for r in rows}


@pytest.mark.e2e
def test_migrate_twice_applies_nothing_the_second_time(instances: InstanceFolders, database_url: str,
                                                       schemas: list[str], unique) -> None:
    schema = unique("mig_twice")
    schemas.append(schema)
    instances.make("bot", env={"DISCORD_TOKEN": fake_token("bot"), "DB_SCHEMA": schema,
                               "DATABASE_URL": database_url})
    first = run_cli("migrate", "--instances", str(instances.root))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "bot: applied 2: 20260414000000_init.sql, 20260414000001_stocks_decimal.sql" in first.stdout
    second = run_cli("migrate", "--instances", str(instances.root))
    assert second.returncode == 0
    assert "bot: up to date (2 already applied)" in second.stdout
    types = asyncio.run(column_types(database_url, schema, "stock_portfolios"))
    assert types["cash_balance"] == "numeric"
    assert asyncio.run(column_types(database_url, schema, "stock_price_cache"))["price"] == "double precision"


async def _hand_made_history(url: str, schema: str, checksums: dict[int, bytes], run_files: int) -> None:
    """Write what sqlx would have written: the schema's tables and one row per migration."""
    migrations = load_migrations()
    connection = await asyncpg.connect(url, server_settings={"search_path": f'"{schema}"'})
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        for migration in migrations[:run_files]:
            await connection.execute(migration.sql.decode())
        await connection.execute(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, "
            "installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, "
            "checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)"
        )
        for migration in migrations[:run_files]:
            await connection.execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) "
                "VALUES ($1, $2, TRUE, $3, 1234)", migration.version, migration.description,
                checksums[migration.version],
            )
        await connection.execute("INSERT INTO tempbans (guild_id, user_id, moderator_id, expires_at) "
                                 "VALUES ('1', '2', '3', now())")
    finally:
        await connection.close()


@pytest.mark.parametrize("origin", ["sqlx-same-files", "discord-bot-rs-files"])
async def test_existing_sqlx_history_is_adopted_without_rerun(database_url: str, schemas: list[str], unique,
                                                              origin: str) -> None:
    schema = unique("mig_adopt")
    schemas.append(schema)
    migrations = load_migrations()
    checksums = (
        {m.version: hashlib.sha384(m.sql).digest() for m in migrations}
        if origin == "sqlx-same-files" else ORIGINAL_BOT_CHECKSUMS
    )
    await _hand_made_history(database_url, schema, checksums, run_files=2)
    result = await migrate(database_url, schema, migrations)
    assert result.applied == []
    assert result.already == [m.version for m in migrations]
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(f'SELECT execution_time FROM "{schema}"._sqlx_migrations')
        assert [r["execution_time"] for r in rows] == [1234, 1234]  # untouched rows: nothing re-ran
        assert await connection.fetchval(f'SELECT count(*) FROM "{schema}".tempbans') == 1
    finally:
        await connection.close()


async def test_old_schema_before_decimal_upgrades_and_keeps_data(database_url: str, schemas: list[str],
                                                                 unique) -> None:
    schema = unique("mig_old")
    schemas.append(schema)
    await _hand_made_history(database_url, schema, ORIGINAL_BOT_CHECKSUMS, run_files=1)
    connection = await asyncpg.connect(database_url, server_settings={"search_path": f'"{schema}"'})
    try:
        await connection.execute("INSERT INTO stock_portfolios (guild_id, user_id, cash_balance) "
                                 "VALUES ('1', '2', 1234.56789)")
        result = await migrate(database_url, schema, load_migrations())
        assert [m.version for m in result.applied] == [20260414000001]
        cash = await connection.fetchval("SELECT cash_balance FROM stock_portfolios")
        assert str(cash) == "1234.5679"
    finally:
        await connection.close()


async def test_edited_migration_fails_that_instance_only(instances: InstanceFolders, database_url: str,
                                                         schemas: list[str], unique, tmp_path: Path) -> None:
    applied, fresh = unique("mig_applied"), unique("mig_fresh")
    schemas += [applied, fresh]
    instances.make("old", env={"DISCORD_TOKEN": "t-old", "DB_SCHEMA": applied, "DATABASE_URL": database_url})
    await migrate(database_url, applied, load_migrations())
    instances.make("new", env={"DISCORD_TOKEN": "t-new", "DB_SCHEMA": fresh, "DATABASE_URL": database_url})

    directory = copy_migrations(tmp_path / "migrations")
    init = directory / "20260414000000_init.sql"
    init.write_text(init.read_text() + "\n-- an innocent-looking edit\n")
    out = io.StringIO()
    settings = SupervisorSettings(instances.root, None)
    code = await migrate_instances(settings, [], out, load_migrations(directory))
    assert code == 1
    lines = out.getvalue().splitlines()
    assert "old: error: migration 20260414000000_init.sql: file changed since it was applied" in lines
    assert any(line.startswith("new: applied 2") for line in lines), lines


async def test_dirty_and_missing_migrations_are_errors(database_url: str, schemas: list[str], unique,
                                                       tmp_path: Path) -> None:
    schema = unique("mig_dirty")
    schemas.append(schema)
    await migrate(database_url, schema, load_migrations())
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f'UPDATE "{schema}"._sqlx_migrations SET success = FALSE '
                                 "WHERE version = 20260414000001")
        with pytest.raises(MigrationError, match=r"20260414000001_stocks_decimal\.sql is dirty"):
            await migrate(database_url, schema, load_migrations())
        await connection.execute(f'UPDATE "{schema}"._sqlx_migrations SET success = TRUE')
    finally:
        await connection.close()
    directory = copy_migrations(tmp_path / "migrations")
    (directory / "20260414000001_stocks_decimal.sql").unlink()
    with pytest.raises(MigrationError, match="migration 20260414000001 was applied but its file is missing"):
        await migrate(database_url, schema, load_migrations(directory))


async def test_no_transaction_migration_runs_outside_a_transaction(database_url: str, schemas: list[str],
                                                                   unique, tmp_path: Path) -> None:
    schema = unique("mig_notx")
    schemas.append(schema)
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "20260101000000_table.sql").write_text("CREATE TABLE items (id INT);\n")
    # CREATE INDEX CONCURRENTLY is refused inside a transaction block: it only works without one.
    (directory / "20260101000001_index.sql").write_text(
        "-- no-transaction\nCREATE INDEX CONCURRENTLY items_id ON items (id);\n"
    )
    result = await migrate(database_url, schema, load_migrations(directory))
    assert len(result.applied) == 2


CONCURRENT_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from supervisor.migrator import load_migrations, migrate
    result = asyncio.run(migrate(sys.argv[1], sys.argv[2], load_migrations(Path(sys.argv[3]))))
    print(len(result.applied))
""")


@pytest.mark.e2e
async def test_two_processes_migrating_one_schema_apply_each_migration_once(
    database_url: str, schemas: list[str], unique, tmp_path: Path
) -> None:
    schema = unique("mig_race")
    schemas.append(schema)
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "20260101000000_counter.sql").write_text(
        "CREATE TABLE runs (n INT);\nSELECT pg_sleep(0.5);\nINSERT INTO runs VALUES (1);\n"
    )
    (directory / "20260101000001_more.sql").write_text("INSERT INTO runs VALUES (2);\n")
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", CONCURRENT_SCRIPT, database_url, schema, str(directory),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [await p.communicate() for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert sorted(int(out.strip()) for out, _ in outputs) == [0, 2]
    connection = await asyncpg.connect(database_url)
    try:
        assert await connection.fetchval(f'SELECT count(*) FROM "{schema}".runs') == 2
        assert await connection.fetchval(f'SELECT count(*) FROM "{schema}"._sqlx_migrations') == 2
    finally:
        await connection.close()


def test_bad_migration_file_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "init.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"init\.sql: migration files are named"):
        load_migrations(tmp_path)


@pytest.mark.e2e
def test_migrate_reports_unknown_and_invalid_instances(instances: InstanceFolders) -> None:
    instances.make("broken", env={"DISCORD_TOKEN": "your-token"})
    result = run_cli("migrate", "--instances", str(instances.root), "broken", "ghost")
    assert result.returncode == 1
    assert "broken: error: invalid: broken/.env:1: DISCORD_TOKEN: still has the placeholder value" in result.stdout
    assert "ghost: error: no instance folder 'ghost'" in result.stdout


async def test_a_failed_no_transaction_migration_leaves_a_dirty_row(database_url: str, schemas: list[str],
                                                                    unique, tmp_path: Path) -> None:
    schema = unique("mig_halfway")
    schemas.append(schema)
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "20260101000000_halfway.sql").write_text(
        "-- no-transaction\nCREATE TABLE made_before_the_error (id INT);\nSELECT 1 / 0;\n")
    with pytest.raises(MigrationError, match=r"20260101000000_halfway\.sql failed: division by zero"):
        await migrate(database_url, schema, load_migrations(directory))
    # Outside a transaction nobody knows how much of it happened: the next start refuses instead of guessing.
    with pytest.raises(MigrationError, match=r"20260101000000_halfway\.sql is dirty"):
        await migrate(database_url, schema, load_migrations(directory))
    connection = await asyncpg.connect(database_url)
    try:
        assert await connection.fetchval(f'SELECT success FROM "{schema}"._sqlx_migrations') is False
    finally:
        await connection.close()
