"""`backup`: one instance's schema as plain SQL (gzip when the file name ends in .gz), and keeping the last N."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from supervisor.database import redact_url
from supervisor.pg.tools import DumpError, Tool, choose, libpq_target, server_facts

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_CHUNK = 1 << 16


def default_backup_path(backups_dir: Path, instance: str, now: datetime | None = None) -> Path:
    """<instance>-<UTC date-time>.sql.gz: names sort by time, and retention can tell whose file it is."""
    return backups_dir / f"{instance}-{(now or datetime.now(UTC)).strftime(STAMP_FORMAT)}.sql.gz"


def backups_of(backups_dir: Path, instance: str) -> list[Path]:
    """This instance's backups under their default names, oldest first."""
    pattern = re.compile(rf"^{re.escape(instance)}-(\d{{8}}T\d{{6}}Z)\.sql\.gz$")
    if not backups_dir.is_dir():
        return []
    found = [(match.group(1), path) for path in backups_dir.iterdir() if (match := pattern.match(path.name))]
    return [path for _, path in sorted(found)]


def prune(backups_dir: Path, instance: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups of this instance; other files are never touched."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    old = backups_of(backups_dir, instance)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def schema_pattern(schema: str) -> str:
    """pg_dump's -n takes a pattern; double quotes make the name literal."""
    return '"' + schema.replace('"', '""') + '"'


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    tool: Tool


def _open_output(path: Path) -> BinaryIO:
    raw = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")  # a backup is private
    if path.name.endswith(".gz.partial"):
        return gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6)  # type: ignore[return-value]
    return raw


async def backup(url: str, schema: str, destination: Path, bundled_server: bool) -> BackupResult:
    """pg_dump --schema of one schema into `destination`, written under a temporary name and then renamed, so
    a failed backup never leaves a truncated file that looks complete."""
    major, exists = await server_facts(url, schema)
    if not exists:
        raise DumpError(f"schema {schema!r} does not exist on {redact_url(url)}: the instance has not run there yet")
    tool = choose("pg_dump", major, bundled_server, not_older=True)
    target, env = libpq_target(url)
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    process = await asyncio.create_subprocess_exec(
        str(tool.path), "--schema", schema_pattern(schema), "--no-owner", "--format=plain", "--dbname", target,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        with _open_output(partial) as output:
            async def copy() -> None:
                assert process.stdout is not None
                while chunk := await process.stdout.read(_CHUNK):
                    output.write(chunk)

            _, errors = await asyncio.gather(copy(), process.stderr.read())
        code = await process.wait()
        if code != 0:
            raise DumpError(f"{tool.path.name} {tool.version} failed: {errors.decode(errors='replace').strip()}")
        os.replace(partial, destination)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(destination, destination.stat().st_size, tool)
