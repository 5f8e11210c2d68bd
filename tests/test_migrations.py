"""Per-schema migrations with sqlx's bookkeeping: applied once, adopted as is, tampering refused."""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import sys
import textwrap
import zlib
from pathlib import Path

import asyncpg
import pytest

from supervisor.commands.migrate import migrate_instances
from supervisor.migrator import (
    ORIGINAL_BOT_CHECKSUMS,
    Migration,
    MigrationError,
    default_directory,
    load_migrations,
    migrate,
)
from supervisor.settings import SupervisorSettings
from tests.support import InstanceFolders, eventually, fake_token, run_cli


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


def own_versions() -> list[int]:
    """Migrations discord-bot-rs never had (ours), applied after its two."""
    return [m.version for m in load_migrations() if m.version > 20260414000001]


@pytest.mark.e2e
def test_migrate_twice_applies_nothing_the_second_time(instances: InstanceFolders, database_url: str,
                                                       schemas: list[str], unique) -> None:
    schema = unique("mig_twice")
    schemas.append(schema)
    instances.make("bot", env={"DISCORD_TOKEN": fake_token("bot"), "DB_SCHEMA": schema,
                               "DATABASE_URL": database_url})
    first = run_cli("migrate", "--instances", str(instances.root))
    assert first.returncode == 0, first.stdout + first.stderr
    total = len(load_migrations())  # discord-bot-rs's two, then our own
    assert f"bot: applied {total}: 20260414000000_init.sql, 20260414000001_stocks_decimal.sql" in first.stdout
    second = run_cli("migrate", "--instances", str(instances.root))
    assert second.returncode == 0
    assert f"bot: up to date ({total} already applied)" in second.stdout
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
    assert [m.version for m in result.applied] == own_versions()  # only ours, after discord-bot-rs's
    assert result.already == [m.version for m in migrations][:2]
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(f'SELECT execution_time FROM "{schema}"._sqlx_migrations')
        times = [r["execution_time"] for r in rows]
        assert times[:2] == [1234, 1234]  # untouched rows: nothing re-ran
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
        assert [m.version for m in result.applied] == [20260414000001, *own_versions()]
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
    assert any(line.startswith(f"new: applied {len(load_migrations())}") for line in lines), lines


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
        assert await connection.fetchval(f'SELECT count(*) FROM "{schema}"._supervisor_migrations') == 2
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
        assert await connection.fetchval(f'SELECT success FROM "{schema}"._supervisor_migrations') is False
    finally:
        await connection.close()


# -- the round trip with discord-bot-rs (sqlx) ---------------------------------------------------------------

OUR_OWN = "20990101000000_supervisor_notes.sql"  # a migration beyond discord-bot-rs's, as later features add


def with_one_of_our_own(tmp_path: Path) -> list[Migration]:
    directory = copy_migrations(tmp_path / "with_ours")
    (directory / OUR_OWN).write_text("CREATE TABLE supervisor_notes (id BIGINT PRIMARY KEY, note TEXT NOT NULL);\n")
    return load_migrations(directory)


async def sqlx_refusal(connection: asyncpg.Connection, schema: str, shipped: dict[int, bytes]) -> str | None:
    """What sqlx's migrator, run by discord-bot-rs shipping `shipped` (version -> its file's checksum), refuses
    in this schema, checked in sqlx's order: a dirty row, an applied version it does not ship, a checksum other
    than its file's. None: it starts."""
    rows = await connection.fetch(f'SELECT version, success, checksum FROM "{schema}"._sqlx_migrations '
                                  "ORDER BY version")
    for row in rows:
        if not row["success"]:
            return f"Dirty({row['version']})"
    for row in rows:
        if row["version"] not in shipped:
            return f"VersionMissing({row['version']})"
    for row in rows:
        if bytes(row["checksum"]) != shipped[row["version"]]:
            return f"VersionMismatch({row['version']})"
    return None


async def ledger(connection: asyncpg.Connection, schema: str) -> list[tuple[int, bool, bytes]]:
    rows = await connection.fetch(f'SELECT version, success, checksum FROM "{schema}"._supervisor_migrations '
                                  "ORDER BY version")
    return [(r["version"], r["success"], bytes(r["checksum"])) for r in rows]


