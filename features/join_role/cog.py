"""Grants `[join_role].role` on GUILD_MEMBER_ADD. A failure is logged and retried once; a deleted role or a
missing permission is one log line and a `status` warning until a grant succeeds."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
from discord.ext import commands
from supervisor.sdk import FeatureContext

REASON = "Auto join role"
DISCORD_TIMEOUT = 30.0
RETRY_DELAY = 2.0
UNKNOWN_ROLE = 10011
UNKNOWN_MEMBER = 10007

_DISCORD_FAILURES = (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError)


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
            try:
                await asyncio.wait_for(self.ctx.bot.http.add_role(guild.id, member.id, role_id, reason=REASON),
                                       DISCORD_TIMEOUT)
            except discord.NotFound as error:
                if error.code == UNKNOWN_ROLE:
                    self._problem(f"[join_role].role {role_id} does not exist in server {guild.name!r} (deleted?)",
                                  guild)
                else:  # Unknown Member: they left already
                    log.info("join_role_skipped", reason=str(error))
                return
            except discord.Forbidden:
                self._problem(f"no permission to give role {role_id} in server {guild.name!r}: the bot needs "
                              "Manage Roles and a role above it", guild)
                return
            except _DISCORD_FAILURES as error:
                log.warning("join_role_failed", attempt=attempt, will_retry=attempt == 1,
                            status=getattr(error, "status", None), error=str(error) or repr(error))
                if attempt == 1:
                    await asyncio.sleep(RETRY_DELAY)
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
