"""The daemon's view of its databases: which server each instance uses, what the log says, and the budget."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from supervisor.database import DatabaseError
from supervisor.dburl import redact_url
from supervisor.fleet_index import scan
from supervisor.instances import InstanceSpec
from supervisor.pg.service import Databases
from tests.support import SMALL_MAX_CONNECTIONS, InstanceFolders


def specs_of(instances: InstanceFolders) -> list[InstanceSpec]:
    return [r.spec for r in scan(instances.root, None) if r.spec is not None]


def add(instances: InstanceFolders, name: str, url: str | None, pool: int = 2) -> None:
    env = {"DISCORD_TOKEN": f"{name}.token", "DB_SCHEMA": name}
    if url:
        env["DATABASE_URL"] = url
    instances.make(name, config=f'bot_name = "{name}"\ncommand_prefix = "!"\n[database]\npool_max_size = {pool}\n',
                   env=env)


async def test_instances_without_a_url_share_the_bundled_server(instances: InstanceFolders, state_dir: Path,
                                                                database_url: str) -> None:
    add(instances, "one", None)
    add(instances, "two", None)
    add(instances, "three", database_url)
    databases = Databases(state_dir)
    with capture_logs() as logs:
        try:
            specs = specs_of(instances) * 10  # every instance starting at once, as the daemon does
            urls = dict(zip((s.name for s in specs), await asyncio.gather(*map(databases.url_for, specs)),
                            strict=True))
            assert urls["one"] == urls["two"] and urls["one"].startswith("postgresql://postgres@/postgres?host=")
            assert urls["three"] == database_url
        finally:
            await databases.close()
    events = [entry["event"] for entry in logs]
    [bundled] = [entry for entry in logs if entry["event"] == "database_bundled"]
    assert bundled["version"].startswith("16") and bundled["detail"] == "Unix socket only, no TCP port"
    assert "set DATABASE_URL" in bundled["hint"]
    assert [e["url"] for e in logs if e["event"] == "database_external"] == [redact_url(database_url)]
    assert events[-1] == "bundled_postgres_stopped"


async def test_an_insecure_url_is_warned_about_at_start(instances: InstanceFolders, state_dir: Path) -> None:
    add(instances, "remote", "postgresql://discord_bot:discord_bot_pass@db.example.com/discord_bot")
    databases = Databases(state_dir)
    with capture_logs() as logs:
        await databases.url_for(specs_of(instances)[0])
    assert {entry["event"] for entry in logs if entry["log_level"] == "warning"} == {"database_url_warning"}
    warnings = [entry["problem"] for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 2
    assert "without sslmode=require" in warnings[0] and "well-known default password" in warnings[1]
    assert all("discord_bot_pass@" not in str(entry) for entry in logs)


async def test_pools_that_cannot_fit_are_reported_with_numbers(instances: InstanceFolders, state_dir: Path,
                                                               small_server: str) -> None:
    for index in range(10):
        add(instances, f"bot{index}", small_server, pool=4)
    databases = Databases(state_dir)
    with capture_logs() as logs:
        await databases.review(specs_of(instances))
        await databases.review(specs_of(instances))  # the same numbers are not repeated
    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["event"] == "pools_exceed_connection_budget"
    assert warning["detail"].startswith("10 instances on ")
    assert "may open up to 40 connections together" in warning["detail"]
    assert f"the server allows {SMALL_MAX_CONNECTIONS} (max_connections) - 3 reserved" in warning["detail"]
    assert "ALTER SYSTEM SET max_connections = N as a superuser, then restart PostgreSQL" in warning["detail"]
    budget = await databases.budget_for(small_server)
    assert budget is await databases.budget_for(small_server.replace("postgres@", "someone_else@"))
    assert budget.limit < 40


async def test_an_unreachable_server_has_no_budget_yet(state_dir: Path) -> None:
    databases = Databases(state_dir)
    with pytest.raises(DatabaseError, match="cannot reach Postgres"):
        await databases.budget_for("postgresql://bot:pw@127.0.0.1:1/db")
