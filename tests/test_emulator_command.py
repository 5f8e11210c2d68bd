"""`discord-supervisor emulator` on its own, and `run` pointed at it with the command it prints."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

import pytest

from tests.support import REPO, DaemonProcess, InstanceFolders, fake_token, run_cli_async

pytestmark = pytest.mark.e2e  # the emulator command and the daemon as processes


async def test_run_pointed_at_the_emulator_command_comes_up(instances: InstanceFolders, tmp_path: Path,
                                                            database_url: str, schemas: list[str], unique) -> None:
    schema = unique("emucmd")
    schemas.append(schema)
    instances.make("emubot", env={"DISCORD_TOKEN": fake_token("emubot"), "DB_SCHEMA": schema})
    emulator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supervisor", "emulator", "--port", "0", "--instances", str(instances.root),
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    daemon: DaemonProcess | None = None
    try:
        assert emulator.stdout
        printed = ""
        while "discord-supervisor run" not in printed:
            line = (await asyncio.wait_for(emulator.stdout.readline(), 60)).decode()
            assert line, printed
            printed += line
        assert "emubot: application" in printed and "members you, alice, bob, carol, dave" in printed
        command = shlex.split(printed.splitlines()[-1])
        assert command[:2] == ["discord-supervisor", "run"]
        api_base, gateway = command[command.index("--api-base-url") + 1], command[command.index("--gateway-url") + 1]
        ca_file = command[command.index("--ca-file") + 1]  # the emulator's throwaway CA, for wss voice
        assert Path(ca_file).read_text().startswith("-----BEGIN CERTIFICATE-----")
        daemon = DaemonProcess(instances.root, tmp_path, api_base=api_base, gateway_url=gateway,
                               database_url=database_url, ca_file=ca_file)
        await daemon.start()
        await daemon.wait_running("emubot", timeout=60)
        code, out, _ = await run_cli_async("status", "--control-socket", str(daemon.control_socket))
        assert code == 0 and "emubot" in out and "running" in out
    finally:
        if daemon is not None:
            await daemon.stop()
        emulator.terminate()
        assert await asyncio.wait_for(emulator.wait(), 30) == 0