async def test_schema_built_by_sqlx_is_migrated_and_left_as_sqlx_expects(database_url: str, schemas: list[str],
                                                                          unique, tmp_path: Path) -> None:
    schema = unique("mig_rt_sqlx")
    schemas.append(schema)
    # An older discord-bot-rs migrated it: its first migration only, recorded with its file's checksum.
    await _hand_made_history(database_url, schema, ORIGINAL_BOT_CHECKSUMS, run_files=1)
    migrations = with_one_of_our_own(tmp_path)

    result = await migrate(database_url, schema, migrations)

    ours = [m for m in migrations if m.version > 20260414000001]  # the shipped ones of ours, then OUR_OWN
    assert [m.file_name for m in result.applied] == ["20260414000001_stocks_decimal.sql",
                                                     *(m.file_name for m in ours)]
    assert result.applied[-1].file_name == OUR_OWN
    connection = await asyncpg.connect(database_url)
    try:
        assert await sqlx_refusal(connection, schema, ORIGINAL_BOT_CHECKSUMS) is None
        versions = [r["version"] for r in await connection.fetch(
            f'SELECT version FROM "{schema}"._sqlx_migrations ORDER BY 1')]
        assert versions == sorted(ORIGINAL_BOT_CHECKSUMS)
        assert await ledger(connection, schema) == [(m.version, True, m.checksum) for m in ours]
        assert await connection.fetchval(f'SELECT count(*) FROM "{schema}".supervisor_notes') == 0
        assert await connection.fetchval(f'SELECT count(*) FROM "{schema}".tempbans') == 1
    finally:
        await connection.close()


async def test_schema_we_created_and_extended_passes_sqlx_checks(database_url: str, schemas: list[str],
                                                                 unique, tmp_path: Path) -> None:
    schema = unique("mig_rt_ours")
    schemas.append(schema)
    migrations = with_one_of_our_own(tmp_path)

    result = await migrate(database_url, schema, migrations)

    ours = [m for m in migrations if m.version > 20260414000001]
    assert len(result.applied) == 2 + len(ours) and result.applied[-1].file_name == OUR_OWN
    connection = await asyncpg.connect(database_url)
    try:
        assert await sqlx_refusal(connection, schema, ORIGINAL_BOT_CHECKSUMS) is None
        rows = await connection.fetch(f'SELECT version, description, success, execution_time '
                                      f'FROM "{schema}"._sqlx_migrations ORDER BY version')
        assert [(r["version"], r["description"], r["success"]) for r in rows] == [
            (20260414000000, "init", True), (20260414000001, "stocks decimal", True)]
        assert all(r["execution_time"] > 0 for r in rows)  # timed per migration, though applied in one batch
        assert await ledger(connection, schema) == [(m.version, True, m.checksum) for m in ours]
        # Without the sqlx-shipped knowledge (our own file checksums), sqlx would refuse: the test can fail.
        assert await sqlx_refusal(connection, schema, {m.version: m.checksum for m in migrations}) \
            == "VersionMismatch(20260414000000)"
    finally:
        await connection.close()
    again = await migrate(database_url, schema, migrations)
    assert again.applied == [] and again.already == [m.version for m in migrations]


async def test_schema_of_an_earlier_release_is_repaired_for_sqlx(database_url: str, schemas: list[str],
                                                                 unique, tmp_path: Path) -> None:
    """Before the round trip, we recorded our own files' checksums, and every version, in _sqlx_migrations."""
    schema = unique("mig_rt_old")
    schemas.append(schema)
    migrations = with_one_of_our_own(tmp_path)
    await _hand_made_history(database_url, schema, {m.version: m.checksum for m in migrations}, run_files=2)
    connection = await asyncpg.connect(database_url, server_settings={"search_path": f'"{schema}"'})
    try:
        await connection.execute(migrations[-1].sql.decode())
        await connection.execute("INSERT INTO _sqlx_migrations (version, description, success, checksum, "
                                 "execution_time) VALUES ($1, 'supervisor notes', TRUE, $2, 99)",
                                 migrations[-1].version, migrations[-1].checksum)
        assert await sqlx_refusal(connection, schema, ORIGINAL_BOT_CHECKSUMS) == "VersionMissing(20990101000000)"

        result = await migrate(database_url, schema, migrations)

        ours = [m for m in migrations if m.version > 20260414000001]
        assert result.applied == ours[:-1]  # our shipped migrations that release lacked; OUR_OWN was applied
        assert await sqlx_refusal(connection, schema, ORIGINAL_BOT_CHECKSUMS) is None
        assert await ledger(connection, schema) == [(m.version, True, m.checksum) for m in ours]
    finally:
        await connection.close()


def sqlx_lock_id_of(database: str) -> int:
    # Written from sqlx's source, not from ours: sqlx-postgres/src/migrate.rs, `generate_lock_id`:
    #     const CRC_IEEE: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    #     0x3d32ad9e * (CRC_IEEE.checksum(database_name.as_bytes()) as i64)
    # zlib.crc32 is CRC-32/ISO-HDLC; the i64 product cannot wrap (0x3d32ad9e < 2**30, the CRC < 2**32).
    value = 0x3D32AD9E * zlib.crc32(database.encode())
    assert value < 2**63
    return value


