"""Backups and restores of one instance's schema: every row comes back, and nothing else is touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from supervisor.database import open_pool
from supervisor.dburl import redact_url
from supervisor.migrator import load_migrations, migrate
from supervisor.pg.bundled import BundledPostgres
from supervisor.pg.dump import default_backup_path
from supervisor.pg.tools import DumpError, candidates, choose
from tests.support import (
    TRICKY,
    InstanceFolders,
    add_ban,
    contents,
    dump_body,
    dump_text,
    fill,
    make_instance,
    run_backup,
    run_restore,
    settings_for,
)


@pytest.fixture
def no_daemon(tmp_path: Path) -> Path:
    return tmp_path / "no-daemon.sock"


async def two_instances(instances: InstanceFolders, database_url: str, schemas: list[str], unique,
                        ) -> tuple[str, str]:
    first, second = unique("bk_a"), unique("bk_b")
    schemas += [first, second]
    for name, schema in (("alpha", first), ("beta", second)):
        make_instance(instances, name, schema, database_url)
        await migrate(database_url, schema, load_migrations())
        await fill(database_url, schema, f"marker of {name}")
    return first, second


async def drop(url: str, schema: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await connection.close()


@pytest.mark.slow
async def test_backup_drop_restore_gives_back_every_row(instances: InstanceFolders, database_url: str,
                                                        schemas: list[str], unique, state_dir: Path,
                                                        no_daemon: Path, server_major: int) -> None:
    first, second = await two_instances(instances, database_url, schemas, unique)
    settings = settings_for(instances)
    before, other_before = await contents(database_url, first), await contents(database_url, second)
    tables = len(before)  # every table the migrations create and the bookkeeping, none empty
    assert tables >= 8 and all(before.values())

    code, out = await run_backup(settings, state_dir, ["alpha"])
    assert code == 0, out
    [dump] = list((state_dir / "backups").iterdir())
    assert f"alpha: wrote {dump} (" in out and f"schema {first}, pg_dump {server_major}." in out
    assert dump.name.startswith("alpha-") and dump.name.endswith(".sql.gz")
    assert dump.read_bytes()[:2] == b"\x1f\x8b" and oct(dump.stat().st_mode & 0o777) == "0o600"
    text = dump_text(dump)
    assert f"CREATE SCHEMA {first};" in text and second not in text and "marker of beta" not in text

    await drop(database_url, first)
    code, out = await run_restore(settings, state_dir, no_daemon, "alpha", dump)
    assert code == 0, out
    assert f"alpha: restored {dump} into schema {first} ({tables} tables)" in out
    assert "alpha: migrations up to date" in out and "stopped by the running daemon" not in out
    assert await contents(database_url, first) == before
    assert await contents(database_url, second) == other_before

    again = state_dir / "again.sql"
    code, out = await run_backup(settings, state_dir, ["alpha"], output=again)
    assert code == 0, out
    assert again.read_bytes()[:2] != b"\x1f\x8b"  # plain SQL unless the name ends in .gz
    assert dump_body(again) == dump_body(dump)
    assert TRICKY.replace("\t", "\\t").replace("\n", "\\n").replace("\\slash", "\\\\slash") in dump_text(again)


async def test_a_dump_from_before_the_numeric_migration_is_migrated_on_restore(
        instances: InstanceFolders, database_url: str, schemas: list[str], unique, state_dir: Path,
        no_daemon: Path) -> None:
    schema = unique("bk_old")
    schemas.append(schema)
    make_instance(instances, "vintage", schema, database_url)
    migrations = load_migrations()
    init, numeric = migrations[:2]
    await migrate(database_url, schema, [init])  # an older release: money still DOUBLE PRECISION
    await fill(database_url, schema, "old times")
    old_dump = state_dir / "vintage-old.sql.gz"
    code, out = await run_backup(settings_for(instances), state_dir, ["vintage"], output=old_dump)
    assert code == 0, out
    assert "double precision" in dump_text(old_dump) and str(numeric.version) not in dump_text(old_dump)

    await migrate(database_url, schema, migrations)  # today's release
    code, out = await run_restore(settings_for(instances), state_dir, no_daemon, "vintage", old_dump)
    assert code == 0, out
    assert f"the backup predates {len(migrations) - 1} migration(s), now applied: {numeric.file_name}" in out
    connection = await asyncpg.connect(database_url, server_settings={"search_path": f'"{schema}"'})
    try:
        assert await connection.fetchval("SELECT cash_balance FROM stock_portfolios") == Decimal("1234.5678")
        kind = await connection.fetchval(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = "
            "'stock_portfolios' AND column_name = 'cash_balance'", schema)
        assert kind == "numeric"
        versions = [r["version"] for r in await connection.fetch("SELECT version FROM _sqlx_migrations ORDER BY 1")]
        assert versions == [init.version, numeric.version]
        assert await connection.fetchval("SELECT count(*) FROM tempbans") == 2
    finally:
        await connection.close()


async def test_another_instances_dump_needs_from_schema(instances: InstanceFolders, database_url: str,
                                                        schemas: list[str], unique, state_dir: Path,
                                                        no_daemon: Path) -> None:
    first, second = await two_instances(instances, database_url, schemas, unique)
    settings = settings_for(instances)
    alpha_before, beta_before = await contents(database_url, first), await contents(database_url, second)
    alpha_dump = state_dir / "alpha.sql.gz"
    assert (await run_backup(settings, state_dir, ["alpha"], output=alpha_dump))[0] == 0

    code, out = await run_restore(settings, state_dir, no_daemon, "beta", alpha_dump)
    assert code == 1
    assert f"holds schema {first}, but instance beta uses schema {second}: that is another instance's " \
           f"backup. To restore it into beta anyway, pass --from-schema {first}" in out
    code, out = await run_restore(settings, state_dir, no_daemon, "beta", alpha_dump, from_schema="somebody")
    assert code == 1 and f"holds schema {first}, not somebody" in out
    assert await contents(database_url, second) == beta_before

    code, out = await run_restore(settings, state_dir, no_daemon, "beta", alpha_dump, from_schema=first)
    assert code == 0, out
    assert await contents(database_url, second) == alpha_before  # beta now holds alpha's rows...
    assert await contents(database_url, first) == alpha_before  # ...and alpha is untouched


async def test_nothing_is_dropped_without_a_yes(instances: InstanceFolders, database_url: str,
                                                schemas: list[str], unique, state_dir: Path,
                                                no_daemon: Path) -> None:
    first, _ = await two_instances(instances, database_url, schemas, unique)
    settings = settings_for(instances)
    dump = state_dir / "alpha.sql"
    assert (await run_backup(settings, state_dir, ["alpha"], output=dump))[0] == 0
    await add_ban(database_url, first, "written after the backup")
    after = await contents(database_url, first)
    tables = len(after)

    code, out = await run_restore(settings, state_dir, no_daemon, "alpha", dump, yes=False, answer=False)
    assert code == 1
    assert f"Restore {dump} into instance alpha? This drops schema {first} on " \
           f"{redact_url(database_url)} ({tables} tables)" in out
    assert "not confirmed; nothing was changed (pass --yes to restore without asking)" in out
    assert await contents(database_url, first) == after

    code, out = await run_restore(settings, state_dir, no_daemon, "alpha", dump, yes=False, answer=True)
    assert code == 0, out
    assert await contents(database_url, first) != after


async def test_a_failing_restore_changes_nothing(instances: InstanceFolders, database_url: str,
                                                 schemas: list[str], unique, state_dir: Path,
                                                 no_daemon: Path) -> None:
    first, _ = await two_instances(instances, database_url, schemas, unique)
    settings = settings_for(instances)
    dump = state_dir / "alpha.sql"
    assert (await run_backup(settings, state_dir, ["alpha"], output=dump))[0] == 0
    before = await contents(database_url, first)
    broken = state_dir / "broken.sql"
    lines = dump.read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.startswith("COPY ") and "tempbans" in line)
    broken.write_text("".join(lines[:cut + 1]) + "not a row at all\n\\.\n" + "".join(lines[cut + 1:]))

    code, out = await run_restore(settings, state_dir, no_daemon, "alpha", broken)
    assert code == 1
    assert "could not restore" in out and "nothing was changed" in out
    assert await contents(database_url, first) == before


async def test_not_a_dump_is_refused(instances: InstanceFolders, database_url: str, schemas: list[str], unique,
                                     state_dir: Path, no_daemon: Path) -> None:
    await two_instances(instances, database_url, schemas, unique)
    junk = state_dir / "notes.sql"
    junk.write_text("DROP SCHEMA public CASCADE;\n")
    code, out = await run_restore(settings_for(instances), state_dir, no_daemon, "alpha", junk)
    assert code == 1 and "is not a plain-SQL pg_dump file" in out


async def test_keep_removes_only_this_instances_oldest_backups(instances: InstanceFolders, database_url: str,
                                                               schemas: list[str], unique,
                                                               state_dir: Path) -> None:
    await two_instances(instances, database_url, schemas, unique)
    backups = state_dir / "backups"
    backups.mkdir()
    now = datetime.now(UTC)
    old = [default_backup_path(backups, "alpha", now - timedelta(days=d)) for d in (3, 2, 1)]
    unrelated = [default_backup_path(backups, "beta", now - timedelta(days=9)), backups / "alpha-notes.txt",
                 backups / "alpha-by-hand.sql.gz"]
    for path in old + unrelated:
        path.write_bytes(b"old")

    code, out = await run_backup(settings_for(instances), state_dir, [], every=True, keep=2)
    assert code == 0, out
    assert "alpha: removed 2 older backup(s), keeping the newest 2" in out
    assert "beta: wrote" in out
    remaining = sorted(p.name for p in backups.iterdir())
    alpha = [name for name in remaining if name.startswith("alpha-2")]
    assert len(alpha) == 2 and alpha[0] == old[-1].name
    assert all(path.exists() for path in unrelated)
    assert len([name for name in remaining if name.startswith("beta-")]) == 2


async def test_usage_errors(instances: InstanceFolders, state_dir: Path) -> None:
    settings = settings_for(instances)
    assert (await run_backup(settings, state_dir, []))[0] == 2
    assert (await run_backup(settings, state_dir, ["a", "b"], output=state_dir / "x.sql"))[0] == 2
    assert (await run_backup(settings, state_dir, ["a"], output=state_dir / "x.sql", keep=3))[0] == 2
    code, out = await run_backup(settings, state_dir, ["ghost"])
    assert code == 1 and "no instance folder 'ghost'" in out


async def test_an_instance_that_never_ran_has_nothing_to_back_up(instances: InstanceFolders, database_url: str,
                                                                 unique, state_dir: Path) -> None:
    schema = unique("bk_never")
    make_instance(instances, "fresh", schema, database_url)
    code, out = await run_backup(settings_for(instances), state_dir, ["fresh"])
    assert code == 1
    assert f"fresh: error: schema '{schema}' does not exist on {redact_url(database_url)}" in out
    assert not (state_dir / "backups").exists() or not list((state_dir / "backups").iterdir())


async def test_the_bundled_server_is_backed_up_with_its_own_pg_dump(instances: InstanceFolders, state_dir: Path,
                                                                    unique, no_daemon: Path) -> None:
    server = BundledPostgres(state_dir)  # as the running daemon would hold it
    url = await server.start()
    try:
        schema = unique("bk_local")
        make_instance(instances, "local", schema, None)
        await migrate(url, schema, load_migrations())
        await fill(url, schema, "kept in the bundled server")
        before = await contents(url, schema)
        code, out = await run_backup(settings_for(instances), state_dir, ["local"])
        assert code == 0, out
        assert "pg_dump 16." in out
        [dump] = list((state_dir / "backups").iterdir())
        await drop(url, schema)
        code, out = await run_restore(settings_for(instances), state_dir, no_daemon, "local", dump)
        assert code == 0, out
        assert await contents(url, schema) == before
        still_up = await asyncpg.connect(url)  # the commands left the daemon's server running
        await still_up.close()
    finally:
        await server.stop()


def test_a_pg_dump_older_than_the_server_is_refused_clearly() -> None:
    found = candidates("pg_dump")
    newest = max(tool.major for tool in found)
    with pytest.raises(DumpError, match=rf"the server runs PostgreSQL {newest + 1}, and no suitable pg_dump was "
                                        rf"found .*postgresql-client-{newest + 1}.*pg_dump {newest + 1} or newer"):
        choose("pg_dump", newest + 1, False, not_older=True)
    assert choose("pg_dump", 15, False, not_older=True).major == 15  # PATH's, for the shared server
    assert choose("pg_dump", 16, True, not_older=True).bundled  # pgserver's, for the bundled server
    assert choose("pg_dump", 16, False, not_older=True).major == 16  # PATH has 15: too old for 16


async def test_backing_up_a_bundled_server_that_was_never_created(instances: InstanceFolders, state_dir: Path,
                                                                   unique) -> None:
    make_instance(instances, "local", unique("bk_none"), None)
    code, out = await run_backup(settings_for(instances), state_dir, ["local"])
    assert code == 1
    assert "local: error: nothing to back up: the bundled PostgreSQL has not been created in" in out
    assert not (state_dir / "postgres").exists()  # and the backup did not create it


async def test_a_daemon_on_another_control_socket_is_not_restored_under(
        instances: InstanceFolders, database_url: str, schemas: list[str], unique, state_dir: Path,
        no_daemon: Path) -> None:
    first, _ = await two_instances(instances, database_url, schemas, unique)
    settings = settings_for(instances)
    dump = state_dir / "alpha.sql"
    assert (await run_backup(settings, state_dir, ["alpha"], output=dump))[0] == 0
    await add_ban(database_url, first, "written after the backup")
    after = await contents(database_url, first)
    live = await open_pool(database_url, first, 1)  # the instance's pool in a daemon we were not told about
    try:
        async with live.acquire():
            code, out = await run_restore(settings, state_dir, no_daemon, "alpha", dump)
    finally:
        await live.close()
    assert code == 1
    assert f"no daemon answers on {no_daemon}, yet 1 connection(s) of instance alpha are open" in out
    assert "Pass that daemon's --control-socket" in out
    assert await contents(database_url, first) == after
