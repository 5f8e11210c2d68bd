"""A FIFO or a directory where a file belongs is that instance's problem: nothing blocks, nothing is skipped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from supervisor.daemon.control import request
from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, add_bot, eventually, fake_token, run_cli

pytestmark = pytest.mark.e2e  # the daemon and the command line as processes


def make_bad_folders(instances: InstanceFolders) -> None:
    env = {"DISCORD_TOKEN": fake_token("x"), "DATABASE_URL": "postgresql://127.0.0.1:1/x"}
    folder = instances.make("pipe-personality", env={**env, "DISCORD_TOKEN": fake_token("p")}, personality=None)
    os.mkfifo(folder / "personality.txt")
    folder = instances.make("pipe-env", env=None)
    os.mkfifo(folder / ".env")
    folder = instances.make("dir-config", env={**env, "DISCORD_TOKEN": fake_token("d")})
    (folder / "config.toml").unlink()
    (folder / "config.toml").mkdir()


def test_check_reports_each_bad_file_and_fails(instances: InstanceFolders) -> None:
    make_bad_folders(instances)
    result = run_cli("check", "--instances", str(instances.root), "--json", timeout=60)  # a hang fails here
    assert result.returncode == 1, result.stdout + result.stderr
    reports = json.loads(result.stdout)["instances"]
    problems = {r["name"]: " ".join(p["message"] for p in r["problems"]) for r in reports}
    assert "named pipe" in problems["pipe-personality"]
    assert "named pipe" in problems["pipe-env"]
    assert "is a directory" in problems["dir-config"]


async def test_a_running_daemon_keeps_serving_while_bad_files_appear(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
        unique) -> None:
    good = add_bot(emu, instances, "good", prefix="!", schema=unique("safe_f"), database_url=database_url)
    schemas.append(good.schema)
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url)
    await daemon.start()
    try:
        await daemon.wait_running("good")
        make_bad_folders(instances)  # the watcher rescans on its own

        async def all_three_invalid() -> bool:
            answer = await request(daemon.control_socket, {"command": "status"}, timeout=5)
            states = {i["name"]: i["state"] for i in answer["instances"]}
            return all(states.get(n) == "invalid" for n in ("pipe-personality", "pipe-env", "dir-config"))

        await eventually(all_three_invalid, timeout=30)
        await emu.send_message(good.channel, good.owner, "!ping")
        reply = await emu.wait_for_bot_message(channel=good.channel, bot=good.bot_user, timeout=10)
        assert "Pong" in reply.content
    finally:
        assert await daemon.stop() == 0
