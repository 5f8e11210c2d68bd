"""`!remind <duration> <text>` and `!reminders`; a periodic job posts what is due."""

from __future__ import annotations

import datetime as dt

import discord
from discord.ext import commands

from supervisor.sdk import Duration, FeatureContext, Periodic, UserError, format_duration, truncate

MAX_TEXT = 200


class RemindCog(commands.Cog, name="Reminders"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.job: Periodic | None = None

    async def cog_load(self) -> None:
        # Every `check_interval` seconds (read live), and at once when wake() is called. Cancelled and awaited
        # by the kit when the feature is switched off: nothing to stop by hand.
        self.job = self.ctx.every("deliver", "check_interval", self.deliver)

    @commands.command(name="remind", brief="remind you here after a delay", usage="<duration> <text>")
    @commands.guild_only()
    async def remind(self, context: commands.Context, seconds: Duration, *, text: str) -> None:
        assert context.guild is not None
        limit = int(self.ctx.settings["max_pending"])
        pending = await self.ctx.pool.fetchval(
            "SELECT count(*) FROM remind_reminders WHERE user_id = $1 AND delivered_at IS NULL",
            str(context.author.id))
        if pending >= limit:
            raise UserError(f"You already have {limit} reminders waiting.")
        due = self.ctx.clock.utcnow() + dt.timedelta(seconds=int(seconds))
        await self.ctx.pool.execute(
            "INSERT INTO remind_reminders (guild_id, channel_id, user_id, text, due_at) VALUES ($1, $2, $3, $4, $5)",
            str(context.guild.id), str(context.channel.id), str(context.author.id), truncate(text, MAX_TEXT), due)
        if self.job is not None:
            self.job.wake()  # it may be due before the next regular look
        await context.reply(f"I'll remind you in {format_duration(int(seconds))}.", mention_author=False)

    @commands.command(name="reminders", brief="your reminders still waiting")
    async def reminders(self, context: commands.Context) -> None:
        rows = await self.ctx.pool.fetch(
            "SELECT text, due_at FROM remind_reminders WHERE user_id = $1 AND delivered_at IS NULL ORDER BY due_at",
            str(context.author.id))
        now = self.ctx.clock.utcnow()
        lines = [f"in {format_duration(max(1, round((r['due_at'] - now).total_seconds())))}: {r['text']}"
                 for r in rows]
        await context.reply("\n".join(lines) or "No reminders waiting.", mention_author=False)

    async def deliver(self) -> float | None:
        """Post every due reminder; return the seconds until the next one when that is sooner than the interval."""
        now = self.ctx.clock.utcnow()
        due = await self.ctx.pool.fetch(
            "SELECT id, channel_id, user_id, text FROM remind_reminders WHERE delivered_at IS NULL AND due_at <= $1 "
            "ORDER BY due_at", now)
        for row in due:
            channel = self.ctx.bot.get_channel(int(row["channel_id"]))
            if isinstance(channel, discord.abc.Messageable):
                mentions = discord.AllowedMentions(users=True, everyone=False, roles=False)
                result = await self.ctx.discord(
                    channel.send(f"<@{row['user_id']}> reminder: {row['text']}", allowed_mentions=mentions))
                if result.retryable:
                    self.ctx.log.warning("remind_post_failed", reminder_id=row["id"], outcome=result.outcome,
                                         error=result.describe())
                    continue  # the next round tries again
            # Posted, or its channel is gone or closed to the bot: it is not tried again.
            await self.ctx.pool.execute("UPDATE remind_reminders SET delivered_at = $2 WHERE id = $1", row["id"], now)
        following = await self.ctx.pool.fetchval(
            "SELECT extract(epoch FROM min(due_at) - $1)::float8 FROM remind_reminders WHERE delivered_at IS NULL",
            now)
        interval = float(self.ctx.settings["check_interval"])
        return interval if following is None else min(interval, max(0.0, float(following)))
