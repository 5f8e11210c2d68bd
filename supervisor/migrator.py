"""Per-schema SQL migrations with sqlx's bookkeeping, so a schema round-trips with discord-bot-rs.

discord-bot-rs runs sqlx's migrator on the same schema. sqlx refuses a schema whose `_sqlx_migrations` lists a
version it does not ship or a checksum other than its own file's, so:
- the versions discord-bot-rs also ships are recorded in `_sqlx_migrations` with *its* files' checksums;
- the migrations this project adds beyond those go in a ledger of our own, `_supervisor_migrations` (the same
  columns), and `_sqlx_migrations` keeps exactly what sqlx expects;
- while applying, we also hold sqlx's own advisory lock (in shared mode: sqlx takes it exclusively), so a
  discord-bot-rs process starting at the same moment waits instead of racing, and our instances do not wait
  for one another.
Columns: version, description, installed_on, success, checksum (SHA-384 of the file bytes), execution_time (ns).
Pending transactional migrations are applied in one transaction together with their rows (one commit per
schema on a cold start); a `-- no-transaction` migration runs on its own, recorded as dirty until it finishes.

Features own their tables: `Feature(migrations="package:folder")` ships migrations that run, in the same ledger,
only for instances that switch the feature on. Each ledger row records its `owner` (the feature's name; NULL for
the supervisor's own timeline), so a row whose feature is off or uninstalled is left alone instead of reported
as a missing file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import asyncpg

from supervisor.database import DatabaseError, connect, explain, is_database_unavailable, quote_ident
from supervisor.logs import get_logger
from supervisor.pg.budget import PATIENCE

_FILE_NAME = re.compile(r"^(\d{14})_([A-Za-z0-9_]+)\.sql$")
NO_TRANSACTION_MARKER = b"-- no-transaction"

SQLX_TABLE = "_sqlx_migrations"
LEDGER_TABLE = "_supervisor_migrations"  # our migrations beyond discord-bot-rs's: sqlx never sees them

_TABLE_COLUMNS = """(
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)"""


# discord-bot-rs ships the same two migrations (same versions, same resulting schema) in files of its own.
# These are its files' checksums: what sqlx compares against, so what `_sqlx_migrations` must hold for them.
ORIGINAL_BOT_CHECKSUMS: dict[int, bytes] = {
    20260414000000: bytes.fromhex(
        "6c89fe5f453b8486ff60fdc6db895e018a662ceaa93ec0c5944fe231e3388d3aeaab19af387eca6f335305ad1ba33d1d"
    ),
    20260414000001: bytes.fromhex(
        "51a9c102754c257f6efa8d82574d035c419571788a1126a87185fe26329516793efeb436ac05f4229013a020a1275d71"
    ),
}
# The checksums of our files that were checked to do what discord-bot-rs's do. Only an unchanged file may be
# recorded under discord-bot-rs's checksum; an edited one is recorded (and refused) as what it is.
EQUIVALENT_FILE_CHECKSUMS: dict[int, bytes] = {
    20260414000000: bytes.fromhex(
        "7f8fc5655a8eb391dbef68262f7b46f192e1f06d16c43dcd1f8ece964ed5c5713d79de7532bfeab6e87208bbb0fa01fb"
    ),
    20260414000001: bytes.fromhex(
        "a33debee00810c55232f747ebe94928d3e02cb564abc4b56cca4f5861df6633633c93da212547efa24f81e4adeeabfe0"
    ),
}


_SQLX_LOCK_FACTOR = 0x3D32AD9E


def sqlx_lock_id(database_name: str) -> int:
    """The advisory lock sqlx-postgres takes while migrating (`generate_lock_id` in its migrate.rs): 0x3d32ad9e
    times the CRC-32/ISO-HDLC of the database's name, as an i64. The product never wraps: the constant is below
    2**30 and the CRC below 2**32, so it stays below 2**62."""
    return _SQLX_LOCK_FACTOR * zlib.crc32(database_name.encode("utf-8"))


class MigrationError(Exception):
    """A migration problem that retrying will not fix: the instance must not start."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    file_name: str
    sql: bytes = field(repr=False)
    owner: str | None = None  # the feature whose folder holds it; None: the supervisor's own timeline

    @property
    def checksum(self) -> bytes:
        return hashlib.sha384(self.sql).digest()

    @property
    def no_transaction(self) -> bool:
        return self.sql.startswith(NO_TRANSACTION_MARKER)

    @property
    def shared_with_sqlx(self) -> bool:
        """discord-bot-rs ships this version too: it belongs in `_sqlx_migrations`, with its checksum."""
        return self.version in ORIGINAL_BOT_CHECKSUMS

    @property
    def table(self) -> str:
        return SQLX_TABLE if self.shared_with_sqlx else LEDGER_TABLE

    @property
    def recorded_checksum(self) -> bytes:
        """What its row holds: discord-bot-rs's file's checksum for a shared version (when our file is the one
        known to be equivalent), else our file's."""
        if self.shared_with_sqlx and self.checksum == EQUIVALENT_FILE_CHECKSUMS.get(self.version):
            return ORIGINAL_BOT_CHECKSUMS[self.version]
        return self.checksum


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


