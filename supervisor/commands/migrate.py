"""`discord-supervisor migrate`: apply pending migrations to each instance's schema."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from supervisor import registry
from supervisor.commands.selection import select_instances
from supervisor.database import DatabaseError
from supervisor.instances import InstanceSpec
from supervisor.migrator import Migration, MigrationError, load_migrations, migrate
from supervisor.pg.session import CommandDatabases
from supervisor.settings import SupervisorSettings


async def _migrate_one(spec: InstanceSpec, migrations: list[Migration], databases: CommandDatabases
                       ) -> tuple[bool, str]:
    try:
        url = await databases.url_for(spec)  # no DATABASE_URL anywhere: the bundled server
        result = await migrate(url, spec.schema, registry.migrations_for(spec.config, migrations))
    except (DatabaseError, MigrationError) as error:
        return False, str(error)
    if result.applied:
        names = ", ".join(m.file_name for m in result.applied)
        return True, f"applied {len(result.applied)}: {names} ({len(result.already)} already applied)"
    return True, f"up to date ({len(result.already)} already applied)"


async def migrate_instances(
    settings: SupervisorSettings, names: list[str], out: TextIO, migrations: list[Migration],
    state_dir: Path = Path("var"),
) -> int:
    chosen, failed = select_instances(settings, names, out)
    specs = {spec.name: spec for spec in chosen}
    # Different schemas migrate in parallel; a failure in one never stops the others.
    async with CommandDatabases(state_dir) as databases:
        results = await asyncio.gather(*(_migrate_one(spec, migrations, databases) for spec in specs.values()))
    for name, (ok, message) in zip(specs, results, strict=True):
        print(f"{name}: {message}" if ok else f"{name}: error: {message}", file=out)
        failed |= not ok
    return 1 if failed else 0


def run(settings: SupervisorSettings, names: list[str], state_dir: Path, out: TextIO = sys.stdout) -> int:
    if not settings.instances_dir.is_dir():
        print(f"error: instances directory {str(settings.instances_dir)!r} does not exist", file=sys.stderr)
        return 1
    try:
        return asyncio.run(migrate_instances(settings, names, out, load_migrations(), state_dir))
    except MigrationError as error:  # a broken migrations directory in the release itself
        print(f"error: {error}", file=sys.stderr)
        return 1