async def test_migrating_waits_for_sqlx_lock_held_by_discord_bot_rs(database_url: str, schemas: list[str],
                                                                    unique) -> None:
    fresh, current = unique("mig_lock_new"), unique("mig_lock_cur")
    schemas += [fresh, current]
    await migrate(database_url, current, load_migrations())
    rust = await asyncpg.connect(database_url)  # discord-bot-rs, migrating this database right now
    try:
        await rust.execute("SELECT pg_advisory_lock($1)", sqlx_lock_id_of(await rust.fetchval(
            "SELECT current_database()")))
        # An up-to-date schema writes nothing: it does not wait for sqlx's lock.
        assert (await migrate(database_url, current, load_migrations())).applied == []
        waiting = asyncio.ensure_future(migrate(database_url, fresh, load_migrations()))

        async def blocked_on_a_lock() -> bool:
            return await rust.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
                f"discord-supervisor:{fresh}"[:63]) == 1

        await eventually(blocked_on_a_lock)
        assert not waiting.done()
        await rust.execute("SELECT pg_advisory_unlock_all()")
        assert len((await asyncio.wait_for(waiting, 30)).applied) == len(load_migrations())
    finally:
        await rust.close()


async def test_a_failing_migration_in_a_batch_is_named_and_those_before_it_stay(database_url: str,
                                                                               schemas: list[str], unique,
                                                                               tmp_path: Path) -> None:
    schema = unique("mig_batch")
    schemas.append(schema)
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "20260101000000_good.sql").write_text("CREATE TABLE good (id INT);\n-- a closing comment")
    (directory / "20260101000001_bad.sql").write_text("CREATE TABLE bad (id INT);\nSELECT 1 / 0;\n")
    with pytest.raises(MigrationError, match=r"20260101000001_bad\.sql failed: division by zero"):
        await migrate(database_url, schema, load_migrations(directory))
    connection = await asyncpg.connect(database_url)
    try:
        assert await ledger(connection, schema) == [(20260101000000, True, load_migrations(directory)[0].checksum)]
        assert await connection.fetchval("SELECT to_regclass($1) IS NULL", f'"{schema}".bad')
    finally:
        await connection.close()


async def test_a_warm_start_reads_many_ledgers_at_once_and_sends_the_rest_to_migrate(
        database_url: str, schemas: list[str], unique) -> None:
    """The daemon asks the batched reader first: only a schema plainly up to date skips migrate(); a fresh one, a
    dirty one, a partly migrated one or a Mixed-Case one that is up to date are each answered as they are."""
    import contextlib

    from supervisor.migrator import LedgerReader

    current, fresh, dirty, behind, mixed = (unique(name) for name in ("led_ok", "led_new", "led_dirty",
                                                                      "led_behind", "Led_Mixed"))
    schemas.extend([current, fresh, dirty, behind, mixed])
    migrations = load_migrations()
    for schema in (current, dirty, behind, mixed):
        await migrate(database_url, schema, migrations)
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f'UPDATE "{dirty}"._sqlx_migrations SET success = FALSE')
        await connection.execute(f'DELETE FROM "{behind}"._supervisor_migrations WHERE version = $1',
                                 own_versions()[-1])
    finally:
        await connection.close()
    slots = 0

    @contextlib.asynccontextmanager
    async def slot():  # type: ignore[no-untyped-def]
        nonlocal slots
        slots += 1
        yield

    reader = LedgerReader(database_url, slot)
    answers = await asyncio.gather(*(reader.up_to_date(s, migrations) for s in (current, fresh, dirty, behind,
                                                                                  mixed)))
    assert answers == [True, False, False, False, True]
    assert slots == 1  # asked together: one connection read them all
    assert await reader.up_to_date(current, [*migrations, Migration(29990101000000, "later", "x.sql", b"")]) is False
    with pytest.raises(MigrationError, match="is dirty"):  # migrate() still says what is wrong
        await migrate(database_url, dirty, migrations)
    applied = await migrate(database_url, behind, migrations)
    assert [m.version for m in applied.applied] == [own_versions()[-1]]


async def test_a_ledger_that_cannot_be_read_sends_its_batch_to_migrate_and_the_others_are_still_read(
        database_url: str, schemas: list[str], unique, monkeypatch: pytest.MonkeyPatch) -> None:
    """One batch's failed read answers that batch "not up to date" (migrate() then says what is wrong) and the
    reader goes on with the next: before, the failing batch was never answered (its instances waited for ever)
    and every later schema was sent to migrate()."""
    import contextlib

    from supervisor import migrator
    from supervisor.migrator import LedgerReader

    broken, current = unique("led_broken"), unique("led_fine")
    schemas.extend([broken, current])
    migrations = load_migrations()
    await migrate(database_url, current, migrations)
    connection = await asyncpg.connect(database_url)
    try:  # a ledger table without the checksum column: reading it fails on the server
        await connection.execute(f'CREATE SCHEMA "{broken}"')
        await connection.execute(f'CREATE TABLE "{broken}"._sqlx_migrations (version BIGINT, success BOOLEAN)')
    finally:
        await connection.close()

    @contextlib.asynccontextmanager
    async def slot():  # type: ignore[no-untyped-def]
        yield

    monkeypatch.setattr(migrator, "LEDGER_BATCH", 1)  # one schema per read: the broken one fails alone
    reader = LedgerReader(database_url, slot)
    async with asyncio.timeout(60):
        answers = await asyncio.gather(*(reader.up_to_date(s, migrations) for s in (broken, current)))
    assert answers == [False, True]
