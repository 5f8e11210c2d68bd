"""Features from other distributions: pip-installed into a scratch environment, found by their entry point.

tests/plugins/remind (docs/writing-features.md's example) and tests/plugins/broken (a bug at import) are built and
installed with pip, offline, into a scratch folder that only these processes put on their path. The remind
feature then shows in `features`, `check` and `invite` and runs in an instance of the real daemon; the broken one
makes only the instance that switches it on invalid.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from tests.support import REPO, DaemonProcess, InstanceFolders, add_bot, reply_to, run_cli, status

pytestmark = pytest.mark.e2e

PLUGINS = REPO / "tests" / "plugins"
ONLY_REMIND = 'command_root = ""\n[features]\nremind = true\nmoderation = false\nstocks = false\nai_chat = false\n'
ONLY_BROKEN = 'command_root = ""\n[features]\nbroken = true\nmoderation = false\nstocks = false\nai_chat = false\n'


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch site-packages holding the two plugin distributions (their dependencies are ours, already here)."""
    target = tmp_path_factory.mktemp("site")
    for plugin in ("remind", "broken"):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                        "--no-build-isolation", "--target", str(target), str(PLUGINS / plugin)],
                       check=True, timeout=300, capture_output=True)
    return target


def test_the_installed_features_are_listed_and_the_broken_one_named(site: Path) -> None:
    result = run_cli("features", "--json", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    remind = next(f for f in listing["features"] if f["name"] == "remind")
    assert remind["default"] == "off" and [s["key"] for s in remind["settings"]] == ["max_pending", "check_interval"]
    [broken] = listing["broken"]
    assert broken["name"] == "broken" and "discord-supervisor-broken-feature 0.1.0" in broken["source"]
    assert broken["error"] == "RuntimeError: broken_feature cannot start: its author left a bug here"
    # Without the scratch folder on the path, neither exists.
    plain = json.loads(run_cli("features", "--json").stdout)
    assert "remind" not in {f["name"] for f in plain["features"]} and plain["broken"] == []


def test_check_and_invite_see_the_installed_feature(site: Path, instances: InstanceFolders) -> None:
    env = {"DISCORD_TOKEN": "a.b.c", "DB_SCHEMA": "rem", "CLIENT_ID": "123456789012345678"}
    instances.make("rem", config='bot_name = "Rem"\ncommand_prefix = "!"\n' + ONLY_REMIND, env=env)
    instances.make("bad", config='bot_name = "Bad"\ncommand_prefix = "!"\n' + ONLY_BROKEN,
                   env={**env, "DB_SCHEMA": "bad"})
    scratch = {"PYTHONPATH": str(site)}

    check = run_cli("check", "--instances", str(instances.root), env=scratch)
    assert check.returncode == 1, check.stdout
    lines = check.stdout.splitlines()
    assert any(line.startswith("rem ") and " ok " in line for line in lines), check.stdout
    assert any(line.startswith("bad ") and "invalid" in line for line in lines), check.stdout
    assert "broken: the installed feature cannot be loaded: RuntimeError: broken_feature cannot start" in check.stdout

    invite = run_cli("invite", "rem", "--instances", str(instances.root), env=scratch)
    assert invite.returncode == 0, invite.stderr
    assert "client_id=123456789012345678" in invite.stdout and "send_messages" in invite.stdout
    without = run_cli("check", "--instances", str(instances.root))  # not installed: an unknown feature
    assert "remind: unknown feature" in without.stdout


async def test_an_installed_feature_runs_and_a_broken_one_fails_only_its_instance(
        site: Path, emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str,
        schemas: list[str], unique) -> None:
    rem = add_bot(emu, instances, "rem", prefix="!", schema=unique("plug_rem"), database_url=database_url,
                  config_extra=ONLY_REMIND)
    bad = add_bot(emu, instances, "bad", prefix="?", schema=unique("plug_bad"), database_url=database_url,
                  config_extra=ONLY_BROKEN)
    fine = add_bot(emu, instances, "fine", prefix="$", schema=unique("plug_fine"), database_url=database_url,
                   config_extra=ONLY_BROKEN.replace("broken = true", "broken = false"))
    schemas += [rem.schema, bad.schema, fine.schema]
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           env={"PYTHONPATH": str(site)})
    await daemon.start()
    try:
        await daemon.wait_running("rem", "fine")
        assert await reply_to(emu, rem, "!reminders") == "No reminders waiting."
        assert await reply_to(emu, rem, "!remind 1h stretch") == "I'll remind you in 1h."
        assert (await reply_to(emu, fine, "$ping")).startswith("Pong!")
        shown = await status(daemon)
        assert shown["bad"]["state"] == "invalid"
        assert "RuntimeError: broken_feature cannot start" in shown["bad"]["last_error"]
        assert shown["rem"]["state"] == "running" and shown["fine"]["state"] == "running"
    finally:
        assert await daemon.stop() == 0, daemon.stderr_text[-3000:]