def load_migrations(directory: Path | None = None, owner: str | None = None) -> list[Migration]:
    """The migrations of `directory` (default: the supervisor's own), each recorded as `owner`'s."""
    directory = directory or default_directory()
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"{path.name}: migration files are named <14-digit UTC timestamp>_<description>.sql"
            )
        migrations.append(
            Migration(int(match.group(1)), match.group(2).replace("_", " "), path.name, path.read_bytes(), owner)
        )
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share one version")
    return sorted(migrations, key=lambda m: m.version)


def combined(*timelines: list[Migration]) -> list[Migration]:
    """One list of the supervisor's and features' migrations, in version order; a version two owners use is an
    error naming both (versions are the ledger's key)."""
    seen: dict[int, Migration] = {}
    for migration in (m for timeline in timelines for m in timeline):
        other = seen.setdefault(migration.version, migration)
        if other is not migration:
            raise MigrationError(f"migration {migration.file_name} ({_owner_name(migration)}) has the version of "
                                 f"{other.file_name} ({_owner_name(other)}): give it a later timestamp")
    return sorted(seen.values(), key=lambda m: m.version)


def _owner_name(migration: Migration) -> str:
    return f"feature {migration.owner}" if migration.owner else "the supervisor"


@dataclass
class _Plan:
    """What bringing one schema up to date takes, from what its two tables hold."""

    schema_exists: bool
    tables: set[str]  # of SQLX_TABLE and LEDGER_TABLE, those that exist
    already: list[int] = field(default_factory=list)
    pending: list[Migration] = field(default_factory=list)
    fix_checksums: list[Migration] = field(default_factory=list)  # our old checksum on a shared version
    move_to_ledger: list[int] = field(default_factory=list)  # an older release recorded these in sqlx's table

    @property
    def work(self) -> bool:
        return bool(not self.schema_exists or SQLX_TABLE not in self.tables or self.pending or self.fix_checksums
                    or self.move_to_ledger)


async def migrate(url: str | None, schema: str, migrations: list[Migration]) -> MigrationResult:
    """Bring `schema` up to date. Serialized per (database, schema) by an advisory lock of ours; while anything
    is written, sqlx's own lock (one per database) is held too, shared, so only discord-bot-rs waits on it."""
    connection = await connect(url, schema, patience=PATIENCE)  # documented: retries while others fill the server
    try:
        # A dedicated connection: a pooled one would drop the lock at release (pg_advisory_unlock_all).
        # The lock comes first: even CREATE SCHEMA IF NOT EXISTS fails when two sessions race on it.
        await connection.execute(
            "SELECT pg_advisory_lock(hashtextextended('discord-supervisor:' || current_database() || ':' || $1, 0))",
            schema,
        )
        try:
            plan = await _plan(connection, schema, migrations)
            if not plan.work:
                return MigrationResult(already=plan.already)
            # sqlx's lock, shared: a discord-bot-rs migrating (exclusive) waits for us and we for it, while our
            # own instances, each on its own schema, still migrate side by side.
            lock_id = sqlx_lock_id(await connection.fetchval("SELECT current_database()"))
            await connection.execute("SELECT pg_advisory_lock_shared($1)", lock_id)
            try:
                plan = await _plan(connection, schema, migrations)  # a discord-bot-rs may have migrated meanwhile
                return await _carry_out(connection, schema, plan, url)
            finally:
                with contextlib.suppress(Exception):
                    await connection.execute("SELECT pg_advisory_unlock_shared($1)", lock_id)
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


