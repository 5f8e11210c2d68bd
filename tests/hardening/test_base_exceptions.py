"""KeyboardInterrupt or SystemExit from one bot's command restarts that bot, never the process."""

from __future__ import annotations

from typing import Any

from discord.ext import commands

from tests.support import eventually


class Saboteur(commands.Cog):
    @commands.command(name="interrupt")
    async def interrupt(self, context: commands.Context) -> None:
        raise KeyboardInterrupt

    @commands.command(name="quit")
    async def quit(self, context: commands.Context) -> None:
        raise SystemExit(3)


async def test_base_exceptions_restart_only_their_instance(harness_factory: Any) -> None:
    victim = await harness_factory(name="victim")
    bystander = await harness_factory(name="bystander")
    for command in ("!interrupt", "!quit"):
        restarts = victim.runner.status.restarts
        await victim.bot.add_cog(Saboteur())
        await victim.send(victim.owner, command)
        await eventually(lambda r=restarts: victim.runner.status.restarts > r, timeout=20)
        await victim.wait_running(timeout=30)
        assert command.strip("!") in str(victim.status()["last_error"])  # still there once it runs again
        assert "Pong" in await victim.say(victim.owner, "!ping")
        assert "Pong" in await bystander.say(bystander.owner, "!ping")
    assert bystander.runner.status.restarts == 0
