"""A blocking call in one bot's command is named: one log line with the instance and the command, counted."""

from __future__ import annotations

import time
from typing import Any

from discord.ext import commands
from structlog.testing import capture_logs

from supervisor.daemon.watchdog import LoopWatchdog


class Sleepy(commands.Cog):
    @commands.command(name="nap")
    async def nap(self, context: commands.Context) -> None:
        time.sleep(1)  # the mistake under test: a blocking call on the shared event loop
        await context.reply("awake")


async def test_a_blocking_command_is_logged_once_with_its_instance_and_command(harness_factory: Any) -> None:
    h = await harness_factory(name="sleepy")
    await h.bot.add_cog(Sleepy())
    with capture_logs() as logs:
        watchdog = LoopWatchdog()
        watchdog.start()
        try:
            assert await h.say(h.owner, "!nap") == "awake"
            assert await h.say(h.owner, "!ping")  # the loop turned over since: the stall has been reported
        finally:
            await watchdog.stop()
    stalls = [e for e in logs if e["event"] == "event_loop_stalled" and e.get("activity") == "command nap"]
    assert len(stalls) == 1, logs
    assert stalls[0]["instance"] == "sleepy" and stalls[0]["stalled_ms"] >= 900
    assert watchdog.count_for("sleepy") >= 1
