"""Never two daemons on one bot: the lock file beside the control socket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, add_bot, run_cli_async

pytestmark = pytest.mark.e2e  # daemons as separate processes


async def test_second_and_third_run_are_refused_and_the_first_keeps_its_socket(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
        unique) -> None:
    bot = add_bot(emu, instances, "solo", prefix="!", schema=unique("one_d"), database_url=database_url)
    schemas.append(bot.schema)
    first = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url)
    await first.start()
    try:
        await first.wait_running("solo")
        assert first.process is not None
        for _ in range(2):  # the third is the one that used to start a second daemon on the same tokens
            extra = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url)
            await extra.start()
            assert extra.process is not None
            assert await asyncio.wait_for(extra.process.wait(), 30) == 1
            await extra.stop()
            assert f"PID {first.process.pid}" in extra.stderr_text
            code, out, err = await run_cli_async("status", "--json", "--control-socket", str(first.control_socket))
            assert code == 0, err
            assert [i["state"] for i in json.loads(out)] == ["running"]
        assert emu.identify_count(bot.token) == 1  # never a second session on the token
    finally:
        assert await first.stop() == 0
