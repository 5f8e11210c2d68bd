"""The moderation actions themselves, shared by the prefix commands and the tools offered to AI chat: one
order of rows, locks and Discord calls, whoever asked."""

from __future__ import annotations

import datetime as dt

import discord
from supervisor.sdk import FeatureContext, KeyedLocks, Outcome, UserError, format_duration, truncate

from . import queries
from .queries import Tempban
from .sweeper import TempbanSweeper, ban_marker

MAX_BAN_SECONDS = 365 * 86400
DURATION_FORMATS = "Use: `30s`, `5m`, `2h`, `3d`, `1w`"
BULK_DELETE_MAX_AGE = dt.timedelta(days=14)
BULK_DELETE_MAX_IDS = 100  # per request (the original fetched count+1, i.e. 101 for `nuke 100`)


async def ban(ctx: FeatureContext, locks: KeyedLocks, sweeper: TempbanSweeper, guild: discord.Guild,
              target: discord.Member, moderator: discord.abc.User, seconds: int | None, reason: str | None,
              *, via: str = "") -> Tempban | None:
    """Ban `target` (`seconds` None: permanently); a tempban's row is written first. UserError when Discord
    refuses, with nothing recorded."""
    shown = "permanently" if seconds is None else format_duration(seconds)
    async with locks.hold((guild.id, target.id)):  # the sweep must not lift an old row meanwhile
        # The row first: if the daemon dies right after the ban, the sweep still lifts it.
        tempban = None if seconds is None else await queries.create_tempban(
            ctx.pool, guild.id, target.id, moderator.id, reason, seconds, ctx.clock.utcnow())
        # A tempban's Discord reason carries its row id: the sweep lifts only a ban that is still this one.
        head = "Ban" if tempban is None else ban_marker(tempban.id)
        audit_reason = f"{head} by {moderator}{via} ({shown})" + (f": {reason}" if reason else "")
        done = await ctx.discord(guild.ban(target, reason=truncate(audit_reason, 512), delete_message_seconds=0))
        if not done.ok:
            if tempban:
                await queries.delete_tempban(ctx.pool, tempban.id)
            why = "failed" if done.retryable else "refused"
            raise UserError(f"Discord {why} to ban **{target.display_name}**; nothing was recorded.")
        await queries.close_other_tempbans(ctx.pool, guild.id, target.id, tempban.id if tempban else None)
    if tempban:
        sweeper.tempban_written()
    return tempban


async def unban(ctx: FeatureContext, locks: KeyedLocks, guild: discord.Guild, user: discord.abc.Snowflake,
                name: str, moderator: discord.abc.User, *, via: str = "") -> bool:
    """Lift a ban and close its pending tempbans; True when a tempban row was open. UserError when not banned."""
    async with locks.hold((guild.id, user.id)):
        # The database first, read only: when it is down nothing happens anywhere and the reply says so.
        # Then Discord, then the rows: a failed unban leaves the tempban pending (the original closed it). If
        # the database fails between the two, the unban event or the sweep's ban check closes the row.
        await queries.pending_tempbans(ctx.pool, guild.id)
        done = await ctx.discord(guild.unban(user, reason=f"Unban by {moderator}{via}"))
        if done.outcome is Outcome.UNKNOWN_TARGET:
            had_row = await queries.mark_unbanned(ctx.pool, guild.id, user.id)
            raise UserError(f"**{name}** is not banned." if not had_row else
                            f"**{name}** was no longer banned; the pending tempban is closed.")
        if not done.ok:
            why = "failed" if done.retryable else "refused"
            raise UserError(f"Discord {why} to unban **{name}**; the ban and its tempban stay as they were.")
        return await queries.mark_unbanned(ctx.pool, guild.id, user.id)


def bulk_deletable(messages: list[discord.Message]) -> list[discord.Message]:
    """The messages young enough for a bulk delete (a minute's margin on Discord's 14 days)."""
    cutoff = discord.utils.utcnow() - BULK_DELETE_MAX_AGE + dt.timedelta(minutes=1)
    return [m for m in messages if m.created_at > cutoff]


async def delete_messages(channel: discord.TextChannel | discord.Thread | discord.VoiceChannel,
                          messages: list[discord.Message], reason: str) -> None:
    """Bulk delete, at most 100 ids a request; a lone message is deleted on its own (bulk needs two)."""
    for start in range(0, len(messages), BULK_DELETE_MAX_IDS):
        chunk = messages[start:start + BULK_DELETE_MAX_IDS]
        if len(chunk) == 1:
            await chunk[0].delete()
        elif chunk:
            await channel.delete_messages(chunk, reason=reason)
