"""Grants `[join_role].role` on GUILD_MEMBER_ADD. A failure is logged and retried once; a deleted role or a
missing permission is one log line and a `status` warning until a grant succeeds."""

from __future__ import annotations

import discord
from discord.ext import commands
from supervisor.sdk import DiscordCode, FeatureContext, Outcome

REASON = "Auto join role"
RETRY_DELAY = 2.0


class JoinRoleCog(commands.Cog, name="Join role"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self._reported: str | None = None

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        role_id = int(self.ctx.settings["role"])
        guild = member.guild
        if guild.get_role(role_id) is None:
            if not any(other.get_role(role_id) for other in self.ctx.bot.guilds):
                self._problem(f"[join_role].role {role_id} is not a role of any server this bot is in", guild)
            return  # otherwise it is another server's join role
        log = self.ctx.log.bind(guild_id=guild.id, user_id=member.id, role_id=role_id)
        for attempt in (1, 2):
            result = await self.ctx.discord(member.add_roles(discord.Object(role_id), reason=REASON))
            if result.outcome is Outcome.UNKNOWN_TARGET:
                if result.code == DiscordCode.UNKNOWN_ROLE:
                    self._problem(f"[join_role].role {role_id} does not exist in server {guild.name!r} (deleted?)",
                                  guild)
                else:  # Unknown Member: they left already
                    log.info("join_role_skipped", reason=result.describe())
                return
            if result.outcome is Outcome.FORBIDDEN:
                self._problem(f"no permission to give role {role_id} in server {guild.name!r}: the bot needs "
                              "Manage Roles and a role above it", guild)
                return
            if not result.ok:
                log.warning("join_role_failed", attempt=attempt, will_retry=attempt == 1, outcome=result.outcome,
                            status=result.status, error=result.describe())
                if attempt == 1:
                    await self.ctx.clock.sleep(RETRY_DELAY)
                continue
            log.info("join_role_given")
            self._reported = None
            self.ctx.clear_warning("role")
            return

    def _problem(self, message: str, guild: discord.Guild) -> None:
        self.ctx.warn("role", message)
        if self._reported != message:
            self._reported = message
            self.ctx.log.warning("join_role_misconfigured", problem=message, guild_id=guild.id)
