"""`restore`: read a backup, find whose schema it holds, and replace an instance's schema with it.

The drop and the load run in one transaction through psql: if anything fails, the instance keeps its data.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from supervisor.database import quote_ident
from supervisor.pg.tools import DumpError, Tool, choose, libpq_target, server_facts

_HEADER = "-- PostgreSQL database dump"
_CREATE_SCHEMA = re.compile(r'^CREATE SCHEMA ("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*);$')
_COPY_START = re.compile(r"^COPY .* FROM stdin;$")
_CHUNK_LINES = 2000
LOCK_TIMEOUT = "60s"  # a session that still holds the old tables' locks: fail rather than hang


@contextlib.contextmanager
def open_dump(path: Path) -> Iterator[TextIO]:
    """Text lines of a plain dump, gzipped or not (told by its content, not its name)."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rt", encoding="utf-8", newline="") if compressed
          else path.open("r", encoding="utf-8", newline="")) as stream:
        yield stream


def _identifier(token: str) -> str:
    if token.startswith('"'):
        return token[1:-1].replace('""', '"')
    return token


@dataclass(frozen=True)
class DumpInfo:
    schema: str
    restricted: bool  # has pg_dump's \restrict lines (2025 releases), which older psql rejects


def inspect_dump(path: Path) -> DumpInfo:
    """Which single schema a plain pg_dump --schema file creates; anything else is refused."""
    schemas: list[str] = []
    restricted = False
    in_copy = False
    header_seen = False
    try:
        with open_dump(path) as stream:
            for number, line in enumerate(stream):
                line = line.rstrip("\r\n")
                if in_copy:
                    in_copy = line != "\\."
                    continue
                if number < 20 and line.startswith(_HEADER):
                    header_seen = True
                if _COPY_START.match(line):
                    in_copy = True
                elif line.startswith("\\restrict "):
                    restricted = True
                elif match := _CREATE_SCHEMA.match(line):
                    schemas.append(_identifier(match.group(1)))
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as error:
        raise DumpError(f"cannot read {path}: {error}") from error
    if not header_seen:
        raise DumpError(f"{path} is not a plain-SQL pg_dump file (made by discord-supervisor backup)")
    if len(schemas) != 1:
        found = ", ".join(schemas) or "none"
        raise DumpError(f"{path} must hold exactly one schema (pg_dump --schema), but it creates: {found}")
    return DumpInfo(schemas[0], restricted)


def _script(target: str, source: str, hold: str | None) -> tuple[str, str]:
    """SQL around the dump: drop the target schema; when the dump holds another schema, load it under its own
    name (moving any schema of that name aside meanwhile) and rename it; all in one transaction."""
    before = [
        "SET client_min_messages = warning;",
        f"SET lock_timeout = '{LOCK_TIMEOUT}';",
        "BEGIN;",
        f"DROP SCHEMA IF EXISTS {quote_ident(target)} CASCADE;",
    ]
    after: list[str] = []
    if source != target:
        if hold:
            before.append(f"ALTER SCHEMA {quote_ident(source)} RENAME TO {quote_ident(hold)};")
        after.append(f"ALTER SCHEMA {quote_ident(source)} RENAME TO {quote_ident(target)};")
        if hold:
            after.append(f"ALTER SCHEMA {quote_ident(hold)} RENAME TO {quote_ident(source)};")
    after.append("COMMIT;")
    return "\n".join(before) + "\n", "\n" + "\n".join(after) + "\n"


async def load(url: str, schema: str, path: Path, info: DumpInfo, bundled_server: bool) -> Tool:
    """Replace `schema` with the dump's contents. Returns the psql used."""
    major, source_exists = await server_facts(url, info.schema)
    tool = choose("psql", major, bundled_server, need_restrict=info.restricted)
    hold = f"_restore_hold_{secrets.token_hex(6)}" if info.schema != schema and source_exists else None
    before, after = _script(schema, info.schema, hold)
    target, env = libpq_target(url)
    process = await asyncio.create_subprocess_exec(
        str(tool.path), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", target, "-f", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
    )
    assert process.stdin is not None and process.stderr is not None

    async def feed() -> None:
        assert process.stdin is not None
        try:
            process.stdin.write(before.encode())
            with open_dump(path) as stream:
                while lines := [line for _, line in zip(range(_CHUNK_LINES), stream, strict=False)]:
                    process.stdin.write("".join(lines).encode())
                    await process.stdin.drain()
            process.stdin.write(after.encode())
            await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # psql stopped at an error; its message follows on stderr
        finally:
            process.stdin.close()

    try:
        _, errors = await asyncio.gather(feed(), process.stderr.read())
        code = await process.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()  # the transaction is rolled back with the connection
        await process.wait()
        raise
    if code != 0:
        message = errors.decode(errors="replace").strip()
        raise DumpError(f"psql {tool.version} could not restore {path}; nothing was changed: {message}")
    return tool
