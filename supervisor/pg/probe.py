"""Facts about an instance's database for `check --db`, and the warnings a DATABASE_URL deserves."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from supervisor.database import DatabaseError, connect, explain, redact_url
from supervisor.pg.budget import ServerLimits, read_limits

DEFAULT_PASSWORD = "discord_bot_pass"  # the original bot's docker-compose default: public knowledge
SECURE_SSLMODES = ("require", "verify-ca", "verify-full")

_PRIVILEGES = """
SELECT has_database_privilege(current_database(), 'CREATE') AS can_create,
       current_user AS role,
       current_database() AS database,
       n.oid IS NOT NULL AS schema_exists,
       CASE WHEN n.oid IS NOT NULL
            THEN has_schema_privilege(n.oid, 'USAGE') AND has_schema_privilege(n.oid, 'CREATE') END AS schema_usable
FROM (SELECT 1) AS one LEFT JOIN pg_namespace n ON n.nspname = $1
"""


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parse_qs(parts.query).get("host", [parts.hostname or ""])[0]


def is_local(host: str) -> bool:
    """A Unix socket or a loopback address: traffic never leaves the machine."""
    if not host or host.startswith("/") or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_warnings(url: str) -> list[str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    shown = redact_url(url)
    warnings: list[str] = []
    host = _host(url)
    sslmode = (query.get("sslmode") or query.get("ssl") or [os.environ.get("PGSSLMODE", "")])[0].lower()
    if not is_local(host) and sslmode not in SECURE_SSLMODES:
        warnings.append(
            f"{shown} reaches {host}, another machine, without sslmode=require: the password and every query "
            "cross the network unencrypted; add ?sslmode=require (or verify-full) to DATABASE_URL"
        )
    password = unquote(parts.password or "") or query.get("password", [""])[0]
    if password == DEFAULT_PASSWORD:
        warnings.append(
            f"{shown} uses the well-known default password {DEFAULT_PASSWORD}: give the role a password of "
            "your own (ALTER ROLE ... PASSWORD '...') and put it in DATABASE_URL"
        )
    return warnings


@dataclass
class DatabaseFacts:
    url: str  # without its password
    error: str | None = None
    role: str | None = None
    database: str | None = None
    can_create_schema: bool | None = None
    schema_exists: bool | None = None
    schema_usable: bool | None = None
    limits: ServerLimits | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Reachable, and the instance can do what it does at every start: CREATE SCHEMA IF NOT EXISTS."""
        return self.error is None and bool(self.can_create_schema) and self.schema_usable is not False


async def probe(url: str, schema: str, timeout: float = 10.0) -> DatabaseFacts:
    facts = DatabaseFacts(redact_url(url), warnings=url_warnings(url))
    try:
        connection = await connect(url, timeout=timeout)
    except DatabaseError as error:
        facts.error = str(error)
        return facts
    try:
        row = await connection.fetchrow(_PRIVILEGES, schema)
        assert row is not None
        facts.role, facts.database = row["role"], row["database"]
        facts.can_create_schema = row["can_create"]
        facts.schema_exists = row["schema_exists"]
        facts.schema_usable = row["schema_usable"]
        facts.limits = await read_limits(connection)
    except asyncpg.PostgresError as error:
        facts.error = explain(error, url)
    finally:
        await connection.close()
    return facts
