"""PostgreSQL frozen (SIGSTOP): a database command answers "database unavailable" within its one deadline
(`command_timeout`, waiting for a connection included), and a SIGTERM meanwhile stops the daemon cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from supervisor.runtime.errors import DATABASE_DOWN
from tests.support import DaemonProcess, InstanceFolders, add_bot, frozen, scratch_server

pytestmark = pytest.mark.e2e  # signals to a daemon process

COMMAND_TIMEOUT = 4.0
# The documented bound is command_timeout + 1 s; this allows 1 s more for a loaded machine, and is still well under
# twice the timeout (8 s: a connect wait, then the query), which is what it catches.
REPLY_WITHIN = COMMAND_TIMEOUT + 2.0
STOP_WITHIN = 10.0


async def test_a_frozen_database_answers_within_the_deadline_and_sigterm_exits_0(
        emu: Emulator, tmp_path: Path) -> None:
    async with scratch_server() as server:
        instances = InstanceFolders(tmp_path / "instances")
        bot = add_bot(emu, instances, "frozen", prefix="!", schema="frozen", database_url=server.url,
                      config_extra=f'command_root = ""\n[database]\ncommand_timeout = {COMMAND_TIMEOUT}\n')
        daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url)
        await daemon.start()
        try:
            await daemon.wait_running("frozen")
            with frozen(server):
                # No connection is open yet (the pool opens them on demand): the wait for one counts too.
                await emu.send_message(bot.channel, bot.owner, "!banlist")
                reply = await emu.wait_for_bot_message(channel=bot.channel, bot=bot.bot_user, timeout=REPLY_WITHIN)
                assert reply.content == DATABASE_DOWN
                await emu.send_message(bot.channel, bot.owner, "!banlist")  # one more in flight at the SIGTERM
                await asyncio.sleep(0.2)
                code = await daemon.stop(timeout=STOP_WITHIN)
            assert code == 0, daemon.stderr_text
            raw = [line for line in daemon.book.raw if not line.startswith("{")]
            assert not raw, raw  # every line a log event: no traceback, no raw discord.py error
            assert "Traceback" not in daemon.stderr_text
        finally:
            await daemon.stop()
