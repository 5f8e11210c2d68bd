"""The daemon with no DATABASE_URL anywhere: the bundled server, its data kept across a daemon restart, no TCP
port, and the log saying which database is in use. (`emu` is the shared emulator fixture of tests/conftest.py.)"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

import supervisor.daemon.runner as runner
from supervisor.emulator import Emulator
from tests.support import (
    DaemonProcess,
    InstanceFolders,
    add_bot,
    execute,
    reply_to,
    scratch_state_dir,
    server_pids,
    socket_inodes,
    socket_url,
    tcp_listeners,
)

pytestmark = pytest.mark.e2e  # the daemon with its bundled server

pytestmark = pytest.mark.skipif(not hasattr(runner, "Databases"),
                                reason="the daemon does not use supervisor.pg.service yet")


@pytest.mark.slow
async def test_the_bundled_server_keeps_a_bots_data_across_daemon_restarts(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, unique) -> None:
    with scratch_state_dir() as state:
        bot = add_bot(emu, instances, "local", prefix="!", schema=unique("bundled"), database_url="")
        url = socket_url(f"{state}/postgres/run")
        for run in ("first", "second"):
            daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                                   extra_args=("--state-dir", str(state)))
            await daemon.start()
            try:
                await daemon.wait_running("local", timeout=180)  # initdb and the server's start: slow under load
                said = daemon.find(lambda e: e.get("event") == "database_bundled")
                assert said and "no TCP port" in said["detail"] and "set DATABASE_URL" in said["hint"]
                postmaster = int((state / "postgres" / "data" / "postmaster.pid").read_text().split()[0])
                assert socket_inodes(server_pids(postmaster)) & tcp_listeners() == set()
                if run == "first":
                    await execute(url, f'INSERT INTO "{bot.schema}".tempbans (guild_id, user_id, moderator_id, '
                                  "reason, expires_at) VALUES ($1, '123456789012345678', $2, 'survives restarts', "
                                  "now() + interval '1 day')", str(bot.guild.id), str(bot.owner.id))
                assert "survives restarts" in await reply_to(emu, bot, "!banlist")
            finally:
                assert await daemon.stop() == 0, daemon.stderr_text[-3000:]
            assert daemon.find(lambda e: e.get("event") == "bundled_postgres_stopped")
            with pytest.raises(OSError):
                await asyncpg.connect(url, timeout=3)  # stopped with the daemon
