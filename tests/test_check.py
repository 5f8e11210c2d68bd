"""`discord-supervisor check`: every bad input gets its own clear message; good ones pass."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from supervisor.commands import check
from supervisor.settings import SupervisorSettings
from tests.support import GOOD_ENV, InstanceFolders, fake_token, run_check, run_cli


def test_valid_instance_passes(instances: InstanceFolders) -> None:
    instances.make("good", env=GOOD_ENV)
    code, output = run_check(instances.root)
    assert code == 0, output
    assert "good" in output and " ok " in output and "good" in output.splitlines()[1]


def test_not_configured_is_listed_and_never_fails(instances: InstanceFolders) -> None:
    instances.make("fresh", env=None)
    instances.make("good", env=GOOD_ENV)
    code, output = run_check(instances.root)
    assert code == 0, output
    assert "not configured" in output


def test_hidden_and_temp_folders_are_ignored(instances: InstanceFolders) -> None:
    instances.make(".hidden", env=GOOD_ENV)
    instances.make("backup~", env=GOOD_ENV)
    (instances.root / "notes").mkdir()
    code, output = run_check(instances.root)
    assert code == 0
    assert ".hidden" not in output and "backup~" not in output and "notes" not in output


def write(folder: Path, name: str, text: str | bytes) -> None:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


def set_config(text: str) -> Callable[[Path], None]:
    return lambda folder: write(folder, "config.toml", text)


def set_env(text: str) -> Callable[[Path], None]:
    return lambda folder: write(folder, ".env", text)


def symlink_personality_out(folder: Path) -> None:
    outside = folder.parent.parent / "secret.txt"
    outside.write_text("outside the folder")
    (folder / "link.txt").symlink_to(outside)
    write(folder, "config.toml", 'bot_name = "b"\ncommand_prefix = "!"\npersonality_file = "link.txt"\n')


BASE = 'bot_name = "b"\ncommand_prefix = "!"\n'

# (id, how to break the folder, expected text in the problem line)
BAD_INPUTS: list[tuple[str, Callable[[Path], None], str]] = [
    ("broken-toml", set_config('bot_name = "b\ncommand_prefix = "!"\n'), "config.toml:1: invalid TOML"),
    ("missing-bot-name", set_config('command_prefix = "!"\n'), "config.toml: bot_name: is required"),
    ("wrong-type-prefix", set_config('bot_name = "b"\ncommand_prefix = 1\n'),
     "config.toml:2: command_prefix: must be a string, not int 1"),
    ("wrong-type-pool", set_config(BASE + '[database]\npool_max_size = "two"\n'),
     "config.toml:4: database.pool_max_size: must be an integer"),
    ("bool-for-int", set_config(BASE + "[database]\npool_max_size = true\n"),
     "database.pool_max_size: must be an integer, not bool"),
    ("unknown-key", set_config(BASE + 'command_prefx = "?"\n'),
     "config.toml:3: command_prefx: unknown key (did you mean 'command_prefix'?)"),
    ("unknown-table", set_config(BASE + "[moderaton]\nsweep_interval = 5\n"),
     "config.toml:3: [moderaton]: unknown table (did you mean 'moderation'?)"),
    ("unknown-feature", set_config(BASE + "[features]\nmoderaton = true\n"),
     "config.toml:4: features.moderaton: unknown feature (did you mean 'moderation'?)"),
    ("feature-not-bool", set_config(BASE + '[features]\nmoderation = "yes"\n'),
     "features.moderation: must be true or false"),
    ("empty-prefix", set_config('bot_name = "b"\ncommand_prefix = ""\n'),
     "config.toml:2: command_prefix: must not be empty"),
    ("bad-root", set_config(BASE + 'command_root = "two words"\n'), "command_root: must be empty or one"),
    ("bad-timezone", set_config(BASE + 'timezone = "Mars/Olympus"\n'),
     "timezone: unknown IANA time zone 'Mars/Olympus'"),
    ("missing-personality", lambda f: (f / "personality.txt").unlink(), "personality.txt: "
     "personality file not found"),
    ("empty-personality", lambda f: write(f, "personality.txt", "  \n"), "personality file is empty"),
    ("oversized-personality", lambda f: write(f, "personality.txt", "x" * (64 * 1024 + 1)),
     "personality file is 65537 bytes; the limit is 65536"),
    ("non-utf8-personality", lambda f: write(f, "personality.txt", b"caf\xe9 \xff"),
     "personality file is not UTF-8"),
    ("personality-dotdot", set_config(BASE + 'personality_file = "../x"\n'),
     "personality_file: '../x' points outside the instance folder"),
    ("personality-absolute", set_config(BASE + 'personality_file = "/etc/hostname"\n'),
     "personality_file: must be relative to the instance folder"),
    ("personality-symlink-out", symlink_personality_out, "'link.txt' points outside the instance folder"),
    ("placeholder-token", set_env("DISCORD_TOKEN=your-bot-token\n"),
     ".env:1: DISCORD_TOKEN: still has the placeholder value"),
    ("missing-token", set_env("GUILD_ID=123456789012345678\n"), ".env: DISCORD_TOKEN: is required"),
    ("empty-token", set_env("DISCORD_TOKEN=\n"), "DISCORD_TOKEN: is required"),
    ("bad-guild-id", set_env("DISCORD_TOKEN=t\nGUILD_ID=my-guild\n"),
     ".env:2: GUILD_ID: must be a numeric Discord ID (15-21 digits)"),
    ("bad-client-id", set_env("DISCORD_TOKEN=t\nCLIENT_ID=12\n"), "CLIENT_ID: must be a numeric Discord ID"),
    ("schema-pg", set_env("DISCORD_TOKEN=t\nDB_SCHEMA=pg_temp\n"), "DB_SCHEMA: 'pg_temp' is reserved"),
    ("schema-information", set_env("DISCORD_TOKEN=t\nDB_SCHEMA=information_schema\n"), "is reserved"),
    ("schema-64-bytes", set_env(f"DISCORD_TOKEN=t\nDB_SCHEMA={'a' * 64}\n"),
     "is longer than PostgreSQL's 63 bytes for a name"),
    ("schema-64-bytes-utf8", set_env(f"DISCORD_TOKEN=t\nDB_SCHEMA={'é' * 32}\n"), "is longer than PostgreSQL's"),
    ("mcp-port", set_env("DISCORD_TOKEN=t\nMCP_PORT=http\n"), ".env:2: MCP_PORT: must be a port number"),
    ("mcp-port-zero", set_env("DISCORD_TOKEN=t\nMCP_PORT=0\n"), "MCP_PORT: must be a port number (1-65535)"),
    ("mcp-bind", set_env("DISCORD_TOKEN=t\nMCP_BIND_ADDR=example.com\n"), "MCP_BIND_ADDR: must be an IP address"),
    ("minecraft-role", set_config(BASE + '[minecraft]\n[minecraft.donator_sync_config]\nsupporter_role = "x"\n'
                                         'premium_role = "123456789012345678"\n'),
     "minecraft.donator_sync_config.supporter_role: must be a Discord ID"),
    ("minecraft-unknown-key", set_config(BASE + "[minecraft]\nverfy = true\n"),
     "minecraft.verfy: unknown key (did you mean 'verify'?)"),
    ("bad-database-url", set_env("DISCORD_TOKEN=t\nDATABASE_URL=mysql://x\n"),
     "DATABASE_URL: must be a postgresql:// URL"),
    ("env-not-utf8", lambda f: write(f, ".env", b"DISCORD_TOKEN=caf\xe9\n"), "bot/.env: is not UTF-8 text"),
    ("bad-url-port", set_env("DISCORD_TOKEN=t\nDATABASE_URL=postgresql://u@db:abc/x\n"),
     ".env:2: DATABASE_URL: is not a valid URL"),
    ("token-with-bot-prefix", set_env("DISCORD_TOKEN=Bot abc.def.ghi\n"),
     ".env:1: DISCORD_TOKEN: starts with 'Bot': put the token alone"),
    ("token-with-space", set_env("DISCORD_TOKEN=abc.def ghi\n"), "DISCORD_TOKEN: contains a space or line break"),
    ("url-raw-at-in-password", set_env("DISCORD_TOKEN=t\nDATABASE_URL=postgresql://bot:p@ss@db.example/x\n"),
     ".env:2: DATABASE_URL: has a raw @ in its user or password: percent-encode @ as %40"),
    ("bad-url-bracket", set_env("DISCORD_TOKEN=t\nDATABASE_URL=postgresql://u:pw@[bad/x\n"),
     "DATABASE_URL: is not a valid URL"),
    ("sweep-out-of-range", set_config(BASE + "[moderation]\nsweep_interval = 0\n"),
     "moderation.sweep_interval: must be between 0.5 and 3600"),
]


@pytest.mark.parametrize(("breaker", "expected"), [(b, e) for _, b, e in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS])
def test_bad_input_has_its_own_message(instances: InstanceFolders, breaker: Callable[[Path], None],
                                       expected: str) -> None:
    folder = instances.make("bot", env=GOOD_ENV)
    instances.make("other", env={"DISCORD_TOKEN": "token-two"})
    breaker(folder)
    code, output = run_check(instances.root)
    assert code == 1, output
    assert expected in output, output
    lines = output.splitlines()
    assert any(line.startswith("bot ") and "invalid" in line for line in lines)
    # the neighbour is untouched by bot's problem
    assert any(line.startswith("other") and " ok " in line for line in lines), output


def test_bad_folder_name(instances: InstanceFolders) -> None:
    instances.make("My_Bot", env=GOOD_ENV)
    code, output = run_check(instances.root)
    assert code == 1
    assert "folder name 'My_Bot' is not a valid instance name" in output


def test_without_db_schema_the_schema_is_public_as_in_discord_bot_rs(instances: InstanceFolders) -> None:
    instances.make("my-bot", env="DISCORD_TOKEN=t1\n")
    code, output = run_check(instances.root)
    assert code == 0, output
    assert output.splitlines()[1].split()[:3] == ["my-bot", "ok", "public"]


@pytest.mark.parametrize("schema", ["public", "My-Bot", 'x"; drop schema y; --', "é" * 31, "PG_upper"])
def test_any_name_postgres_takes_quoted_is_a_schema(instances: InstanceFolders, schema: str) -> None:
    instances.make("bot", env=f"DISCORD_TOKEN=t1\nDB_SCHEMA='{schema}'\n")
    code, output = run_check(instances.root)
    assert code == 0, output
    assert schema in output.splitlines()[1]


def test_two_instances_without_db_schema_share_public_and_are_told_how_to_part(instances: InstanceFolders) -> None:
    instances.make("alpha", env="DISCORD_TOKEN=a\n")
    instances.make("beta", env="DISCORD_TOKEN=b\n")
    code, output = run_check(instances.root)
    assert code == 1
    assert ("alpha/.env: DB_SCHEMA: schema 'public' is also used by instance 'beta': give each its own, e.g. "
            "DB_SCHEMA=alpha in this one's .env") in output
    assert "beta/.env: DB_SCHEMA: schema 'public' is also used by instance 'alpha'" in output
    assert "DB_SCHEMA=beta" in output


def test_two_instances_on_one_mcp_port_name_each_other(instances: InstanceFolders) -> None:
    instances.make("alpha", env={"DISCORD_TOKEN": "a", "MCP_PORT": "9191"})
    instances.make("beta", env={"DISCORD_TOKEN": "b", "MCP_AUTH_TOKEN": "s3cret", "MCP_PORT": "9191"})
    code, output = run_check(instances.root)
    assert code == 1
    assert "alpha/.env: MCP_PORT: MCP_PORT 9191 is also used by instance 'beta'" in output
    assert "s3cret" not in output


def test_a_public_mcp_bind_without_a_token_is_a_warning_and_the_bot_still_runs(instances: InstanceFolders) -> None:
    instances.make("alpha", env={"DISCORD_TOKEN": "a", "MCP_BIND_ADDR": "0.0.0.0"})
    code, output = run_check(instances.root)
    assert code == 0, output
    assert ("warning: alpha/.env: MCP_BIND_ADDR: MCP_BIND_ADDR 0.0.0.0 is not a loopback address and "
            "MCP_AUTH_TOKEN is empty: this instance's MCP listener does not start") in output


def test_env_keys_nothing_reads_are_warnings_that_name_them(instances: InstanceFolders) -> None:
    config = ('bot_name = "b"\ncommand_prefix = "!"\n[ai.providers.local]\nurl = "http://127.0.0.1:1/v1"\n'
              'model = "m"\napi_key_env = "LOCAL_KEY"\nmax_tokens = 100\n')
    instances.make("alpha", config=config, env={
        "DISCORD_TOKEN": "a", "RUST_LOG": "info", "CONFIG_DIR": "/config", "DISCORD_TOKNE": "x",
        "LOCAL_KEY": "k", "FINNHUB_API_KEY": "f", "MC_VERIFY_URL": "http://127.0.0.1:1", "MCP_PORT": "9191"})
    code, output = run_check(instances.root)
    assert code == 0, output
    warnings = [line.strip() for line in output.splitlines() if "warning: alpha/.env" in line]
    assert warnings == [
        "warning: alpha/.env: CONFIG_DIR: not used: the instance's folder is its config directory",
        "warning: alpha/.env: DISCORD_TOKNE: not used by any feature of discord-supervisor (a typo?); ignored",
        "warning: alpha/.env: RUST_LOG: not used: the daemon's log level is `run --log-level` "
        "(or SUPERVISOR_LOG_LEVEL)",
    ]


def test_minecraft_quirks_are_warnings(instances: InstanceFolders) -> None:
    on = 'bot_name = "b"\ncommand_prefix = "!"\n[features]\nminecraft = true\n'
    instances.make("bare", config=on, env={"DISCORD_TOKEN": "a"})
    instances.make("nostaff", config=on + (
        '[minecraft]\nchargeback = true\ndonator_sync = true\n[minecraft.chargeback_config]\n'
        'staff_channel = "123456789012345678"\nrestricted_role = "223456789012345678"\n'), env={"DISCORD_TOKEN": "b"})
    code, output = run_check(instances.root)
    assert code == 0, output
    assert "warning: bare/config.toml:4: features.minecraft: is on but [minecraft] is missing: minecraft stays off" \
        in output
    assert ("nostaff/config.toml: minecraft.chargeback_config.staff_roles: is empty: nobody can press Ban or "
            "Dismiss") in output
    assert "nostaff/config.toml:7: minecraft.donator_sync: is on but [minecraft.donator_sync_config] is missing" \
        in output
    assert "nostaff/config.toml: minecraft.verify: needs MC_VERIFY_URL and MC_VERIFY_SECRET in .env" in output
    assert "minecraft.donator_sync: needs" not in output  # it stays off: nothing to configure for it


def test_a_feature_switched_on_without_its_table_stays_off_with_a_warning(instances: InstanceFolders) -> None:
    # discord-bot-rs's "warn and disable": its folders with `auto_role = true` and no [auto_role] still run.
    config = 'bot_name = "b"\ncommand_prefix = "!"\n[features]\nauto_role = true\njoin_role = true\n'
    instances.make("bare", config=config, env={"DISCORD_TOKEN": "a"})
    code, output = run_check(instances.root)
    assert code == 0, output
    assert "warning: bare/config.toml:4: features.auto_role: is on but [auto_role] is missing: auto_role stays off" \
        in output
    assert "warning: bare/config.toml:5: features.join_role: is on but [join_role] is missing" in output
    # A table that is there but incomplete is still an error: that one is a typo to fix, not a feature left out.
    instances.make("bare", config=config + '[join_role]\nrol = "123456789012345678"\n', env={"DISCORD_TOKEN": "a"})
    code, output = run_check(instances.root)
    assert code == 1 and "join_role.role: is required" in output, output


def test_a_minecraft_table_of_a_feature_that_is_off_warns_nothing(instances: InstanceFolders) -> None:
    # stocks off too: without FINNHUB_API_KEY it would warn, and this test is about minecraft's table alone.
    config = ('bot_name = "b"\ncommand_prefix = "!"\n[features]\nminecraft = false\nstocks = false\n[minecraft]\n'
              'chargeback = true\n'
              '[minecraft.chargeback_config]\nstaff_channel = "123456789012345678"\n'
              'restricted_role = "223456789012345678"\n')
    instances.make("off", config=config, env={"DISCORD_TOKEN": "a"})
    code, output = run_check(instances.root)
    assert code == 0 and "warning" not in output, output
    instances.make("off", config=config.replace('"223456789012345678"', '"two"'), env={"DISCORD_TOKEN": "a"})
    code, output = run_check(instances.root)
    assert code == 1 and "minecraft.chargeback_config.restricted_role: must be a Discord ID" in output, output


def test_duplicate_schema_names_both(instances: InstanceFolders) -> None:
    instances.make("alpha", env={"DISCORD_TOKEN": "a", "DB_SCHEMA": "shared"})
    instances.make("beta", env={"DISCORD_TOKEN": "b", "DB_SCHEMA": "shared"})
    code, output = run_check(instances.root)
    assert code == 1
    assert "alpha/.env: DB_SCHEMA: schema 'shared' is also used by instance 'beta'" in output
    assert "beta/.env: DB_SCHEMA: schema 'shared' is also used by instance 'alpha'" in output


def test_same_schema_on_different_databases_is_fine(instances: InstanceFolders) -> None:
    instances.make("alpha", env={"DISCORD_TOKEN": "a", "DB_SCHEMA": "s", "DATABASE_URL": "postgresql://h1/db"})
    instances.make("beta", env={"DISCORD_TOKEN": "b", "DB_SCHEMA": "s", "DATABASE_URL": "postgresql://h2/db"})
    code, output = run_check(instances.root)
    assert code == 0, output


def test_duplicate_token_names_both(instances: InstanceFolders) -> None:
    instances.make("alpha", env={"DISCORD_TOKEN": "same"})
    instances.make("beta", env={"DISCORD_TOKEN": "same"})
    code, output = run_check(instances.root)
    assert code == 1
    assert "alpha/.env: DISCORD_TOKEN: the same token is also used by instance 'beta'" in output
    assert "same" not in output.replace("the same token", "")  # the token itself is never printed


def test_process_environment_never_overrides_env_file(instances: InstanceFolders,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_SCHEMA", "from_process")
    monkeypatch.setenv("DISCORD_TOKEN", "your-process-token")
    instances.make("alpha", env={"DISCORD_TOKEN": "alpha-token"})
    code, output = run_check(instances.root)
    assert code == 0, output
    assert "alpha" in output.splitlines()[1] and "from_process" not in output


def test_json_output(instances: InstanceFolders) -> None:
    instances.make("good", env=GOOD_ENV)
    (instances.root / "typo").mkdir()
    (instances.root / "typo" / "config.tml").write_text("")  # a near miss: its hint goes in the JSON, not after it
    instances.make("bad", env={"DISCORD_TOKEN": "your-token"})
    out = io.StringIO()
    code = check.run(SupervisorSettings(instances.root, None), as_json=True, out=out)
    report = json.loads(out.getvalue())  # the whole output is one JSON document
    assert code == 1 and report["ok"] is False
    assert any("config.tml" in hint for hint in report["hints"]), report["hints"]
    by_name = {i["name"]: i for i in report["instances"]}
    assert by_name["good"]["status"] == "ok" and by_name["good"]["schema"] == "good"  # DB_SCHEMA=good
    assert by_name["bad"]["problems"][0]["field"] == "DISCORD_TOKEN"
    assert by_name["bad"]["problems"][0]["line"] == 1


@pytest.mark.e2e
def test_cli_check_exit_codes_and_missing_directory(instances: InstanceFolders, tmp_path: Path) -> None:
    instances.make("good", env={"DISCORD_TOKEN": fake_token("good")})
    result = run_cli("check", "--instances", str(instances.root))
    assert result.returncode == 0, result.stderr
    assert "good" in result.stdout
    missing = run_cli("check", "--instances", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr
    env_dir = run_cli("check", env={"SUPERVISOR_INSTANCES": str(instances.root)}, cwd=tmp_path)
    assert env_dir.returncode == 0 and "good" in env_dir.stdout, env_dir.stderr + env_dir.stdout


def test_urls_are_printed_without_their_passwords() -> None:
    from supervisor.dburl import redact_url

    assert redact_url("postgresql://bot:s3cret@db:5432/x") == "postgresql://bot:***@db:5432/x"
    assert "s3cret" not in redact_url("postgresql://bot@db/x?password=s3cret&sslmode=require")
    assert "sslmode=require" in redact_url("postgresql://bot@db/x?password=s3cret&sslmode=require")
    assert redact_url("postgresql://u:pw@[bad/x") == "<an unparsable URL>"
