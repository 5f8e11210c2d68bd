from discord.ext import commands

from supervisor.sdk import FeatureContext


class FaultyCog(commands.Cog):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        # A background job started before the failure: a rolled-back load must stop it.
        self.job = ctx.every("tick", 3600, self._tick, wait_until_ready=False)
        if ctx.settings["fail_in"] == "init":
            raise RuntimeError("faulty refuses to build")

    async def _tick(self) -> None:
        return None

    async def cog_load(self) -> None:
        if self.ctx.settings["fail_in"] == "cog_load":
            raise RuntimeError("faulty refuses to load")

    @commands.command(name="faulty")
    async def faulty(self, context: commands.Context) -> None:
        await context.reply("faulty here", mention_author=False)
