"""`discord-supervisor check --db`: connect for every instance and report what its database allows."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from supervisor.database import DatabaseError, quote_ident
from supervisor.fleet_index import scan
from supervisor.instances import InstanceSpec
from supervisor.pg.probe import DatabaseFacts, probe
from supervisor.pg.session import CommandDatabases
from supervisor.settings import SupervisorSettings

AT_ONCE = 8  # probes in flight: a check must not itself exhaust a small server's connections


def describe(facts: DatabaseFacts, schema: str) -> list[str]:
    if facts.error is not None:
        return [f"error: {facts.error}"]
    assert facts.limits is not None
    limits = facts.limits
    lines = [f"reachable: PostgreSQL {limits.version}, role {facts.role}, database {facts.database}"]
    if facts.can_create_schema:
        lines.append("may create schemas: yes")
    else:
        lines.append(
            f"may create schemas: NO - role {facts.role} lacks CREATE on database {facts.database}, and every "
            f"start runs CREATE SCHEMA IF NOT EXISTS; as a superuser: GRANT CREATE ON DATABASE "
            f"\"{facts.database}\" TO \"{facts.role}\""
        )
    if not facts.schema_exists:
        lines.append(f"schema {schema}: not created yet (the instance's first start creates it)")
    elif facts.schema_usable:
        lines.append(f"schema {schema}: exists")
    else:
        lines.append(f"schema {schema}: exists, but role {facts.role} lacks USAGE or CREATE on it: "
                     f"GRANT USAGE, CREATE ON SCHEMA {quote_ident(schema)} TO {quote_ident(facts.role or '')}")
    lines.append(f"connections: {limits.in_use} in use of max_connections {limits.max_connections} "
                 f"({limits.reserved} reserved for superusers)")
    return lines


async def _check_one(spec: InstanceSpec, databases: CommandDatabases, gate: asyncio.Semaphore,
                     ) -> tuple[str, list[str], bool]:
    if databases.is_bundled(spec) and not databases.bundled.initialized:
        return (f"bundled PostgreSQL ({databases.bundled.root})",
                ["not created yet: `discord-supervisor run` creates it at its first start"], True)
    async with gate:
        try:
            url = await databases.url_for(spec)
        except DatabaseError as error:
            return "bundled PostgreSQL", [f"error: {error}"], False
        facts = await probe(url, spec.schema)
    where = f"bundled PostgreSQL ({databases.bundled.root})" if databases.is_bundled(spec) else facts.url
    lines = describe(facts, spec.schema) + [f"warning: {warning}" for warning in facts.warnings]
    return where, lines, facts.ok


async def check_databases(specs: list[InstanceSpec], state_dir: Path, out: TextIO) -> bool:
    gate = asyncio.Semaphore(AT_ONCE)
    async with CommandDatabases(state_dir) as databases:
        results = await asyncio.gather(*(_check_one(spec, databases, gate) for spec in specs))
    for spec, (where, lines, _) in zip(specs, results, strict=True):
        print(f"{spec.name}: {where}", file=out)
        for line in lines:
            print(f"  {line}", file=out)
    return all(ok for _, _, ok in results)


def run(settings: SupervisorSettings, state_dir: Path, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if not settings.instances_dir.is_dir():
        print(f"error: instances directory {str(settings.instances_dir)!r} does not exist", file=err)
        return 1
    # Invalid instances are the file check's business (`check` prints them); here only the valid ones.
    specs = [r.spec for r in scan(settings.instances_dir, settings.database_url) if r.spec is not None]
    if not specs:
        print("no valid instance whose database could be checked", file=out)
        return 0
    return 0 if asyncio.run(check_databases(specs, state_dir, out)) else 1
