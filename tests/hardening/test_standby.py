"""Two daemons, two instance trees, one database and schema: one runs the bot, the other stands by and takes
over within 15 s of the first one's kill -9, tempbans included."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, add_bot, eventually, run_cli_async

pytestmark = pytest.mark.e2e  # two daemons as separate processes

TAKEOVER_SECONDS = 15.0


async def instance_status(daemon: DaemonProcess, name: str) -> dict:
    code, out, err = await run_cli_async("status", "--json", "--control-socket", str(daemon.control_socket))
    assert code == 0, err
    return {item["name"]: item for item in json.loads(out)}[name]


async def test_a_standby_daemon_takes_over_within_15_seconds_of_a_kill_9(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    primary_tree = InstanceFolders(tmp_path / "primary" / "instances")
    bot = add_bot(emu, primary_tree, "shared", prefix="!", schema=unique("standby"), database_url=database_url,
                  config_extra="[moderation]\nsweep_interval = 0.5\n")
    schemas.append(bot.schema)
    standby_root = tmp_path / "standby" / "instances"
    shutil.copytree(primary_tree.root, standby_root)  # another host's copy of the same tree
    target = emu.create_user("target")
    emu.add_member(bot.guild, target)

    primary = DaemonProcess(primary_tree.root, tmp_path / "primary", api_base=emu.api_base,
                            gateway_url=emu.gateway_url)
    standby = DaemonProcess(standby_root, tmp_path / "standby", api_base=emu.api_base, gateway_url=emu.gateway_url)
    await primary.start()
    try:
        await primary.wait_running("shared")
        await standby.start()
        await standby.wait_log(lambda e: e.get("event") == "instance_running_elsewhere")
        assert primary.process is not None
        shown = await instance_status(standby, "shared")
        assert shown["state"] == "running elsewhere" and f"pid {primary.process.pid}" in shown["last_error"]
        assert emu.identify_count(bot.token) == 1  # the standby never connects meanwhile

        async def primary_knows_the_standby() -> bool:  # so it cuts the bot off if it loses its lease
            code, out, err = await run_cli_async("status", "--fleet", "--json", "--control-socket",
                                                 str(standby.control_socket))
            assert code == 0, err
            return any(row["held"] and row["fences"] for row in json.loads(out))

        await eventually(primary_knows_the_standby)
        await emu.send_message(bot.channel, bot.owner, f"!ban <@{target.id}> 4s")
        reply = await emu.wait_for_bot_message(channel=bot.channel, bot=bot.bot_user, timeout=10)
        assert reply.content.startswith("Banned")
        primary.process.kill()  # kill -9: no clean shutdown, no lease released by hand
        await primary.process.wait()
        await standby.wait_running("shared", timeout=TAKEOVER_SECONDS)
        await eventually(lambda: target.id not in emu.bans(bot.guild), timeout=20)  # the tempban is not lost
        shown = await instance_status(standby, "shared")
        assert shown["state"] == "running" and isinstance(shown["loop_stalls"], int)
    finally:
        await primary.stop()
        assert await standby.stop() == 0