async def _plan(connection: asyncpg.Connection, schema: str, migrations: list[Migration]) -> _Plan:
    """Read both tables and check them as sqlx would: no dirty row, no unknown version, no changed file."""
    row = await connection.fetchrow(
        "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1) AS schema_exists, "
        "to_regclass($2) IS NOT NULL AS has_sqlx, to_regclass($3) IS NOT NULL AS has_ledger",
        schema, _qualified(schema, SQLX_TABLE), _qualified(schema, LEDGER_TABLE),
    )
    tables = {t for t, ok in ((SQLX_TABLE, row["has_sqlx"]), (LEDGER_TABLE, row["has_ledger"])) if ok}
    # to_jsonb: a ledger of an older release has no owner column yet (NULL: the supervisor's)
    applied = {table: await connection.fetch(f"SELECT version, success, checksum, to_jsonb(t)->>'owner' AS owner "
                                             f"FROM {_qualified(schema, table)} t") for table in sorted(tables)}
    return _plan_from(row["schema_exists"], applied, migrations)


def _plan_from(schema_exists: bool, applied_rows: dict[str, list[asyncpg.Record]],
               migrations: list[Migration]) -> _Plan:
    """The plan from what the ledger tables hold (`applied_rows`: each existing table's rows)."""
    plan = _Plan(schema_exists, set(applied_rows))
    by_version = {m.version: m for m in migrations}
    owners = {m.owner for m in migrations}
    for table in sorted(plan.tables):
        for applied in applied_rows[table]:
            version = applied["version"]
            if applied["owner"] not in owners:
                continue  # a feature that is off here (or uninstalled): its tables and rows stay as they are
            migration = by_version.get(version)
            if not applied["success"]:
                name = migration.file_name if migration else str(version)
                raise MigrationError(
                    f"migration {name} is dirty: it failed part-way earlier (success = false in {table}); "
                    "repair the schema by hand, then delete that row"
                )
            if migration is None:
                raise MigrationError(f"migration {version} was applied but its file is missing from this release")
            recorded = bytes(applied["checksum"])
            if recorded not in (migration.checksum, migration.recorded_checksum):
                raise MigrationError(f"migration {migration.file_name}: file changed since it was applied")
            if table == SQLX_TABLE and not migration.shared_with_sqlx:
                plan.move_to_ledger.append(version)
            elif recorded != migration.recorded_checksum:
                plan.fix_checksums.append(migration)
            plan.already.append(version)
    done = set(plan.already)
    plan.pending = [m for m in migrations if m.version not in done]
    plan.already.sort()
    return plan


LEDGER_BATCH = 200  # schemas whose ledgers one query reads
_log = get_logger("supervisor.migrator")


class LedgerReader:
    """Whether schemas are up to date, for many at once: one connection and two queries per batch of schemas.

    A warm start of thousands of instances asks this for each; a schema that is up to date then needs no
    connection, lock or migration round trips of its own (`migrate` would take a connection, our advisory lock and
    four queries to find there is nothing to do). Whatever is not plainly up to date (work to do, a dirty or
    unknown row, an error reading) answers False: `migrate` then does it under its locks and says what is wrong.
    Asks made while a batch is read wait for the next batch, which takes them all. No lock is needed to read: a
    migration writes its ledger row in the transaction that applies it (a no-transaction one is marked dirty until
    it is done), so a ledger that shows every migration applied means the schema is up to date."""

    def __init__(self, url: str | None, slot: Callable[[], contextlib.AbstractAsyncContextManager[None]]):
        self.url = url
        self.slot = slot  # the connection budget's: the reading connection counts against it
        self._asked: list[tuple[str, list[Migration], asyncio.Future[bool]]] = []
        self._reader: asyncio.Task[None] | None = None

    async def up_to_date(self, schema: str, migrations: list[Migration]) -> bool:
        asked: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._asked.append((schema, migrations, asked))
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read_asked(), name="ledger-reader")
        return await asked

    async def _read_asked(self) -> None:
        batch: list[tuple[str, list[Migration], asyncio.Future[bool]]] = []
        try:
            async with self.slot():
                connection = await connect(self.url)
                try:
                    while self._asked:
                        batch, self._asked = self._asked[:LEDGER_BATCH], self._asked[LEDGER_BATCH:]
                        try:
                            found = await _read_ledgers(connection, sorted({schema for schema, _, _ in batch}))
                        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                            if connection.is_closed():
                                raise
                            # This batch goes through migrate() (False), the next ones are still read: at 10,000
                            # instances one failed read had sent every schema to migrate(), 8 at a time.
                            _log.warning("ledger_read_failed", schemas=len(batch), error=repr(error))
                            found = {}
                        for schema, migrations, asked in batch:
                            if not asked.done():
                                asked.set_result(_current(found.get(schema), migrations))
                finally:
                    await connection.close()
        except Exception as error:  # each instance's own migrate() reports the database's problem
            _log.warning("ledger_read_failed", schemas=len(batch) + len(self._asked), error=repr(error))
        finally:
            # The batch being read when it failed as well as those not read yet: an ask left unanswered here
            # waited for ever (200 instances stuck "checking its schema" in a warm start of 10,000).
            left, self._asked = [*batch, *self._asked], []
            for _schema, _migrations, asked in left:
                if not asked.done():
                    asked.set_result(False)


