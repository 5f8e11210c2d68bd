"""`!crash`: the bug. Not even KeyboardInterrupt from here may end the daemon that hosts other bots."""

from __future__ import annotations

from discord.ext import commands

from supervisor.sdk import FeatureContext


class CrashyCog(commands.Cog, name="Crashy"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx

    @commands.command(name="crash", brief="raise KeyboardInterrupt (a bug)")
    async def crash(self, context: commands.Context) -> None:
        raise KeyboardInterrupt("crashy_feature's bug")
