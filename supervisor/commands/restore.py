"""`discord-supervisor restore NAME FILE`: replace one instance's schema with a backup, then migrate it.

With a daemon running, the instance is stopped through the control socket first and started again afterwards
(even when the restore fails: the transaction rolled back, so it comes back with its old data). Other instances
are never touched.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from supervisor import registry
from supervisor.commands.selection import select_instances
from supervisor.daemon.control import ControlUnavailable, request
from supervisor.database import DatabaseError, fetch_value, redact_url, schema_settings
from supervisor.dburl import database_identity
from supervisor.instances import InstanceSpec
from supervisor.migrator import MigrationError, load_migrations, migrate
from supervisor.pg.load import DumpInfo, inspect_dump, load
from supervisor.pg.session import CommandDatabases
from supervisor.pg.tools import DumpError
from supervisor.settings import SupervisorSettings

Confirm = Callable[[str], bool]


def ask_on_terminal(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


class RestoreRefused(Exception):
    """Nothing was changed."""


async def _table_count(url: str, schema: str) -> int:
    return int(await fetch_value(url, "SELECT count(*) FROM pg_tables WHERE schemaname = $1", schema))


async def _daemon_answers(control_socket: Path) -> bool:
    try:
        await request(control_socket, {"command": "ping"}, timeout=5)
    except ControlUnavailable:
        return False
    return True


async def _open_sessions(url: str, schema: str) -> int:
    """Connections some daemon's pool holds for this schema (its pools name themselves in application_name)."""
    return int(await fetch_value(
        url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
        schema_settings(schema)["application_name"]))


async def _check_same_database(control_socket: Path, spec: InstanceSpec) -> None:
    """The running daemon must keep this instance where this shell's settings point, or we restore elsewhere."""
    answer = await request(control_socket, {"command": "database", "name": spec.name})
    if not answer.get("ok"):
        return  # the daemon does not run it (invalid there, or an older daemon): nothing to compare
    ours = list(database_identity(spec.database_url))
    if answer.get("database") != ours or answer.get("schema") != spec.schema:
        raise RestoreRefused(
            f"the running daemon keeps instance {spec.name} in schema {answer.get('schema')} on "
            f"{_describe(answer.get('database'))}, but this command's settings point at schema {spec.schema} on "
            f"{_describe(ours)}. Run restore with the daemon's settings (its DATABASE_URL and --instances)"
        )


def _describe(identity: object) -> str:
    if not isinstance(identity, list) or len(identity) != 3:
        return "an unknown database"
    host, port, database = identity
    return "the bundled PostgreSQL" if host == "<bundled>" else f"{host}:{port}/{database}"


async def _pause(control_socket: Path, name: str) -> bool:
    """True when a running daemon stopped the instance; False when no daemon runs."""
    try:
        answer = await request(control_socket, {"command": "pause", "name": name})
    except ControlUnavailable:
        return False
    if not answer.get("ok"):
        raise RestoreRefused(f"the running daemon would not stop {name}: {answer.get('error', 'no reason given')}")
    return True


async def _restore(spec: InstanceSpec, file: Path, info: DumpInfo, state_dir: Path, control_socket: Path,
                   yes: bool, confirm: Confirm, out: TextIO, err: TextIO) -> int:
    name, schema = spec.name, spec.schema
    daemon_runs = await _daemon_answers(control_socket)
    if daemon_runs:
        await _check_same_database(control_socket, spec)  # before anything is opened or started
    async with CommandDatabases(state_dir) as databases:
        url = await databases.url_for(spec)
        tables = await _table_count(url, schema)
        if not daemon_runs:
            sessions = await _open_sessions(url, schema)
            if sessions:
                raise RestoreRefused(
                    f"no daemon answers on {control_socket}, yet {sessions} connection(s) of instance {name} are "
                    "open: a daemon seems to run it. Pass that daemon's --control-socket (under systemd "
                    "/run/discord-supervisor/discord-supervisor.sock) so it stops the instance, or stop it first"
                )
            print(f"{name}: no daemon answers on {control_socket}; nothing to stop", file=out)
        source = f" (a dump of schema {info.schema})" if info.schema != schema else ""
        question = (f"Restore {file}{source} into instance {name}? This drops schema {schema} on "
                    f"{redact_url(url)} ({tables} tables) and replaces it with the backup's contents.")
        if not yes and not confirm(question):
            raise RestoreRefused("not confirmed; nothing was changed (pass --yes to restore without asking)")
        paused = await _pause(control_socket, name)
        if paused:
            print(f"{name}: stopped by the running daemon for the restore", file=out)
        try:
            await load(url, schema, file, info, databases.is_bundled(spec))
            restored = await _table_count(url, schema)
            print(f"{name}: restored {file} into schema {schema} ({restored} tables)", file=out)
            result = await migrate(url, schema, registry.migrations_for(spec.config, load_migrations()))
            if result.applied:
                names = ", ".join(m.file_name for m in result.applied)
                print(f"{name}: the backup predates {len(result.applied)} migration(s), now applied: {names}",
                      file=out)
            else:
                print(f"{name}: migrations up to date", file=out)
        finally:
            if paused:
                try:
                    await request(control_socket, {"command": "resume", "name": name})
                    print(f"{name}: started again", file=out)
                except ControlUnavailable as error:
                    print(f"{name}: warning: could not ask the daemon to start it again: {error}", file=err)
    return 0


def run(settings: SupervisorSettings, state_dir: Path, control_socket: Path, name: str, file: Path,
        yes: bool = False, from_schema: str | None = None, confirm: Confirm = ask_on_terminal,
        out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if not settings.instances_dir.is_dir():
        print(f"error: instances directory {str(settings.instances_dir)!r} does not exist", file=err)
        return 1
    specs, _ = select_instances(settings, [name], err)
    if not specs:
        return 1
    spec = specs[0]
    try:
        info = inspect_dump(file)
        if from_schema is not None and from_schema != info.schema:
            raise RestoreRefused(f"{file} holds schema {info.schema}, not {from_schema}")
        if info.schema != spec.schema and from_schema is None:
            raise RestoreRefused(
                f"{file} holds schema {info.schema}, but instance {name} uses schema {spec.schema}: that is "
                f"another instance's backup. To restore it into {name} anyway, pass --from-schema {info.schema}"
            )
        return asyncio.run(_restore(spec, file, info, state_dir, control_socket, yes, confirm, out, err))
    except (RestoreRefused, DumpError, DatabaseError, MigrationError) as error:
        print(f"{name}: error: {error}", file=err)
        return 1
