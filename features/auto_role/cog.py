"""Auto-role's Cog: counts every guild message and promotes on the message path and in a periodic scan."""

from __future__ import annotations

import discord
from discord.ext import commands
from supervisor.sdk import FeatureContext, Periodic, is_database_unavailable

from .activity import ActivityCounter
from .promotion import Promoter

FLUSH_SECONDS = 10.0  # the most a crash (not a clean stop) can lose


class AutoRoleCog(commands.Cog, name="Auto-role"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.counter = ActivityCounter(ctx.pool)
        self.promoter = Promoter(ctx, self.counter)
        self._jobs: list[Periodic] = []

    async def cog_load(self) -> None:
        self._jobs = [
            self.ctx.every("flush", FLUSH_SECONDS, self._flush, wait_until_ready=False),
            self.ctx.every("scan", "scan_interval", self.promoter.scan),
        ]

    async def cog_unload(self) -> None:
        for job in self._jobs:
            job.cancel()
        pending = self.counter.pending_total()
        try:
            await self.counter.flush()
        except Exception as error:
            self.ctx.log.error("activity_flush_failed_at_stop", messages_lost=pending, error=repr(error))
        else:
            if pending:
                self.ctx.log.info("activity_flushed_at_stop", messages=pending)

    async def _flush(self) -> None:
        self.promoter.flushed(await self.counter.flush())

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        try:
            await self.promoter.on_message(message)
        except Exception as error:
            if not is_database_unavailable(error):
                raise
            self.ctx.log.warning("promotion_check_skipped", reason="database unavailable", error=repr(error))
