"""Client commands find the daemon's default control socket from any working directory."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, add_bot, run_cli

pytestmark = pytest.mark.e2e  # the daemon and the command line as processes


async def test_status_from_another_directory_finds_the_daemon(emu: Emulator, instances: InstanceFolders,
                                                             tmp_path: Path, database_url: str, schemas: list[str],
                                                             unique) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="ds-"))  # short: a socket path has at most 107 bytes
    bot = add_bot(emu, instances, "sock", prefix="!", schema=unique("sock"), database_url=database_url)
    schemas.append(bot.schema)
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           env={"XDG_RUNTIME_DIR": str(runtime)})
    at = daemon.args.index("--control-socket")
    del daemon.args[at:at + 2]  # the default socket path, as a user runs it
    await daemon.start()
    try:
        await daemon.wait_running("sock")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        result = await asyncio.to_thread(run_cli, "status", cwd=elsewhere, env={"XDG_RUNTIME_DIR": str(runtime)})
        assert result.returncode == 0, result.stderr
        assert "sock" in result.stdout and "running" in result.stdout
    finally:
        assert await daemon.stop() == 0, daemon.stderr_text[-3000:]
        shutil.rmtree(runtime)


def test_no_daemon_names_the_absolute_path_it_tried(tmp_path: Path) -> None:
    # A runtime directory of its own (no daemon there, whatever runs on this machine's default socket), named
    # relative to where the command runs: the message shows the absolute path.
    (tmp_path / "run").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("status", cwd=elsewhere, env={"XDG_RUNTIME_DIR": "", "RUNTIME_DIRECTORY": str(tmp_path / "run")})
    assert result.returncode == 1
    assert f"nothing answers on {tmp_path}/run/discord-supervisor.sock" in result.stderr
