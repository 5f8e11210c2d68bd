"""Messages a newcomer meets: each says what is wrong, where, and what to do."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from supervisor.database import explain, is_database_unavailable
from supervisor.emulator import Emulator
from supervisor.instances import load_instance
from supervisor.pg.budget import ServerLimits, fit_message, lock_message
from tests.support import (
    REPO,
    DaemonProcess,
    InstanceFolders,
    add_bot,
    eventually,
    run_cli,
    run_cli_async,
    save,
    status,
    with_options,
)

pytestmark = pytest.mark.e2e  # the daemon and the command line as processes


def test_a_personality_problem_names_that_file_without_a_config_line(instances: InstanceFolders) -> None:
    folder = instances.make("voice", config='bot_name = "b"\ncommand_prefix = "!"\npersonality_file = "v.txt"\n')
    (folder / "v.txt").write_text("  \n")
    assert [str(p) for p in load_instance(folder, None).problems] == ["voice/v.txt: personality file is empty"]


def test_a_config_with_a_utf8_bom_is_read(instances: InstanceFolders) -> None:
    folder = instances.make("bom")
    (folder / "config.toml").write_bytes(b"\xef\xbb\xbf" + (folder / "config.toml").read_bytes())
    assert load_instance(folder, None).problems == []


def test_near_miss_file_names_get_a_hint(instances: InstanceFolders) -> None:
    misnamed = instances.make("typo")
    (misnamed / "config.toml").rename(misnamed / "config.tml")
    (instances.make("textenv") / ".env.txt").write_text("DISCORD_TOKEN=x\n")
    out = run_cli("check", "--instances", str(instances.root)).stdout
    assert "hint: typo: skipped: it has config.tml but no config.toml; rename it to config.toml" in out
    assert "hint: textenv: not configured: it has .env.txt but no .env; rename it to .env" in out


def test_migrate_an_unconfigured_instance_says_what_to_do() -> None:
    result = run_cli("migrate", "example", "--instances", str(REPO / "instances"))
    assert result.returncode == 1
    assert "example: error: not configured: it has no .env (copy example/.env.example to example/.env" in result.stdout


def test_the_budget_arithmetic_adds_up() -> None:
    for in_use in (3, 93):
        _fits, message = fit_message("db:5432", ServerLimits("15", 100, 3, in_use), {"a": 200}, "raise it")
        numbers = re.search(r"allows (\d+) \(max_connections\) - (\d+) reserved - (\d+) used by other clients - "
                            r"(\d+) kept free = (-?\d+)", message)
        assert numbers, message
        total, *minus, result = map(int, numbers.groups())
        assert total - sum(minus) == result, message


def test_ten_thousand_leases_on_a_default_server_say_which_setting_to_raise() -> None:
    default = ServerLimits("15", max_connections=100, reserved=3, in_use=3, max_locks=64)
    fits, message = lock_message("db:5432", default, 3000, "ALTER SYSTEM SET max_locks_per_transaction = N")
    assert fits, message
    fits, message = lock_message("db:5432", default, 10_000, "ALTER SYSTEM SET max_locks_per_transaction = N")
    assert not fits
    assert "10000 instances hold one advisory lock each" in message and "holds about 6400" in message
    assert "'out of shared memory'" in message and "max_locks_per_transaction = 128" in message
    raised = ServerLimits("15", max_connections=100, reserved=3, in_use=3, max_locks=128)
    assert lock_message("db:5432", raised, 10_000, "")[0]


def test_a_full_lock_table_is_explained_as_one_and_retried() -> None:
    error = asyncpg.OutOfMemoryError("out of shared memory")
    explained = explain(error, "postgresql://bots:secret@db/bots")
    assert "lock table" in explained and "max_locks_per_transaction" in explained and "secret" not in explained
    assert is_database_unavailable(error)  # a retry, not "fix DATABASE_URL"


def test_check_db_with_json_is_refused_and_documented() -> None:
    result = run_cli("check", "--db", "--json")
    assert result.returncode == 2 and "use it without --json" in result.stderr
    assert "does not combine with `--json`" in (REPO / "docs" / "control.md").read_text()


async def test_status_since_and_restarts_and_restart_of_an_unknown_name(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
        unique) -> None:
    bot = add_bot(emu, instances, "steady", prefix="!", schema=unique("steady"), database_url=database_url)
    schemas.append(bot.schema)
    (instances.make("typo") / "config.toml").rename(instances.root / "typo" / "config.tml")
    daemon = await DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url
                                 ).start()
    try:
        await daemon.wait_running("steady")
        hint = await daemon.wait_log(lambda e: e.get("event") == "instance_folder_near_miss")
        assert hint["hint"] == "typo: skipped: it has config.tml but no config.toml; rename it to config.toml"
        socket = ("--control-socket", str(daemon.control_socket))
        code, _, err = await run_cli_async("restart", "nosuch", *socket)
        assert code == 1 and "no instance 'nosuch' in" in err and "(instances: steady)" in err
        code, _, err = await run_cli_async("reload", "nosuch", "..", *socket)
        assert code == 1 and "no such instance: .., nosuch" in err, err
        code, _, err = await run_cli_async("reload", "steady", *socket)
        assert code == 0, err

        since = (await status(daemon))["steady"]["since"]
        config = bot.folder / "config.toml"
        mark = len(daemon.logs)  # the `reload steady` above logged one too: wait for the edit's own
        save(config, config.read_text().replace('command_prefix = "!"', 'command_prefix = "?"'))
        await daemon.wait_log(lambda e: e.get("event") == "config_reloaded", start=mark)
        assert (await status(daemon))["steady"]["since"] == since  # a live reload is no restart

        # A near miss made while the daemon runs is logged when that folder changes, once; the old one not again.
        (instances.make("late", env=None) / ".env.txt").write_text("DISCORD_TOKEN=x\n")
        late = await daemon.wait_log(lambda e: "late:" in str(e.get("hint", "")))
        assert late["hint"] == "late: not configured: it has .env.txt but no .env; rename it to .env"
        assert daemon.count(lambda e: e.get("event") == "instance_folder_near_miss") == 2

        env = bot.folder / ".env"
        save(env, env.read_text().replace(database_url, with_options(database_url, application_name="steady")))
        await daemon.wait_log(lambda e: str(e.get("outcome", "")).startswith("restarted"))

        async def restarted() -> bool:
            now = (await status(daemon))["steady"]
            return now["state"] == "running" and now["restarts"] == 1 and now["since"] > since
        await eventually(restarted, timeout=30)
    finally:
        assert await daemon.stop() == 0