def _current(found: tuple[bool, dict[str, list[asyncpg.Record]]] | None, migrations: list[Migration]) -> bool:
    if found is None:
        return False
    try:
        return not _plan_from(found[0], found[1], migrations).work
    except MigrationError:
        return False


async def _read_ledgers(connection: asyncpg.Connection,
                        schemas: list[str]) -> dict[str, tuple[bool, dict[str, list[asyncpg.Record]]]]:
    """schema -> (whether it exists, each existing ledger table's rows), for every schema of `schemas`."""
    exists = await connection.fetch(
        "SELECT s, EXISTS (SELECT FROM pg_namespace WHERE nspname = s) AS schema_exists, "
        "to_regclass(quote_ident(s) || '.' || $2) IS NOT NULL AS has_sqlx, "
        "to_regclass(quote_ident(s) || '.' || $3) IS NOT NULL AS has_ledger FROM unnest($1::text[]) AS s",
        schemas, SQLX_TABLE, LEDGER_TABLE)
    found: dict[str, tuple[bool, dict[str, list[asyncpg.Record]]]] = {}
    reads = []
    for row in exists:
        tables: dict[str, list[asyncpg.Record]] = {}
        found[row["s"]] = (row["schema_exists"], tables)
        for table, present in ((SQLX_TABLE, row["has_sqlx"]), (LEDGER_TABLE, row["has_ledger"])):
            if present:
                tables[table] = []
                reads.append(f"SELECT {_literal(row['s'])} AS s, {_literal(table)} AS tbl, version, success, checksum, "
                             f"to_jsonb(t)->>'owner' AS owner FROM {_qualified(row['s'], table)} t")
    if reads:
        for applied in await connection.fetch(" UNION ALL ".join(reads)):
            found[applied["s"]][1][applied["tbl"]].append(applied)
    return found


async def _carry_out(connection: asyncpg.Connection, schema: str, plan: _Plan, url: str | None) -> MigrationResult:
    result = MigrationResult(already=plan.already)
    if not plan.work:
        return result
    batch = _leading_transactional(plan.pending)
    ledger_needed = bool(plan.move_to_ledger) or any(not m.shared_with_sqlx for m in plan.pending)
    statements = [f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}",
                  f"CREATE TABLE IF NOT EXISTS {_qualified(schema, SQLX_TABLE)} {_TABLE_COLUMNS}"]
    if ledger_needed:
        statements.append(f"CREATE TABLE IF NOT EXISTS {_qualified(schema, LEDGER_TABLE)} {_TABLE_COLUMNS}")
        statements.append(f"ALTER TABLE {_qualified(schema, LEDGER_TABLE)} ADD COLUMN IF NOT EXISTS owner TEXT")
    statements += _repairs(schema, plan)
    try:
        async with connection.transaction():
            # One round trip, one commit: the tables, the repairs, then each migration and its row.
            await connection.execute(";\n".join([*statements, *(_with_row(schema, m) for m in batch)]))
        result.applied += batch
    except asyncpg.PostgresError as error:
        if is_database_unavailable(error):
            raise DatabaseError(f"migration interrupted: {error}") from error
        if not batch:
            raise DatabaseError(explain(error, url)) from error
        # Which file failed? Set up the tables again, then apply one by one: the error names the file, and
        # those before it stay applied, as sqlx leaves them.
        async with connection.transaction():
            await connection.execute(";\n".join(statements))
        batch = []
    for migration in plan.pending[len(batch):]:
        await _apply_alone(connection, schema, migration)
        result.applied.append(migration)
    return result


