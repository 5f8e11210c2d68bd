"""Per-schema SQL migrations with sqlx's bookkeeping, so a schema discord-bot-rs migrated is adopted as is.

`_sqlx_migrations` lives inside each instance's schema with exactly sqlx's columns: version, description,
installed_on, success, checksum (SHA-384 of the file bytes) and execution_time (ns).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import asyncpg

from supervisor.database import DatabaseError, connect, ensure_schema, explain, is_database_unavailable

_FILE_NAME = re.compile(r"^(\d{14})_([A-Za-z0-9_]+)\.sql$")
NO_TRANSACTION_MARKER = b"-- no-transaction"

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)
"""


# discord-bot-rs shipped the same two migrations (same versions, same resulting schema) in files of its own.
# A schema it migrated records those files' checksums; accept them so such a schema is adopted as it is.
ORIGINAL_BOT_CHECKSUMS: dict[int, bytes] = {
    20260414000000: bytes.fromhex(
        "6c89fe5f453b8486ff60fdc6db895e018a662ceaa93ec0c5944fe231e3388d3aeaab19af387eca6f335305ad1ba33d1d"
    ),
    20260414000001: bytes.fromhex(
        "51a9c102754c257f6efa8d82574d035c419571788a1126a87185fe26329516793efeb436ac05f4229013a020a1275d71"
    ),
}


class MigrationError(Exception):
    """A migration problem that retrying will not fix: the instance must not start."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    file_name: str
    sql: bytes = field(repr=False)

    @property
    def checksum(self) -> bytes:
        return hashlib.sha384(self.sql).digest()

    @property
    def no_transaction(self) -> bool:
        return self.sql.startswith(NO_TRANSACTION_MARKER)


@dataclass
class MigrationResult:
    applied: list[Migration] = field(default_factory=list)
    already: list[int] = field(default_factory=list)


def default_directory() -> Path:
    """The migrations shipped with the package (installed), or the source tree's (a checkout)."""
    packaged = resources.files("supervisor") / "migrations"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "migrations"


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or default_directory()
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"{path.name}: migration files are named <14-digit UTC timestamp>_<description>.sql"
            )
        migrations.append(
            Migration(int(match.group(1)), match.group(2).replace("_", " "), path.name, path.read_bytes())
        )
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share one version")
    return sorted(migrations, key=lambda m: m.version)


async def migrate(url: str | None, schema: str, migrations: list[Migration]) -> MigrationResult:
    """Bring `schema` up to date. Serialized per (database, schema) by an advisory lock."""
    connection = await connect(url, schema)
    try:
        # A dedicated connection: a pooled one would drop the lock at release (pg_advisory_unlock_all).
        # The lock comes first: even CREATE SCHEMA IF NOT EXISTS fails when two sessions race on it.
        await connection.execute(
            "SELECT pg_advisory_lock(hashtextextended('discord-supervisor:' || current_database() || ':' || $1, 0))",
            schema,
        )
        try:
            await ensure_schema(connection, schema, url)
            return await _migrate_locked(connection, migrations)
        finally:
            # On a dropped connection this fails too; the error that dropped it is the one to report.
            with contextlib.suppress(Exception):
                await connection.execute("SELECT pg_advisory_unlock_all()")
    except (MigrationError, DatabaseError):
        raise
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
        raise DatabaseError(explain(error, url)) from error
    finally:
        with contextlib.suppress(Exception):
            await connection.close()


async def _migrate_locked(connection: asyncpg.Connection, migrations: list[Migration]) -> MigrationResult:
    await connection.execute(_CREATE_TABLE)
    rows = await connection.fetch("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
    by_version = {m.version: m for m in migrations}
    result = MigrationResult()
    for row in rows:
        version = row["version"]
        migration = by_version.get(version)
        if not row["success"]:
            name = migration.file_name if migration else str(version)
            raise MigrationError(
                f"migration {name} is dirty: it failed part-way earlier (success = false in _sqlx_migrations); "
                "repair the schema by hand, then delete that row"
            )
        if migration is None:
            raise MigrationError(f"migration {version} was applied but its file is missing from this release")
        recorded = bytes(row["checksum"])
        if recorded != migration.checksum and recorded != ORIGINAL_BOT_CHECKSUMS.get(version):
            raise MigrationError(f"migration {migration.file_name}: file changed since it was applied")
        result.already.append(version)
    done = set(result.already)
    for migration in migrations:
        if migration.version not in done:
            await _apply(connection, migration)
            result.applied.append(migration)
    return result


async def _apply(connection: asyncpg.Connection, migration: Migration) -> None:
    sql = migration.sql.decode("utf-8")
    insert = (
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) "
        "VALUES ($1, $2, $3, $4, $5)"
    )
    started = time.perf_counter_ns()
    try:
        if migration.no_transaction:
            # Recorded as not-yet-successful first, so a crash part-way leaves a visible "dirty" row.
            await connection.execute(insert, migration.version, migration.description, False, migration.checksum, -1)
            await connection.execute(sql)
            await connection.execute(
                "UPDATE _sqlx_migrations SET success = TRUE, execution_time = $2 WHERE version = $1",
                migration.version, time.perf_counter_ns() - started,
            )
            return
        async with connection.transaction():
            await connection.execute(sql)
            await connection.execute(
                insert, migration.version, migration.description, True, migration.checksum,
                time.perf_counter_ns() - started,
            )
    except asyncpg.PostgresError as error:
        if is_database_unavailable(error):  # the server went away: retry later, the file is not at fault
            raise DatabaseError(f"migration {migration.file_name} interrupted: {error}") from error
        raise MigrationError(f"migration {migration.file_name} failed: {error}") from error
