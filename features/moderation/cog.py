"""Moderation commands. Replies follow discord-bot-rs where its users know them; its quirks are fixed."""

from __future__ import annotations

import datetime as dt
import math

import discord
from discord.ext import commands
from supervisor.sdk import (
    BLURPLE,
    FIELD_VALUE_LIMIT,
    RED,
    FeatureContext,
    KeyedLocks,
    UserError,
    fit_lines,
    format_duration,
    is_database_unavailable,
    parse_duration,
    truncate,
)

from . import actions, queries
from .audit import send_audit, user_field
from .checks import refusal
from .sweeper import FIRST_SWEEP_DELAY, TempbanSweeper
from .tools import ModerationTools

MAX_TIMEOUT_SECONDS = 28 * 86400  # Discord's limit
RATE_LIMIT = (5, 60.0)  # moderation actions per user per window
NUKE_NOTICE_SECONDS = 3.0
DURATION_HELP = f"Invalid duration. {actions.DURATION_FORMATS}"


ADMIN = {"help_section": "Admin"}  # listed under Admin in help, as the original


class ModerationCog(commands.Cog, name="Moderation"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.locks = KeyedLocks()
        self.sweeper = TempbanSweeper(ctx, self.locks)
        # AI chat's tempban/unban/nuke tools
        ctx.provide("moderation.tools", ModerationTools(ctx, self.locks, self.sweeper))

    async def cog_load(self) -> None:
        # Sleeps until the next expiry; a bug in a round (not an outage) restarts the instance.
        self.sweeper.periodic = self.ctx.every("tempban-sweep", self.sweeper.interval, self.sweeper.round,
                                                    first_delay=FIRST_SWEEP_DELAY, restart_on_error=True)

    async def cog_unload(self) -> None:
        if self.sweeper.periodic:
            self.sweeper.periodic.cancel()

    async def cog_check(self, context: commands.Context) -> bool:
        if context.guild is None:
            raise commands.NoPrivateMessage()
        return True

    # -- helpers -----------------------------------------------------------------------------------
    def _rate_limit(self, context: commands.Context) -> None:
        wait = self.ctx.limiter("moderation", *RATE_LIMIT).try_acquire(context.author.id)
        if wait is not None:
            raise UserError(f"Slow down — try again in {math.ceil(wait)}s.")

    @staticmethod
    def _check_target(action: str, context: commands.Context, target: discord.Member | discord.User) -> None:
        assert isinstance(context.author, discord.Member) and context.guild is not None
        reason = refusal(action, context.author, target, context.guild.me)
        if reason:
            raise UserError(reason)

    def _start(self) -> str:
        return self.ctx.config.command_start()

    async def _done(self, context: commands.Context, reply: str, action: str, fields: dict[str, str]) -> None:
        """The audit entry first: the action happened even if the reply fails (the command was deleted)."""
        assert context.guild is not None
        await send_audit(self.ctx, context.guild.id, action, fields)
        await context.reply(reply, mention_author=False)

    # -- bans --------------------------------------------------------------------------------------
    @commands.command(name="ban", brief="ban a member for a while (30s 5m 2h 3d 1w) or `perm`anently",
                      usage="<member> <duration|perm> [reason]")
    @commands.has_guild_permissions(ban_members=True)
    @commands.bot_has_guild_permissions(ban_members=True)
    async def ban(self, context: commands.Context, member: discord.Member, duration: str, *,
                  reason: str | None = None) -> None:
        guild = context.guild
        assert guild is not None
        self._check_target("ban", context, member)
        permanent = duration.lower() in ("perm", "permanent", "forever")
        seconds = None if permanent else parse_duration(duration)
        if not permanent and (seconds is None or seconds <= 0):
            raise UserError(DURATION_HELP)
        if seconds is not None and seconds > actions.MAX_BAN_SECONDS:
            raise UserError("A tempban can last at most 365 days; use `perm` for a permanent ban.")
        self._rate_limit(context)
        shown = "permanently" if permanent else format_duration(seconds or 0)
        tempban = await actions.ban(self.ctx, self.locks, self.sweeper, guild, member, context.author,
                                    seconds, reason)
        if tempban:
            expires = int(tempban.expires_at.timestamp())
            reply = f"Banned **{member.display_name}** for **{shown}**. Expires <t:{expires}:R>."
        else:
            reply = f"Banned **{member.display_name}** permanently."
        if reason:
            reply += f"\nReason: {reason}"
        await self._done(context, reply, "Ban" if permanent else "Tempban", {
            "User": user_field(member), "Moderator": user_field(context.author),
            "Duration": shown, "Reason": reason or "",
        })

    @commands.command(name="unban", brief="lift a ban", usage="<user>")
    @commands.has_guild_permissions(ban_members=True)
    @commands.bot_has_guild_permissions(ban_members=True)
    async def unban(self, context: commands.Context, user: discord.User) -> None:
        guild = context.guild
        assert guild is not None
        self._rate_limit(context)
        had_row = await actions.unban(self.ctx, self.locks, guild, user, user.name, context.author)
        note = "" if had_row else " (No active tempban was found in the database.)"
        await self._done(context, f"Unbanned **{user.name}**.{note}", "Unban", {
            "User": user_field(user), "Moderator": user_field(context.author),
        })

    @commands.Cog.listener()
    async def on_member_unban(self, guild: discord.Guild, user: discord.User) -> None:
        """Anyone's unban (ours, or a person's in Discord's own UI) closes the pending tempbans of that user."""
        async with self.locks.hold((guild.id, user.id)):
            try:
                closed = await queries.mark_unbanned(self.ctx.pool, guild.id, user.id)
            except Exception as error:
                if not is_database_unavailable(error):
                    raise
                # The sweep's ban check covers it: an unbanned user's row is closed without a second unban.
                self.ctx.log.warning("unban_event_not_recorded", guild_id=guild.id,
                                     user_id=user.id, error=repr(error))
                return
        if closed:
            self.ctx.log.info("tempban_closed_unbanned_in_discord", guild_id=guild.id, user_id=user.id)

    @commands.command(name="banlist", aliases=["bans"], brief="active tempbans")
    @commands.has_guild_permissions(ban_members=True)
    async def banlist(self, context: commands.Context) -> None:
        guild = context.guild
        assert guild is not None
        bans = await queries.pending_tempbans(self.ctx.pool, guild.id)
        if not bans:
            await context.reply("No active tempbans.", mention_author=False)
            return
        now = discord.utils.utcnow()
        lines = []
        for ban in bans:
            line = f"<@{ban.user_id}> — {_expiry(ban, now)} (by <@{ban.moderator_id}>"
            lines.append(line + (f", reason: {truncate(ban.reason, 100)})" if ban.reason else ")"))
        embed = discord.Embed(title="Active Tempbans", colour=RED, description=fit_lines(lines))
        await context.reply(embed=embed, mention_author=False)

    # -- kick and timeouts -------------------------------------------------------------------------
    @commands.command(name="kick", brief="remove a member from the server", usage="<member> [reason]")
    @commands.has_guild_permissions(kick_members=True)
    @commands.bot_has_guild_permissions(kick_members=True)
    async def kick(self, context: commands.Context, member: discord.Member, *, reason: str | None = None) -> None:
        guild = context.guild
        assert guild is not None
        self._check_target("kick", context, member)
        self._rate_limit(context)
        await guild.kick(member, reason=truncate(f"Kick by {context.author}" + (f": {reason}" if reason else ""),
                                                 512))
        reply = f"Kicked **{member.display_name}**." + (f"\nReason: {reason}" if reason else "")
        await self._done(context, reply, "Kick", {
            "User": user_field(member), "Moderator": user_field(context.author), "Reason": reason or "",
        })

    @commands.command(name="timeout", brief="mute a member for a while (at most 28 days)",
                      usage="<member> <duration> [reason]")
    @commands.has_guild_permissions(moderate_members=True)
    @commands.bot_has_guild_permissions(moderate_members=True)
    async def timeout(self, context: commands.Context, member: discord.Member, duration: str, *,
                      reason: str | None = None) -> None:
        guild = context.guild
        assert guild is not None
        self._check_target("time out", context, member)
        if member.guild_permissions.administrator:
            raise UserError(f"You can't time out **{member.display_name}**: Discord never times out administrators.")
        seconds = parse_duration(duration)
        if seconds is None or seconds <= 0:
            raise UserError(DURATION_HELP)
        if seconds > MAX_TIMEOUT_SECONDS:
            raise UserError("Discord allows a timeout of at most 28 days.")
        self._rate_limit(context)
        until = discord.utils.utcnow() + dt.timedelta(seconds=seconds)
        audit_reason = f"Timeout by {context.author}" + (f": {reason}" if reason else "")
        # Unlike the original, the reason reaches Discord's audit log too.
        await member.timeout(until, reason=truncate(audit_reason, 512))
        shown = format_duration(seconds)
        reply = f"Timed out **{member.display_name}** for **{shown}**. Ends <t:{int(until.timestamp())}:R>."
        await self._done(context, reply + (f"\nReason: {reason}" if reason else ""), "Timeout", {
            "User": user_field(member), "Moderator": user_field(context.author), "Duration": shown,
            "Reason": reason or "",
        })

    @commands.command(name="untimeout", brief="end a member's timeout", usage="<member>")
    @commands.has_guild_permissions(moderate_members=True)
    @commands.bot_has_guild_permissions(moderate_members=True)
    async def untimeout(self, context: commands.Context, member: discord.Member) -> None:
        guild = context.guild
        assert guild is not None
        self._check_target("remove the timeout of", context, member)
        if not member.is_timed_out():
            raise UserError(f"**{member.display_name}** is not timed out.")
        self._rate_limit(context)
        await member.timeout(None, reason=f"Timeout removed by {context.author}")
        await self._done(context, f"Removed the timeout of **{member.display_name}**.", "Untimeout", {
            "User": user_field(member), "Moderator": user_field(context.author),
        })

    # -- nuke --------------------------------------------------------------------------------------
    @commands.command(name="nuke", brief="delete the last N messages here (1-100)", usage="<1-100>")
    @commands.has_guild_permissions(manage_messages=True)
    @commands.bot_has_permissions(manage_messages=True, read_message_history=True)
    async def nuke(self, context: commands.Context, count: int) -> None:
        channel = context.channel
        guild = context.guild
        assert guild is not None
        if not isinstance(channel, discord.TextChannel | discord.Thread | discord.VoiceChannel):
            raise UserError("I can't nuke this kind of channel.")
        if not 1 <= count <= 100:
            raise UserError(f"Usage: `{self._start()}nuke <1-100>`")
        self._rate_limit(context)
        targets = [m async for m in channel.history(limit=count, before=context.message)]
        young = actions.bulk_deletable(targets)
        old = len(targets) - len(young)
        # The command message goes too, in the same request when it fits: it does not count toward N.
        await actions.delete_messages(channel, [*young, context.message], reason=f"Nuke by {context.author}")
        if old:
            text = (f"Deleted **{len(young)}/{len(targets)}** messages; **{old}** older than 14 days can't be "
                    "bulk-deleted.")
        else:
            text = f"Deleted **{len(young)}** messages."
        await send_audit(self.ctx, guild.id, "Nuke", {
            "Channel": f"<#{channel.id}>", "Moderator": user_field(context.author),
            "Messages Deleted": str(len(young)),
        })
        await channel.send(text, delete_after=NUKE_NOTICE_SECONDS)  # a plain message: its command is gone

    # -- guild settings ----------------------------------------------------------------------------
    @commands.command(name="setlog", brief="send the audit log to a channel", usage="<channel>", extras=ADMIN)
    @commands.has_guild_permissions(administrator=True)
    async def setlog(self, context: commands.Context, channel: discord.TextChannel) -> None:
        assert context.guild is not None
        await queries.set_guild_setting(self.ctx.pool, context.guild.id, "audit_log_channel_id", str(channel.id))
        await context.reply(f"Audit log channel set to <#{channel.id}>.", mention_author=False)

    @commands.command(name="djrole", brief="the role that may use music commands in DJ mode", usage="<role>",
                      extras=ADMIN)
    @commands.has_guild_permissions(administrator=True)
    async def djrole(self, context: commands.Context, role: discord.Role) -> None:
        assert context.guild is not None
        await queries.set_guild_setting(self.ctx.pool, context.guild.id, "dj_role_id", str(role.id))
        await context.reply(f"DJ role set to **{role.name}**.", mention_author=False)

    @commands.command(name="djmode", brief="toggle DJ mode", extras=ADMIN)
    @commands.has_guild_permissions(administrator=True)
    async def djmode(self, context: commands.Context) -> None:
        assert context.guild is not None
        settings = await queries.guild_settings(self.ctx.pool, context.guild.id)
        enable = not settings.dj_mode_enabled
        if enable and settings.dj_role_id is None:
            raise UserError(f"Set a DJ role first with `{self._start()}djrole @role`.")
        await queries.set_guild_setting(self.ctx.pool, context.guild.id, "dj_mode_enabled", enable)
        if enable:
            text = "DJ mode **enabled**. Only users with the DJ role (or admins) can use music commands."
        else:
            text = "DJ mode **disabled**. Everyone can use music commands."
        await context.reply(text, mention_author=False)

    @commands.command(name="settings", brief="this server's moderation settings", extras=ADMIN)
    @commands.has_guild_permissions(administrator=True)
    async def settings(self, context: commands.Context) -> None:
        guild = context.guild
        assert guild is not None
        settings = await queries.guild_settings(self.ctx.pool, guild.id)
        bans = await queries.pending_tempbans(self.ctx.pool, guild.id)
        embed = discord.Embed(title=f"Settings for {truncate(guild.name, 200)}", colour=BLURPLE)
        embed.add_field(name="Audit log", value=f"<#{settings.audit_log_channel_id}>"
                        if settings.audit_log_channel_id else "not set")
        embed.add_field(name="DJ role", value=f"<@&{settings.dj_role_id}>" if settings.dj_role_id else "not set")
        embed.add_field(name="DJ mode", value="enabled" if settings.dj_mode_enabled else "disabled")
        interval = self.sweeper.interval()
        shown = f"{interval:g}s" if interval < 60 else format_duration(interval)
        embed.add_field(name="Tempban sweep", value=f"at each expiry; safety sweep every {shown}")
        now = discord.utils.utcnow()
        lines = [f"<@{b.user_id}> — {_expiry(b, now)}" for b in bans]
        value = fit_lines(lines, FIELD_VALUE_LIMIT) or "none"
        embed.add_field(name=f"Active tempbans ({len(bans)})", value=value, inline=False)
        await context.reply(embed=embed, mention_author=False)


def _expiry(ban: queries.Tempban, now: dt.datetime) -> str:
    stamp = f"<t:{int(ban.expires_at.timestamp())}:R>"
    return f"expires {stamp}" if ban.expires_at > now else f"expired {stamp}, being lifted"
