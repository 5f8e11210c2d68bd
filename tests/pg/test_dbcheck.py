"""`check --db`: what each instance's database allows, with one clear message per kind of failure."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from supervisor.commands import dbcheck
from supervisor.dburl import redact_url
from supervisor.pg.bundled import BundledPostgres
from supervisor.pg.probe import url_warnings
from tests.support import InstanceFolders, as_role, make_instance, settings_for, with_password


async def check_db(instances: InstanceFolders, state_dir: Path, database_url: str | None = None) -> tuple[int, str]:
    """The command as the CLI runs it (its own event loop, so in a thread here)."""
    out = io.StringIO()
    code = await asyncio.to_thread(dbcheck.run, settings_for(instances, database_url), state_dir, out, out)
    return code, out.getvalue()


@pytest_asyncio.fixture
async def role_without_create(database_url: str, unique) -> AsyncIterator[str]:
    """A login role on the shared server with no CREATE on its database (PUBLIC never gets CREATE)."""
    role = unique("nocreate")
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield role
    finally:
        await admin.execute(f'DROP ROLE "{role}"')
        await admin.close()


async def test_a_good_database_is_described(instances: InstanceFolders, state_dir: Path, database_url: str,
                                            unique, server_major: int) -> None:
    make_instance(instances, "fine", unique("fine"), database_url)
    code, out = await check_db(instances, state_dir)
    assert code == 0, out
    assert f"fine: {redact_url(database_url)}" in out
    assert f"reachable: PostgreSQL {server_major}." in out and "role postgres, database postgres" in out
    assert "may create schemas: yes" in out
    assert "not created yet (the instance's first start creates it)" in out
    assert "connections: " in out and "of max_connections 100 (3 reserved for superusers)" in out


async def test_a_role_without_create_is_reported(instances: InstanceFolders, state_dir: Path, database_url: str,
                                                 role_without_create: str, unique) -> None:
    url = as_role(database_url, role_without_create)
    make_instance(instances, "limited", unique("limited"), url)
    code, out = await check_db(instances, state_dir)
    assert code == 1, out
    assert f"may create schemas: NO - role {role_without_create} lacks CREATE on database postgres" in out
    assert f'GRANT CREATE ON DATABASE "postgres" TO "{role_without_create}"' in out


async def test_a_wrong_password_has_its_own_message(instances: InstanceFolders, state_dir: Path,
                                                    unique) -> None:
    locked = BundledPostgres(state_dir, password="the-real-one")  # password auth, Unix socket only
    url = await locked.start()
    try:
        make_instance(instances, "badpass", unique("badpass"), with_password(url, "a-wrong-one"))
        make_instance(instances, "goodpass", unique("goodpass"), url)
        code, out = await check_db(instances, state_dir.parent / "unused-state")
    finally:
        await locked.stop()
    assert code == 1
    assert "badpass: postgresql://postgres:***@/postgres" in out
    assert "error: Postgres refused the password for postgresql://postgres:***@" in out
    assert "goodpass:" in out and "reachable: PostgreSQL 16." in out
    assert "a-wrong-one" not in out and "the-real-one" not in out


async def test_an_unreachable_host_has_its_own_message(instances: InstanceFolders, state_dir: Path,
                                                       unique) -> None:
    make_instance(instances, "nowhere", unique("nowhere"), "postgresql://bot:s3cret@127.0.0.1:1/discord")
    make_instance(instances, "unknown", unique("unknown"), "postgresql://bot:s3cret@no-such-host.invalid/discord")
    code, out = await check_db(instances, state_dir)
    assert code == 1
    assert "error: cannot reach Postgres at postgresql://bot:***@127.0.0.1:1/discord" in out
    assert "error: cannot resolve the host of postgresql://bot:***@no-such-host.invalid/discord" in out
    assert "s3cret" not in out


async def test_the_default_password_is_warned_about(instances: InstanceFolders, state_dir: Path,
                                                    unique) -> None:
    make_instance(instances, "compose", unique("compose"),
                  "postgresql://discord_bot:discord_bot_pass@127.0.0.1:1/discord_bot")
    _, out = await check_db(instances, state_dir)
    assert "warning: postgresql://discord_bot:***@127.0.0.1:1/discord_bot uses the well-known default password " \
           "discord_bot_pass" in out


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://bot:pw@db.example.com/discord", ["reaches db.example.com, another machine, without sslmode"]),
    ("postgresql://bot:pw@10.1.2.3:5433/discord?sslmode=prefer", ["reaches 10.1.2.3, another machine"]),
    ("postgresql://bot:pw@db.example.com/discord?sslmode=require", []),
    ("postgresql://bot:pw@db.example.com/discord?sslmode=verify-full", []),
    ("postgresql://bot:pw@127.0.0.1/discord", []),
    ("postgresql://bot:pw@[::1]/discord", []),
    ("postgresql://bot@/discord?host=/var/run/postgresql", []),
    ("postgresql://discord_bot:discord_bot_pass@db.example.com/d?sslmode=require", ["well-known default password"]),
])
def test_url_warnings(url: str, expected: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    warnings = url_warnings(url)
    assert len(warnings) == len(expected)
    for warning, text in zip(warnings, expected, strict=True):
        assert text in warning and ":pw@" not in warning


async def test_a_bundled_server_not_yet_created_is_not_created_by_a_check(instances: InstanceFolders,
                                                                          state_dir: Path, unique) -> None:
    make_instance(instances, "local", unique("local"), None)
    code, out = await check_db(instances, state_dir)
    assert code == 0
    assert "local: bundled PostgreSQL" in out and "not created yet" in out
    assert not (state_dir / "postgres").exists()


async def test_the_bundled_server_is_checked_when_it_exists(instances: InstanceFolders, state_dir: Path,
                                                            unique) -> None:
    server = BundledPostgres(state_dir)
    await server.start()
    await server.stop()
    make_instance(instances, "local", unique("local"), None)
    code, out = await check_db(instances, state_dir)
    assert code == 0, out
    assert "reachable: PostgreSQL 16." in out and "may create schemas: yes" in out
    with pytest.raises(OSError):  # the check started it, and stopped it again
        await asyncpg.connect(f"postgresql://postgres@/postgres?host={state_dir}/postgres/run", timeout=3)