def _leading_transactional(pending: list[Migration]) -> list[Migration]:
    """The pending migrations up to the first `-- no-transaction` one: they can share one transaction."""
    leading: list[Migration] = []
    for migration in pending:
        if migration.no_transaction:
            break
        leading.append(migration)
    return leading


def _repairs(schema: str, plan: _Plan) -> list[str]:
    statements = [
        f"UPDATE {_qualified(schema, SQLX_TABLE)} SET checksum = {_bytea(m.recorded_checksum)} "
        f"WHERE version = {m.version}"
        for m in plan.fix_checksums
    ]
    if plan.move_to_ledger:
        versions = ", ".join(str(v) for v in plan.move_to_ledger)
        statements += [
            f"INSERT INTO {_qualified(schema, LEDGER_TABLE)} SELECT * FROM {_qualified(schema, SQLX_TABLE)} "
            f"WHERE version IN ({versions})",
            f"DELETE FROM {_qualified(schema, SQLX_TABLE)} WHERE version IN ({versions})",
        ]
    return statements


def _with_row(schema: str, migration: Migration) -> str:
    """The migration's SQL and its row, timed by the server itself (execution_time stays per migration)."""
    # The file's last line may be a comment: its own line ends it, and the empty statement ";" is harmless.
    return (
        "SELECT set_config('supervisor.migration_started', clock_timestamp()::text, true);\n"
        f"{migration.sql.decode('utf-8')}\n;\n"
        f"INSERT INTO {_qualified(schema, migration.table)} "
        f"(version, description, success, checksum, execution_time{_owner_column(migration)}) VALUES "
        f"({migration.version}, {_literal(migration.description)}, TRUE, {_bytea(migration.recorded_checksum)}, "
        "(EXTRACT(EPOCH FROM clock_timestamp() - current_setting('supervisor.migration_started')::timestamptz)"
        f" * 1000000000)::bigint{_owner_value(migration)})"
    )


def _owner_column(migration: Migration) -> str:
    return ", owner" if migration.table == LEDGER_TABLE else ""  # sqlx's table stays exactly as sqlx makes it


def _owner_value(migration: Migration) -> str:
    if migration.table != LEDGER_TABLE:
        return ""
    return f", {_literal(migration.owner)}" if migration.owner else ", NULL"


async def _apply_alone(connection: asyncpg.Connection, schema: str, migration: Migration) -> None:
    sql = migration.sql.decode("utf-8")
    table = _qualified(schema, migration.table)
    insert = (f"INSERT INTO {table} (version, description, success, checksum, execution_time"
              f"{_owner_column(migration)}) VALUES ($1, $2, $3, $4, $5{_owner_value(migration)})")
    started = time.perf_counter_ns()
    try:
        if migration.no_transaction:
            # Recorded as not-yet-successful first, so a crash part-way leaves a visible "dirty" row.
            await connection.execute(insert, migration.version, migration.description, False,
                                     migration.recorded_checksum, -1)
            await connection.execute(sql)
            await connection.execute(
                f"UPDATE {table} SET success = TRUE, execution_time = $2 WHERE version = $1",
                migration.version, time.perf_counter_ns() - started,
            )
            return
        async with connection.transaction():
            await connection.execute(sql)
            await connection.execute(
                insert, migration.version, migration.description, True, migration.recorded_checksum,
                time.perf_counter_ns() - started,
            )
    except asyncpg.PostgresError as error:
        if is_database_unavailable(error):  # the server went away: retry later, the file is not at fault
            raise DatabaseError(f"migration {migration.file_name} interrupted: {error}") from error
        raise MigrationError(f"migration {migration.file_name} failed: {error}") from error


def _qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{table}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _bytea(data: bytes) -> str:
    return f"'\\x{data.hex()}'::bytea"
