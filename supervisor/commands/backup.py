"""`discord-supervisor backup`: a pg_dump of each named instance's schema (or of every instance's, --all)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from supervisor.commands.selection import select_instances
from supervisor.database import DatabaseError
from supervisor.instances import InstanceSpec
from supervisor.pg.dump import backup, default_backup_path, prune
from supervisor.pg.session import CommandDatabases
from supervisor.pg.tools import DumpError
from supervisor.settings import SupervisorSettings


def backups_dir(state_dir: Path) -> Path:
    return state_dir / "backups"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


async def back_up(state_dir: Path, specs: list[InstanceSpec], output: Path | None, keep: int | None,
                  out: TextIO, err: TextIO) -> bool:
    ok = True
    async with CommandDatabases(state_dir) as databases:
        for spec in specs:  # one at a time: a nightly backup should not compete with the bots for connections
            destination = output or default_backup_path(backups_dir(state_dir), spec.name)
            if databases.is_bundled(spec) and not databases.bundled.initialized:
                print(f"{spec.name}: error: nothing to back up: the bundled PostgreSQL has not been created in "
                      f"{databases.bundled.root} yet (`discord-supervisor run` creates it)", file=err)
                ok = False
                continue
            try:
                url = await databases.url_for(spec)
                result = await backup(url, spec.schema, destination, databases.is_bundled(spec))
            except (DumpError, DatabaseError) as error:
                print(f"{spec.name}: error: {error}", file=err)
                ok = False
                continue
            print(f"{spec.name}: wrote {result.path} ({_size(result.size)}, schema {spec.schema}, "
                  f"pg_dump {result.tool.version})", file=out)
            if keep is not None:
                removed = prune(backups_dir(state_dir), spec.name, keep)
                if removed:
                    print(f"{spec.name}: removed {len(removed)} older backup(s), keeping the newest {keep}", file=out)
    return ok


def run(settings: SupervisorSettings, state_dir: Path, names: list[str], every: bool = False,
        output: Path | None = None, keep: int | None = None,
        out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if every == bool(names):
        print("error: name the instances to back up, or pass --all (not both)", file=err)
        return 2
    if output is not None and (every or len(names) > 1):
        print("error: -o names one file: use it with a single instance", file=err)
        return 2
    if keep is not None and (keep < 1 or output is not None):
        print("error: --keep N (N >= 1) prunes the default backup files; it does not combine with -o", file=err)
        return 2
    if not settings.instances_dir.is_dir():
        print(f"error: instances directory {str(settings.instances_dir)!r} does not exist", file=err)
        return 1
    specs, failed = select_instances(settings, [] if every else names, err)
    ok = asyncio.run(back_up(state_dir, specs, output, keep, out, err))
    return 0 if ok and not failed else 1
