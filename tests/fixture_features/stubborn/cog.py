import asyncio

from discord.ext import commands

from supervisor.sdk import FeatureContext

# The test's handle on the task (one test at a time per process uses it): set `release` to let it end.
release = asyncio.Event()


class StubbornCog(commands.Cog):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        ctx.spawn("holdout", self._holdout)

    async def _holdout(self) -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:  # the bug: swallowed, then waits for the test to let it go
                await release.wait()
                return
