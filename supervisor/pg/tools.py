"""The client programs (pg_dump, psql) that suit a server, and how to hand them a connection without a password
on their command line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from supervisor.database import DatabaseError, connect
from supervisor.pg.bundled import BundledError, bin_dir

# libpq's URI parameters; asyncpg passes any other query parameter to the server as a setting.
_LIBPQ_PARAMS = frozenset((
    "host", "hostaddr", "port", "dbname", "user", "passfile", "channel_binding", "connect_timeout",
    "client_encoding", "options", "application_name", "fallback_application_name", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode",
    "requiressl", "sslcompression", "sslcert", "sslkey", "sslpassword", "sslcertmode", "sslrootcert", "sslcrl",
    "sslcrldir", "sslsni", "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname",
    "gsslib", "gssdelegation", "service", "target_session_attrs", "load_balance_hosts", "require_auth",
))
# The first minor release of each major whose psql understands pg_dump's \restrict lines (August 2025).
_RESTRICT_SINCE = {13: 22, 14: 19, 15: 14, 16: 10, 17: 6}


class DumpError(Exception):
    """A backup or restore problem explained for the user."""


@dataclass(frozen=True)
class Tool:
    path: Path
    major: int
    minor: int
    bundled: bool

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def understands_restrict(self) -> bool:
        return self.major > 17 or self.minor >= _RESTRICT_SINCE.get(self.major, 10**6)

    def __str__(self) -> str:
        return f"{self.path} ({self.version}{', bundled' if self.bundled else ''})"


def tool_version(path: Path, bundled: bool = False) -> Tool | None:
    try:
        result = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", result.stdout)
    if not match:
        return None
    return Tool(path, int(match.group(1)), int(match.group(2) or 0), bundled)


def candidates(name: str) -> list[Tool]:
    """The program on PATH, then pgserver's."""
    found: list[Tool] = []
    on_path = shutil.which(name)
    if on_path:
        tool = tool_version(Path(on_path))
        if tool:
            found.append(tool)
    try:
        tool = tool_version(bin_dir() / name, bundled=True)
    except BundledError:
        tool = None
    if tool:
        found.append(tool)
    return found


def choose(name: str, server_major: int, bundled_server: bool, *, found: list[Tool] | None = None,
           not_older: bool = False, need_restrict: bool = False) -> Tool:
    """The bundled program for the bundled server; else the server's own major (PATH first), else the nearest.

    not_older: pg_dump cannot dump a server newer than itself. need_restrict: the dump has \\restrict lines,
    which older psql releases reject.
    """
    found = candidates(name) if found is None else found
    usable = [tool for tool in found if (not not_older or tool.major >= server_major)
              and (not need_restrict or tool.understands_restrict)]
    if bundled_server and any(tool.bundled for tool in usable):
        return next(tool for tool in usable if tool.bundled)
    if usable:
        # the same major, else the nearest newer, else the nearest older
        return min(usable, key=lambda tool: (tool.major != server_major, tool.major < server_major,
                                             abs(tool.major - server_major)))
    seen = ", ".join(str(tool) for tool in found) or "none"
    wanted = f"{name} {server_major} or newer" if not_older else name
    if need_restrict:
        wanted += " recent enough for the dump's \\restrict lines"
    raise DumpError(
        f"the server runs PostgreSQL {server_major}, and no suitable {name} was found (found: {seen}); install "
        f"the PostgreSQL {server_major} client programs (e.g. the postgresql-client-{server_major} package) so "
        f"that {wanted} is on PATH"
    )


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A URL libpq accepts, without the password, and the environment that carries the password and any
    server settings asyncpg would have sent. A password on a command line is visible to every local user."""
    parts = urlsplit(url)
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "PGOPTIONS")}
    password = parts.password
    netloc = parts.netloc
    if password is not None:
        env["PGPASSWORD"] = unquote(password)
        netloc = netloc.replace(f":{password}@", "@", 1)
    kept: list[tuple[str, str]] = []
    options: list[str] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "password":
            env["PGPASSWORD"] = value
        elif key == "ssl":
            kept.append(("sslmode", value))
        elif key in _LIBPQ_PARAMS:
            kept.append((key, value))
        else:
            options.append(f"-c {key}={value}")
    if options:
        env["PGOPTIONS"] = " ".join(options)
    target = urlunsplit(parts._replace(scheme="postgresql", netloc=netloc, query=urlencode(kept, safe="/")))
    return target, env


async def server_facts(url: str, schema: str) -> tuple[int, bool]:
    """The server's major version, and whether `schema` exists there; a connection failure is a DumpError."""
    try:
        return await _server_facts(url, schema)
    except DatabaseError as error:
        raise DumpError(str(error)) from error


async def _server_facts(url: str, schema: str) -> tuple[int, bool]:
    connection = await connect(url)
    try:
        number = int(await connection.fetchval("SHOW server_version_num"))
        exists = await connection.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema)
    finally:
        await connection.close()
    return number // 10000, bool(exists)
